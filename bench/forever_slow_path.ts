// Counting the slow path: a call reaches the retired files (src/retired.ts)
// only when the core's filter said "maybe" about its uuid, or about the bet it
// settles (src/retired_answer.ts). RetiredStore.prototype.find is wrapped in
// this thread, once, with one counter: each find is one search of the files,
// newest first. Other threads (the rotator, a checkpointer) have their own
// copy of the module and are not counted.

import { RetiredStore } from 'exwallet/internal/retired';

let finds = 0;
let installed = false;

/** Searches of the retired files made by this thread since the counter was installed. */
export function retired_finds(): number {
  return finds;
}

export function install_find_counter(): void {
  if (installed) return;
  installed = true;
  const find = RetiredStore.prototype.find;
  RetiredStore.prototype.find = function counted_find(this: RetiredStore, uuid: Uint8Array) {
    finds++;
    return find.call(this, uuid);
  };
}
