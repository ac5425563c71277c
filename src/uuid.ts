// Canonical lowercase UUIDs -> 16 bytes in shared memory, in one pass and
// without allocating. (The other way, for replays, is done by the core:
// ledger.ts format_uuid.)

const UUID_LENGTH = 36;
const HYPHEN = 45;
/** Value of a lowercase hex digit by UTF-16 code unit; -1 for every other
 *  unit, so one OR over a run tells whether any digit was bad. 64 KiB, of
 *  which only the ASCII lines are ever hot. */
const HEX_VALUE = new Int8Array(65536).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[48 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[97 + c] = 10 + c;

/** Parse `text` (must already be a string) into four little-endian u32 words
 *  at `u32[word_index .. word_index + 4)`: digits 0-7, 9-12 + 14-17,
 *  19-22 + 24-27, 28-35. Returns false, writing nothing, if it is not a
 *  canonical lowercase UUID. Unrolled by group: ~2 ns per digit here. */
export function parse_uuid(text: string, u32: Uint32Array, word_index: number): boolean {
  if (
    text.length !== UUID_LENGTH || text.charCodeAt(8) !== HYPHEN || text.charCodeAt(13) !== HYPHEN ||
    text.charCodeAt(18) !== HYPHEN || text.charCodeAt(23) !== HYPHEN
  ) return false;
  const hex = HEX_VALUE;
  let bad = 0;
  let digit = 0;
  let w0 = 0, w1 = 0, w2 = 0, w3 = 0;
  for (let k = 0; k < 8; k++) { digit = hex[text.charCodeAt(k)]; bad |= digit; w0 = (w0 << 4) | digit; }
  for (let k = 9; k < 13; k++) { digit = hex[text.charCodeAt(k)]; bad |= digit; w1 = (w1 << 4) | digit; }
  for (let k = 14; k < 18; k++) { digit = hex[text.charCodeAt(k)]; bad |= digit; w1 = (w1 << 4) | digit; }
  for (let k = 19; k < 23; k++) { digit = hex[text.charCodeAt(k)]; bad |= digit; w2 = (w2 << 4) | digit; }
  for (let k = 24; k < 28; k++) { digit = hex[text.charCodeAt(k)]; bad |= digit; w2 = (w2 << 4) | digit; }
  for (let k = 28; k < 36; k++) { digit = hex[text.charCodeAt(k)]; bad |= digit; w3 = (w3 << 4) | digit; }
  if (bad < 0) return false;
  u32[word_index] = w0;
  u32[word_index + 1] = w1;
  u32[word_index + 2] = w2;
  u32[word_index + 3] = w3;
  return true;
}
