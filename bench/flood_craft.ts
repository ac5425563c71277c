// Crafted inputs for bench/flood.ts: transaction uuids and user names that
// collide in the exwallet core's hash tables *as hashed before the keyed-hash
// change* (commit f41a55c, assembly/hash.ts). The formulas are copied here on
// purpose and never follow the library: after the change the same crafted
// sets must cost what random ones cost, which is what the benchmark checks.
//
// Old formulas (all u64, wrapping):
//   mix64(x)      = x ^= x>>33; x *= 0xff51afd7ed558ccd; x ^= x>>33; x *= 0xc4ceb9fe1a85ec53; x ^= x>>33
//   hash_uuid     = mix64(lo*P1 + rotl(hi, 29)*P2 + P3)
//                   lo = word0 | word1<<32, hi = word2 | word3<<32, words as src/uuid.ts parse_uuid
//                   fills them (hex digits 0-7, 9-12+14-17, 19-22+24-27, 28-35; first digit most significant)
//   hash_bytes    = acc = seed ^ len*P3; per 8-byte LE word w: acc = rotl(acc ^ w*P2, 31)*P1;
//                   the tail word masked to its bytes; mix64(acc ^ P3)
//   user names:     hash_bytes(utf8(name), len, NAME_SEED = 0x6e616d6573656564)
//   probe position: fast_range(low32(hash), capacity); tag: high32(hash)
//
// uuids: the sum before mix64 is linear in lo and rotl(hi, 29), so for any
// target sum S and any lo, hi = rotr((S - P3 - lo*P1) * P2^-1, 29) gives the
// same 64-bit hash: unlimited full collisions (same position AND same tag, so
// every probe step also compares the stored uuid).
//
// names: for 16-byte names (two words w0, w1) the state after the last round
// must be a fixed T; for every w0 that fixes w1 = (acc1(w0) ^ rotr(T*P1^-1, 31)) * P2^-1.
// w0 runs over printable ASCII; a w1 whose 8 bytes are all printable ASCII
// (0x20..0x7e) comes up once in (256/95)^8 ≈ 2,800 tries: ~34M tries for 12,000
// names, done on 32-bit halves (~1-2 s). Every name so found has the same full
// 64-bit hash, whatever the capacity of the table.

// Self-contained on purpose (no import from bench/ or tools/): the same file
// compiles unchanged in the baseline worktree and in the tree after the
// change, and the generator below is private, so both runs craft and draw
// byte-identical inputs from the same seed.

/** sfc32, as bench/bodies.ts had it at f41a55c: 128 bits of state, 32-bit operations only. */
export class FloodRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream = 0) {
    this.a = 0x9e3779b9 ^ seed;
    this.b = 0x243f6a88 ^ stream;
    this.c = 0xb7e15162 ^ Math.imul(seed, 0x85ebca6b);
    this.d = 1;
    for (let i = 0; i < 16; i++) this.next_u32();
  }

  next_u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform integer in [0, bound), bound <= 2^32. */
  below(bound: number): number {
    return Math.floor((this.next_u32() / 4294967296) * bound);
  }
}

const M64 = (1n << 64n) - 1n;
export const P1 = 0x9e3779b185ebca87n;
export const P2 = 0xc2b2ae3d27d4eb4fn;
export const P3 = 0x165667b19e3779f9n;
export const NAME_SEED = 0x6e616d6573656564n;
const MIX_A = 0xff51afd7ed558ccdn;
const MIX_B = 0xc4ceb9fe1a85ec53n;

/** Multiplicative inverse of an odd u64 (Newton: 3 -> 6 -> ... -> 96 bits). */
export function inverse64(a: bigint): bigint {
  let x = a;
  for (let i = 0; i < 5; i++) x = (x * (2n - a * x)) & M64;
  if (((a * x) & M64) !== 1n) throw new Error('inverse64: not odd');
  return x;
}

function rotl(x: bigint, r: bigint): bigint {
  return ((x << r) | (x >> (64n - r))) & M64;
}

function rotr(x: bigint, r: bigint): bigint {
  return ((x >> r) | (x << (64n - r))) & M64;
}

export function old_mix64(x: bigint): bigint {
  x ^= x >> 33n;
  x = (x * MIX_A) & M64;
  x ^= x >> 33n;
  x = (x * MIX_B) & M64;
  x ^= x >> 33n;
  return x;
}

/** The old hash_bytes, reference version (BigInt). */
export function old_hash_bytes(bytes: Uint8Array, seed: bigint): bigint {
  const len = bytes.length;
  let acc = seed ^ ((BigInt(len) * P3) & M64);
  for (let p = 0; p < len; p += 8) {
    let word = 0n;
    for (let k = 7; k >= 0; k--) word = (word << 8n) | BigInt(p + k < len ? bytes[p + k] : 0);
    acc = (rotl(acc ^ ((word * P2) & M64), 31n) * P1) & M64;
  }
  return old_mix64(acc ^ P3);
}

/** The old hash_uuid on the two little-endian u64 words of the stored uuid. */
export function old_hash_uuid_words(lo: bigint, hi: bigint): bigint {
  return old_mix64((lo * P1 + rotl(hi, 29n) * P2 + P3) & M64);
}

/** lo, hi of a canonical uuid, as src/uuid.ts parse_uuid stores them. */
export function uuid_words(text: string): { lo: bigint; hi: bigint } {
  const word = (s: string) => BigInt(parseInt(s, 16) >>> 0);
  const w0 = word(text.slice(0, 8));
  const w1 = word(text.slice(9, 13) + text.slice(14, 18));
  const w2 = word(text.slice(19, 23) + text.slice(24, 28));
  const w3 = word(text.slice(28, 36));
  return { lo: w0 | (w1 << 32n), hi: w2 | (w3 << 32n) };
}

export function old_hash_uuid(text: string): bigint {
  const { lo, hi } = uuid_words(text);
  return old_hash_uuid_words(lo, hi);
}

export function old_hash_name(name: string): bigint {
  return old_hash_bytes(Buffer.from(name, 'utf8'), NAME_SEED);
}

/** Probe position of a hash in a table of `capacity` index words (Lemire's fast_range on the low 32 bits). */
export function old_position(hash: bigint, capacity: number): number {
  return Number(((hash & 0xffffffffn) * BigInt(capacity)) >> 32n);
}

/** Outputs of the baseline build's own hash functions (assembly/hash.ts at
 *  f41a55c compiled into a scratch module exporting hash_bytes and
 *  hash_uuid, called on these inputs), to check the JS copies above:
 *  [input, seed or "uuid", hash]. The same harness also checked 3,000 random
 *  byte strings (0-69 bytes, two seeds), 1,000 random uuids, 2,000 crafted
 *  uuids and 1,000 crafted names: all equal. */
export const OLD_HASH_VECTORS: ReadonlyArray<readonly [string, string, string]> = [
  ['', '0x6e616d6573656564', '0x7cd2c218950d5ba6'],
  ['a', '0x6e616d6573656564', '0xa5611d400f46123b'],
  ['alice', '0x6e616d6573656564', '0x4ffa83b30cd36e1c'],
  ['player_000042', '0x6e616d6573656564', '0xbfee3661e1233cba'],
  ['exactly8', '0x6e616d6573656564', '0x9aabe42359a4bbaf'],
  ['sixteen_bytes_ok', '0x6e616d6573656564', '0xcb1edfb9c3b53a90'],
  ['a name of twenty-five b', '0x6e616d6573656564', '0x58248476d4cf97d'],
  ['\u00fcn\u00efc\u00f6d\u00e9 n\u00e9v', '0x6e616d6573656564', '0x2887e1b5ed8e79'],
  ['[}4#}X2C6n50oc+W', '0x6e616d6573656564', '0xdf4fd32b6d4d9f7c'],
  ['bench', '0x0', '0x3cfff8bdbe736034'],
  ['6f1c4a52-9a3e-4d8e-b1f4-0c2e6d7a9b10', 'uuid', '0x88cace816df7a379'],
  ['c4f8e2a1-3b5d-4c6e-8f9a-1b2c3d4e5f60', 'uuid', '0x2cec13aae1333aa7'],
  ['00000000-0000-0000-0000-000000000000', 'uuid', '0xf490368aba8bfeac'],
  ['ffffffff-ffff-ffff-ffff-ffffffffffff', 'uuid', '0x1cd140c3f28d5c05'],
];

/** Throws if the JS copies disagree with the vectors. */
export function check_old_hash_vectors(): number {
  for (const [input, kind, expected] of OLD_HASH_VECTORS) {
    const got = kind === 'uuid' ? old_hash_uuid(input) : old_hash_bytes(Buffer.from(input, 'utf8'), BigInt(kind));
    if (got !== BigInt(expected)) throw new Error(`old hash copy disagrees with the baseline wasm on ${JSON.stringify(input)}: ${got.toString(16)} != ${expected}`);
  }
  return OLD_HASH_VECTORS.length;
}

// ---------------------------------------------------------------------------
// Generators. All deterministic from `seed`; strings are made flat (see bodies.ts).

function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

function hex(value: bigint, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

function format_uuid(lo: bigint, hi: bigint): string {
  const w0 = lo & 0xffffffffn, w1 = lo >> 32n, w2 = hi & 0xffffffffn, w3 = hi >> 32n;
  return flat(`${hex(w0, 8)}-${hex(w1 >> 16n, 4)}-${hex(w1 & 0xffffn, 4)}-${hex(w2 >> 16n, 4)}-${hex(w2 & 0xffffn, 4)}${hex(w3, 8)}`);
}

export interface CraftedUuids {
  uuids: string[];
  /** The one old hash they all share. */
  hash: bigint;
}

/** `count` distinct canonical lowercase uuids (version nibble 4) with one
 *  and the same old hash_uuid. */
export function crafted_uuids(count: number, seed: number): CraftedUuids {
  const rng = new FloodRng(seed, 0xf1d0);
  const target_sum = (BigInt(rng.next_u32()) << 32n) | BigInt(rng.next_u32());
  const inv_p2 = inverse64(P2);
  const seen = new Set<string>();
  const uuids: string[] = [];
  while (uuids.length < count) {
    const w0 = BigInt(rng.next_u32());
    const w1 = BigInt(((rng.next_u32() & 0xffff0fff) | 0x00004000) >>> 0);
    const lo = w0 | (w1 << 32n);
    const rotated = ((target_sum - P3 - lo * P1) * inv_p2) & M64; // = rotl(hi, 29)
    const hi = rotr(rotated, 29n);
    const text = format_uuid(lo, hi);
    if (seen.has(text)) continue;
    seen.add(text);
    uuids.push(text);
  }
  return { uuids, hash: old_mix64(target_sum) };
}

// 64-bit arithmetic on 32-bit halves for the name search: results in
// R[0] (low) and R[1] (high). A typed array, not two module-level lets: a
// u32 above 2^31 stored in a context slot is boxed, one allocation per store.
const R = new Uint32Array(2);

function mul64(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16, b0 = bl & 0xffff, b1 = bl >>> 16;
  const mid = a1 * b0 + a0 * b1; // < 2^33, exact in a double (no %: on a double it is a call to fmod)
  const mid_high = Math.floor(mid / 65536);
  const low = a0 * b0 + (mid - mid_high * 65536) * 65536; // < 2^33
  R[0] = low;
  R[1] = (a1 * b1 + mid_high + (low >= 4294967296 ? 1 : 0) + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

function split(x: bigint): [number, number] {
  return [Number(x >> 32n), Number(x & 0xffffffffn)];
}

const PRINTABLE_MIN = 0x20;
const PRINTABLE_COUNT = 95; // 0x20..0x7e

function printable_word(x: number): boolean {
  for (let k = 0; k < 32; k += 8) {
    const b = (x >>> k) & 255;
    if (b < PRINTABLE_MIN || b > 0x7e) return false;
  }
  return true;
}

export interface CraftedNames {
  names: string[];
  /** The one old name hash they all share. */
  hash: bigint;
  /** Candidates tried. */
  tries: number;
}

/** `count` distinct 16-character printable-ASCII user names with one and the
 *  same old name hash (all 64 bits). */
export function crafted_names(count: number, seed: number): CraftedNames {
  const rng = new FloodRng(seed, 0x4e41);
  const inv_p1 = inverse64(P1);
  const inv_p2 = inverse64(P2);
  const acc0 = NAME_SEED ^ ((16n * P3) & M64);
  // The target state after both rounds: that of a random printable name.
  const first = new Uint8Array(16);
  for (let i = 0; i < 16; i++) first[i] = PRINTABLE_MIN + rng.below(PRINTABLE_COUNT);
  let acc = acc0;
  for (let p = 0; p < 16; p += 8) {
    let word = 0n;
    for (let k = 7; k >= 0; k--) word = (word << 8n) | BigInt(first[p + k]);
    acc = (rotl(acc ^ ((word * P2) & M64), 31n) * P1) & M64;
  }
  const target = acc;
  const [xh, xl] = split(rotr((target * inv_p1) & M64, 31n));
  const [p1h, p1l] = split(P1);
  const [p2h, p2l] = split(P2);
  const [i2h, i2l] = split(inv_p2);
  const [a0h, a0l] = split(acc0);

  // w0 runs like an odometer over printable bytes from a random start.
  const digits = new Uint8Array(8);
  for (let k = 0; k < 8; k++) digits[k] = rng.below(PRINTABLE_COUNT);
  const names: string[] = [];
  const bytes = Buffer.alloc(16);
  let tries = 0;
  while (names.length < count) {
    tries++;
    for (let k = 0; k < 8; k++) {
      if (++digits[k] < PRINTABLE_COUNT) break;
      digits[k] = 0;
    }
    const w0l = ((digits[0] + PRINTABLE_MIN) | ((digits[1] + PRINTABLE_MIN) << 8) | ((digits[2] + PRINTABLE_MIN) << 16) | ((digits[3] + PRINTABLE_MIN) << 24)) >>> 0;
    const w0h = ((digits[4] + PRINTABLE_MIN) | ((digits[5] + PRINTABLE_MIN) << 8) | ((digits[6] + PRINTABLE_MIN) << 16) | ((digits[7] + PRINTABLE_MIN) << 24)) >>> 0;
    mul64(w0h, w0l, p2h, p2l); // w0 * P2
    const yh = (a0h ^ R[1]) >>> 0, yl = (a0l ^ R[0]) >>> 0;
    const zh = ((yh << 31) | (yl >>> 1)) >>> 0, zl = ((yl << 31) | (yh >>> 1)) >>> 0; // rotl 31
    mul64(zh, zl, p1h, p1l); // acc1
    mul64((R[1] ^ xh) >>> 0, (R[0] ^ xl) >>> 0, i2h, i2l); // w1
    const w1l = R[0], w1h = R[1];
    if (!printable_word(w1l) || !printable_word(w1h)) continue;
    bytes.writeUInt32LE(w0l, 0);
    bytes.writeUInt32LE(w0h, 4);
    bytes.writeUInt32LE(w1l, 8);
    bytes.writeUInt32LE(w1h, 12);
    names.push(bytes.toString('latin1', 0, 16)); // distinct: w0 never repeats
  }
  return { names, hash: old_mix64(target ^ P3), tries };
}

/** Random 16-character printable-ASCII names, the control for crafted_names. */
export function random_names(count: number, seed: number): string[] {
  const rng = new FloodRng(seed, 0x524e);
  const seen = new Set<string>();
  const bytes = Buffer.alloc(16);
  while (seen.size < count) {
    for (let i = 0; i < 16; i++) bytes[i] = PRINTABLE_MIN + rng.below(PRINTABLE_COUNT);
    seen.add(bytes.toString('latin1', 0, 16));
  }
  return [...seen];
}
