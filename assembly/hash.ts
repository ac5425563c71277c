// 64-bit hashing over shared memory: uuid keys, user names, fingerprint records.
// A multiply-xorshift construction in the spirit of xxh64/wyhash: one 64-bit
// multiply per 8 input bytes plus a strong final avalanche. Inputs are read
// whole words at a time; callers guarantee the bytes past `len` up to the next
// multiple of 8 are readable (they may hold anything: they are masked off).

const P1: u64 = 0x9e3779b185ebca87;
const P2: u64 = 0xc2b2ae3d27d4eb4f;
const P3: u64 = 0x165667b19e3779f9;

// @ts-ignore: decorator
@inline
export function mix64(x: u64): u64 {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccd;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53;
  x ^= x >> 33;
  return x;
}

// @ts-ignore: decorator
@inline
function round(acc: u64, word: u64): u64 {
  return rotl<u64>(acc ^ (word * P2), 31) * P1;
}

/** Hash `len` bytes at `ptr` with `seed`. Reads up to 7 bytes past the end. */
export function hash_bytes(ptr: usize, len: u32, seed: u64): u64 {
  let acc: u64 = seed ^ (<u64>len * P3);
  const end = ptr + <usize>len;
  let p = ptr;
  while (p + 8 <= end) {
    acc = round(acc, load<u64>(p));
    p += 8;
  }
  const tail_bytes = <u32>(end - p);
  if (tail_bytes > 0) {
    const mask: u64 = (<u64>1 << (<u64>tail_bytes * 8)) - 1;
    acc = round(acc, load<u64>(p) & mask);
  }
  return mix64(acc ^ P3);
}

/** Hash of a 16-byte uuid: the probe position comes from the low 32 bits,
 *  the index tag from the high 32, so the two are independent. */
export function hash_uuid(ptr: usize): u64 {
  const lo = load<u64>(ptr);
  const hi = load<u64>(ptr, 8);
  return mix64(lo * P1 + rotl<u64>(hi, 29) * P2 + P3);
}

/** Map a 32-bit hash onto [0, capacity) without a division (Lemire). */
// @ts-ignore: decorator
@inline
export function fast_range(hash32: u32, capacity: u32): u32 {
  return <u32>((<u64>hash32 * <u64>capacity) >> 32);
}
