// Seeded randomness for the load runner: a small fast PRNG (sfc32) and
// canonical lowercase v4 UUIDs drawn from it (spec §4 form), so that a run
// given --seed sends the same mix of requests, worker by worker.
//
// Why not crypto.randomUUID(): it cannot be seeded, and a reproducible mix is
// worth more here than unpredictability (these ids only need to be unique
// within one wallet: 122 random bits per id).

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of
 *  state, statistically sound for a workload mix, and only 32-bit integer
 *  operations, which V8 compiles to a handful of machine instructions. */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** `seed` and `stream` select independent sequences: the run's seed and,
   *  for example, a worker index. */
  constructor(seed: number, stream: number) {
    this.#a = seed | 0;
    this.#b = stream | 0;
    this.#c = 0x9e3779b9 ^ Math.imul(seed | 0, 0x85ebca6b);
    this.#d = 1;
    // Mix the seed in before the first draw: nearby seeds share no prefix.
    for (let round = 0; round < 16; round++) this.next_u32();
  }

  next_u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next_float(): number {
    return this.next_u32() / 4_294_967_296;
  }

  /** Uniform integer in [0, count). `count` ≤ 2^32. */
  below(count: number): number {
    return Math.floor(this.next_float() * count);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next_float() < p;
  }

  /** A canonical lowercase version-4 UUID. */
  uuid(): string {
    return format_uuid_v4(this.next_u32(), this.next_u32(), this.next_u32(), this.next_u32());
  }
}

/** The same uuid in every thread for the same (seed, key): the contested
 *  transactions of the mix, which all workers send at once. */
export function uuid_for(seed: number, key_hi: number, key_lo: number): string {
  const random = new Random(seed ^ Math.imul(key_hi, 0x27d4eb2d), key_lo);
  return random.uuid();
}

/** A 32-bit hash of (seed, key): the parameters of a contested transaction,
 *  equal in every thread. */
export function hash_u32(seed: number, key: number): number {
  let h = Math.imul(seed ^ 0x3c6ef372, 0x9e3779b1) ^ key;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

// Every 16-bit value as 4 hex digits: a uuid is 8 lookups and 12 joins, no
// slicing (a 64 Ki-entry table, ~2 MiB per thread: a fair price for the
// hottest string in the runner).
const HEX_OF_U16: readonly string[] = Array.from({ length: 65536 }, (_, v) => v.toString(16).padStart(4, '0'));

function format_uuid_v4(w0: number, w1: number, w2: number, w3: number): string {
  // Version nibble 4 (the top of the third group), variant 10xx (the top
  // bits of the fourth group): what crypto.randomUUID() produces.
  const t = HEX_OF_U16;
  return (
    t[w0 >>> 16] + t[w0 & 0xffff] + '-' + t[w1 >>> 16] + '-' + t[(w1 & 0x0fff) | 0x4000] + '-' +
    t[((w2 >>> 16) & 0x3fff) | 0x8000] + '-' + t[w2 & 0xffff] + t[w3 >>> 16] + t[w3 & 0xffff]
  );
}
