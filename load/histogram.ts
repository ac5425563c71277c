// A latency histogram in a Float64Array: log-linear buckets (32 per power of
// two, so a bucket is at most 1/32 ≈ 3 % wide), recording in a few ns without
// a native call, copyable through postMessage, and mergeable by adding arrays.
//
// Bucket index of v (integer nanoseconds):
//   v < 32            -> v                       (exact)
//   2^e ≤ v < 2^(e+1) -> (e - 4) * 32 + (v >> (e - 5)) - 32
// Values from 2^31 ns (2.1 s) up land in the last bucket; the exact maximum
// is kept beside the buckets.

const SUB_BUCKET_BITS = 5;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;
const EXPONENT_MAX = 30;
export const HISTOGRAM_BUCKETS = (EXPONENT_MAX - SUB_BUCKET_BITS + 2) * SUB_BUCKETS; // 864
/** counts[HISTOGRAM_BUCKETS] holds the maximum recorded value, in ns. */
export const HISTOGRAM_LENGTH = HISTOGRAM_BUCKETS + 1;

export function histogram_create(): Float64Array {
  return new Float64Array(HISTOGRAM_LENGTH);
}

export function bucket_of(value_ns: number): number {
  if (value_ns < SUB_BUCKETS) return value_ns < 0 ? 0 : Math.floor(value_ns);
  if (value_ns >= 2 ** (EXPONENT_MAX + 1)) return HISTOGRAM_BUCKETS - 1;
  const v = Math.floor(value_ns);
  const exponent = 31 - Math.clz32(v);
  return (exponent - SUB_BUCKET_BITS + 1) * SUB_BUCKETS + (v >>> (exponent - SUB_BUCKET_BITS)) - SUB_BUCKETS;
}

/** The middle of bucket `index`, in ns: what a percentile reports. */
export function bucket_value_ns(index: number): number {
  if (index < SUB_BUCKETS) return index;
  const exponent = Math.floor(index / SUB_BUCKETS) + SUB_BUCKET_BITS - 1;
  const width = 2 ** (exponent - SUB_BUCKET_BITS);
  const low = ((index % SUB_BUCKETS) + SUB_BUCKETS) * width;
  return low + width / 2;
}

export function histogram_record(counts: Float64Array, value_ns: number): void {
  counts[bucket_of(value_ns)]++;
  if (value_ns > counts[HISTOGRAM_BUCKETS]) counts[HISTOGRAM_BUCKETS] = value_ns;
}

/** into += from (the maximum is the larger one). */
export function histogram_add(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) into[i] += from[i];
  if (from[HISTOGRAM_BUCKETS] > into[HISTOGRAM_BUCKETS]) into[HISTOGRAM_BUCKETS] = from[HISTOGRAM_BUCKETS];
}

/** later - earlier, bucket by bucket: the calls between two snapshots of one
 *  cumulative histogram. The maximum is that of `later` (an upper bound). */
export function histogram_difference(later: Float64Array, earlier: Float64Array): Float64Array {
  const out = histogram_create();
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) out[i] = later[i] - earlier[i];
  out[HISTOGRAM_BUCKETS] = later[HISTOGRAM_BUCKETS];
  return out;
}

export function histogram_count(counts: Float64Array): number {
  let total = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) total += counts[i];
  return total;
}

/** The value at percentile `p` (0-100], in ns; 0 for an empty histogram.
 *  The top percentile reports the exact maximum, not its bucket's middle. */
export function histogram_percentile_ns(counts: Float64Array, p: number): number {
  const total = histogram_count(counts);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  if (rank >= total) return counts[HISTOGRAM_BUCKETS];
  let seen = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    seen += counts[i];
    if (seen >= rank) return Math.min(bucket_value_ns(i), counts[HISTOGRAM_BUCKETS]);
  }
  return counts[HISTOGRAM_BUCKETS];
}

export function histogram_mean_ns(counts: Float64Array): number {
  let total = 0;
  let sum_ns = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    total += counts[i];
    sum_ns += counts[i] * bucket_value_ns(i);
  }
  return total === 0 ? 0 : sum_ns / total;
}
