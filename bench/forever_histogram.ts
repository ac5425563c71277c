// A latency histogram cheap enough to record every call of a 10M-call loop
// inline: log-linear buckets in one Uint32Array, no allocation, no call into
// C++ (perf_hooks' RecordableHistogram costs a binding call per record).
//
//   values 0 .. 63 ns          one bucket per ns
//   values 64 ns .. 2^31 ns    32 buckets per power of two (relative width
//                              1/32: a percentile is its bucket's midpoint,
//                              within ±1.6 % of the true value)
//   larger (> 2.1 s)           the last bucket; `max_ns` stays exact
//
// Why not store every duration and sort: sorting a slice's durations at its
// end takes milliseconds, during which the wallet's rotator would get free
// time the benchmark must not give it.

const LINEAR_NS = 64;
const SUB_BITS = 5;
const SUB_COUNT = 1 << SUB_BITS;
const EXPONENT_MIN = 6; // 2^6 = LINEAR_NS
const EXPONENT_MAX = 30;
export const BUCKET_COUNT = LINEAR_NS + (EXPONENT_MAX - EXPONENT_MIN + 1) * SUB_COUNT;

export class LatencyHistogram {
  readonly counts = new Uint32Array(BUCKET_COUNT);
  count = 0;
  max_ns = 0;
  sum_ns = 0;

  record(ns: number): void {
    const value = ns < 0 ? 0 : ns > 0x7fffffff ? 0x7fffffff : ns | 0;
    this.counts[bucket_of(value)]++;
    this.count++;
    this.sum_ns += ns;
    if (ns > this.max_ns) this.max_ns = ns;
  }

  add(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKET_COUNT; i++) this.counts[i] += other.counts[i];
    this.count += other.count;
    this.sum_ns += other.sum_ns;
    if (other.max_ns > this.max_ns) this.max_ns = other.max_ns;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max_ns = 0;
    this.sum_ns = 0;
  }

  /** The value at quantile `q` (0 < q <= 1): its bucket's midpoint, never above max_ns. */
  quantile_ns(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(this.max_ns, midpoint_of(i));
    }
    return this.max_ns;
  }

  summary(): LatencyRow {
    return {
      calls: this.count,
      mean_ns: this.count === 0 ? 0 : Math.round(this.sum_ns / this.count),
      p50_ns: Math.round(this.quantile_ns(0.5)),
      p99_ns: Math.round(this.quantile_ns(0.99)),
      p999_ns: Math.round(this.quantile_ns(0.999)),
      max_ns: Math.round(this.max_ns),
    };
  }
}

export interface LatencyRow {
  calls: number;
  mean_ns: number;
  p50_ns: number;
  p99_ns: number;
  p999_ns: number;
  max_ns: number;
}

function bucket_of(value: number): number {
  if (value < LINEAR_NS) return value;
  const exponent = 31 - Math.clz32(value);
  return LINEAR_NS + (exponent - EXPONENT_MIN) * SUB_COUNT + ((value >>> (exponent - SUB_BITS)) & (SUB_COUNT - 1));
}

function midpoint_of(bucket: number): number {
  if (bucket < LINEAR_NS) return bucket;
  const exponent = EXPONENT_MIN + ((bucket - LINEAR_NS) >>> SUB_BITS);
  const sub = (bucket - LINEAR_NS) & (SUB_COUNT - 1);
  const width = 2 ** (exponent - SUB_BITS);
  return (SUB_COUNT + sub) * width + width / 2;
}

/** The summary of a list of durations (ns), small lists (cost probes). */
export function summarise_ns(durations_ns: ArrayLike<number>): LatencyRow & { p90_ns: number } {
  const sorted = Float64Array.from(durations_ns).sort();
  const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]);
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    calls: sorted.length,
    mean_ns: sorted.length === 0 ? 0 : Math.round(sum / sorted.length),
    p50_ns: Math.round(at(0.5)),
    p90_ns: Math.round(at(0.9)),
    p99_ns: Math.round(at(0.99)),
    p999_ns: Math.round(at(0.999)),
    max_ns: Math.round(sorted.length === 0 ? 0 : sorted[sorted.length - 1]),
  };
}
