// Canonical lowercase UUIDs <-> 16 bytes in shared memory, in one pass and
// without allocating (parse) — formatting allocates its string and is only
// used when a duplicate replays an original response.

const UUID_LENGTH = 36;
/** String index of each of the 32 hex digits, skipping the hyphens. */
const DIGIT_AT = new Uint8Array(32);
{
  let digit = 0;
  for (let i = 0; i < UUID_LENGTH; i++) if (i !== 8 && i !== 13 && i !== 18 && i !== 23) DIGIT_AT[digit++] = i;
}
/** Value of a lowercase hex digit by char code, -1 for anything else. */
const HEX_VALUE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX_VALUE[48 + c] = c;
for (let c = 0; c < 6; c++) HEX_VALUE[97 + c] = 10 + c;

const HYPHEN = 45;

/** Parse `text` (must already be a string) into four little-endian u32 words
 *  at `u32[word_index .. word_index + 4)`. Returns false, writing possibly
 *  part of the words, if it is not a canonical lowercase UUID. */
export function parse_uuid(text: string, u32: Uint32Array, word_index: number): boolean {
  if (text.length !== UUID_LENGTH) return false;
  if (
    text.charCodeAt(8) !== HYPHEN || text.charCodeAt(13) !== HYPHEN ||
    text.charCodeAt(18) !== HYPHEN || text.charCodeAt(23) !== HYPHEN
  ) return false;
  for (let word = 0; word < 4; word++) {
    let value = 0;
    for (let k = 0; k < 8; k++) {
      const code = text.charCodeAt(DIGIT_AT[word * 8 + k]);
      const nibble = code < 128 ? HEX_VALUE[code] : -1;
      if (nibble < 0) return false;
      value = (value << 4) | nibble;
    }
    u32[word_index + word] = value;
  }
  return true;
}

function hex8(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}

/** The canonical text of the 16 bytes at `u32[word_index .. +4)`. */
export function format_uuid(u32: Uint32Array, word_index: number): string {
  const a = hex8(u32[word_index]);
  const b = hex8(u32[word_index + 1]);
  const c = hex8(u32[word_index + 2]);
  const d = hex8(u32[word_index + 3]);
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}

const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The contract's definition, for tests and slow paths. */
export function is_canonical_uuid(value: unknown): value is string {
  return typeof value === 'string' && CANONICAL.test(value);
}
