// Seeded randomness for the stress and linearizability workloads: the same
// seed gives the same pool, the same per-worker orders and the same
// request_uuids, so a failing run can be replayed with `--seed`.

/** mulberry32: 32 bits of state, good enough to shuffle test workloads. */
export class Rng {
  #state: number;
  constructor(seed: number) {
    this.#state = (seed >>> 0) ^ 0x9e3779b9;
  }
  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** A uniform integer in [0, bound). */
  below(bound: number): number {
    return Math.floor((this.u32() / 4294967296) * bound);
  }
  /** An integer in [low, high]. */
  between(low: number, high: number): number {
    return low + this.below(high - low + 1);
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
  /** A canonical lowercase UUID (version-4 shape) drawn from this stream. */
  uuid(): string {
    const hex = (n: number) => n.toString(16).padStart(8, '0');
    const a = hex(this.u32()), b = hex(this.u32()), c = hex(this.u32()), d = hex(this.u32());
    const variant = ((parseInt(c[0]!, 16) & 0x3) | 0x8).toString(16);
    return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
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
