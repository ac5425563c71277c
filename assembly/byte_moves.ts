// Short copies and compares, inline. memory.copy on a shared memory is a
// call out of WASM (tens of ns); memory.compare is a byte loop. The bytes
// path moves names, uuids and currencies of a few dozen bytes: 16 at a time.

/** Copy `bytes` bytes from `from` to `to` (the ranges do not overlap). */
export function copy_bytes(to: usize, from: usize, bytes: u32): void {
  let k: usize = 0;
  const n = <usize>bytes;
  for (; k + 16 <= n; k += 16) v128.store(to + k, v128.load(from + k));
  for (; k + 8 <= n; k += 8) store<u64>(to + k, load<u64>(from + k));
  for (; k < n; k++) store<u8>(to + k, load<u8>(from + k));
}

/** Are the `bytes` bytes at a and b equal? */
export function bytes_equal(a: usize, b: usize, bytes: u32): bool {
  let k: usize = 0;
  const n = <usize>bytes;
  for (; k + 8 <= n; k += 8) if (load<u64>(a + k) != load<u64>(b + k)) return false;
  for (; k < n; k++) if (load<u8>(a + k) != load<u8>(b + k)) return false;
  return true;
}
