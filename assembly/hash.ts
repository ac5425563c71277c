// 64-bit hashing over shared memory. Index keys (uuids, user names): SipHash-1-3
// under the wallet's secret key, below. Fingerprint records: a seeded
// multiply-xorshift construction in the spirit of xxh64/wyhash, one 64-bit
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

// SipHash-1-3 (Aumasson & Bernstein; 1 compression round per 8-byte word,
// 3 finalization rounds, as Rust's std HashMap uses it): a keyed PRF, so an
// attacker who does not know the wallet's 128-bit key cannot compute where a
// uuid or a name lands, and so cannot aim thousands of them at one probe run.
// Costs 6 SipRounds for a uuid (~10 ns), once per call: measured in bench/.

// The state lives in locals, written out round by round: AssemblyScript has
// no macros, and an @inline helper over module globals (the first version)
// compiles to wasm global.get/global.set, which V8 does not keep in registers:
// ~240 global accesses per uuid, ~30 ns of the bet path (measured in bench/).

/** SipHash-1-3 of the 16 bytes at `ptr` under (k0, k1). */
export function siphash_16(ptr: usize, k0: u64, k1: u64): u64 {
  const m0 = load<u64>(ptr);
  const m1 = load<u64>(ptr, 8);
  const m2: u64 = <u64>16 << 56; // the length byte; no tail bytes
  let v0: u64 = k0 ^ 0x736f6d6570736575;
  let v1: u64 = k1 ^ 0x646f72616e646f6d;
  let v2: u64 = k0 ^ 0x6c7967656e657261;
  let v3: u64 = k1 ^ 0x7465646279746573;
  v3 ^= m0;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 ^= m0;
  v3 ^= m1;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 ^= m1;
  v3 ^= m2;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 ^= m2;
  v2 ^= 0xff;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  return v0 ^ v1 ^ v2 ^ v3;
}

/** SipHash-1-3 of `len` bytes at `ptr` under (k0, k1). Reads up to 7 bytes
 *  past the end (masked off). */
export function siphash_bytes(ptr: usize, len: u32, k0: u64, k1: u64): u64 {
  let v0: u64 = k0 ^ 0x736f6d6570736575;
  let v1: u64 = k1 ^ 0x646f72616e646f6d;
  let v2: u64 = k0 ^ 0x6c7967656e657261;
  let v3: u64 = k1 ^ 0x7465646279746573;
  const end = ptr + <usize>len;
  let p = ptr;
  while (p + 8 <= end) {
    const m = load<u64>(p);
    v3 ^= m;
    v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
    v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
    v0 ^= m;
    p += 8;
  }
  const tail_bytes = <u32>(end - p);
  let last: u64 = <u64>(len & 0xff) << 56;
  if (tail_bytes > 0) last |= load<u64>(p) & ((<u64>1 << (<u64>tail_bytes * 8)) - 1);
  v3 ^= last;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 ^= last;
  v2 ^= 0xff;
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
  return v0 ^ v1 ^ v2 ^ v3;
}

/** Map a 32-bit hash onto [0, capacity) without a division (Lemire). */
// @ts-ignore: decorator
@inline
export function fast_range(hash32: u32, capacity: u32): u32 {
  return <u32>((<u64>hash32 * <u64>capacity) >> 32);
}
