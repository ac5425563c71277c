// The one seeded generator of the project's tools (load runner, stress and
// linearizability workloads, benchmarks): sfc32, canonical v4 uuids drawn
// from it, and the small derivations the workloads need. Everything a tool
// draws comes from here, so `--seed N` replays a run exactly.
//
// Why not crypto.randomUUID() or Math.random(): neither can be seeded, and a
// reproducible workload is worth more to a test or a load run than
// unpredictability (these ids only need to be unique within one wallet: 122
// random bits per uuid).

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): 128 bits of
 *  state, PractRand-clean, and only 32-bit integer operations, which V8
 *  compiles to a handful of machine instructions. */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** `seed` and `stream` select independent sequences: the run's seed and,
   *  for example, a worker index. */
  constructor(seed: number, stream = 0) {
    this.#a = seed | 0;
    this.#b = stream | 0;
    this.#c = 0x9e3779b9 ^ Math.imul(seed | 0, 0x85ebca6b);
    this.#d = 1;
    // Mix the seed in before the first draw: nearby seeds share no prefix.
    for (let round = 0; round < 16; round++) this.next_u32();
  }

  /** A uniform 32-bit unsigned integer. */
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

  /** Uniform integer in [low, high]. */
  between(low: number, high: number): number {
    return low + this.below(high - low + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next_float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  /** A canonical lowercase version-4 UUID. */
  uuid(): string {
    return format_uuid_v4(this.next_u32(), this.next_u32(), this.next_u32(), this.next_u32());
  }

  /** Fisher–Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  /** Shuffle inside consecutive windows of `window` items: every worker
   *  replaying the same base order with its own windowed shuffle reaches a
   *  given item at about the same moment as the others, which is what makes
   *  the duplicates of one transaction_uuid truly concurrent. */
  shuffle_windows<T>(items: T[], window: number): T[] {
    for (let start = 0; start < items.length; start += window) {
      const end = Math.min(items.length, start + window);
      for (let i = end - 1; i > start; i--) {
        const j = start + this.below(i - start + 1);
        const t = items[i]!;
        items[i] = items[j]!;
        items[j] = t;
      }
    }
    return items;
  }
}

/** Free-form unique ids (Hub88 round ids, supplier transaction ids, tokens):
 *  a counter on a base drawn once from `random`, so the ids replay with the
 *  seed and cost one string concatenation each. Unique within one sequence;
 *  two sequences collide only if their 64-bit bases do. */
export class IdSequence {
  readonly #base: string;
  #next = 0;

  constructor(random: Random) {
    this.#base = random.next_u32().toString(36) + random.next_u32().toString(36) + '-';
  }

  next(): string {
    return this.#base + (this.#next++).toString(36);
  }
}

/** The same uuid in every thread for the same (seed, key): the contested
 *  transactions of the load mix, which all workers send at once. */
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

/** A seed for stream `index` of run `seed` (workers, scenarios). */
export function derive_seed(seed: number, index: number): number {
  return (Math.imul(seed ^ 0x85ebca6b, 0x27d4eb2d) + Math.imul(index + 1, 0x165667b1)) >>> 0;
}

/** The request_uuid of pass `pass` over a plan whose pass-0 request_uuid is
 *  `uuid`: every send gets its own request_uuid, so a replayed original
 *  names exactly one send. */
export function pass_request_uuid(uuid: string, pass: number): string {
  if (pass === 0) return uuid;
  const head = (parseInt(uuid.slice(0, 8), 16) ^ Math.imul(pass, 0x9e3779b1)) >>> 0;
  return head.toString(16).padStart(8, '0') + uuid.slice(8);
}

// Every 16-bit value as 4 hex digits: a uuid is 8 lookups and 12 joins, no
// slicing (a 64 Ki-entry table, ~2 MiB per thread: a fair price for the
// hottest string in the load runner).
const HEX_OF_U16: readonly string[] = Array.from({ length: 65536 }, (_, v) => v.toString(16).padStart(4, '0'));

function format_uuid_v4(w0: number, w1: number, w2: number, w3: number): string {
  // Version nibble 4 (the top of the third group), variant 10xx (the top
  // bits of the fourth group): what crypto.randomUUID() produces.
  const t = HEX_OF_U16;
  return (
    t[w0 >>> 16]! + t[w0 & 0xffff]! + '-' + t[w1 >>> 16]! + '-' + t[(w1 & 0x0fff) | 0x4000]! + '-' +
    t[((w2 >>> 16) & 0x3fff) | 0x8000]! + '-' + t[w2 & 0xffff]! + t[w3 >>> 16]! + t[w3 & 0xffff]!
  );
}
