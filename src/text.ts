// Strings as the wallet stores them: UTF-8 in shared memory.

/** False for a string with a lone surrogate, which has no UTF-8 form (it
 *  would be stored as U+FFFD and never compare equal to itself again).
 *  String.prototype.isWellFormed is in Node 20 but not in lib ES2023. */
export function is_well_formed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed();
}
