// The fingerprint of a request: a 64-bit hash of every field of the body
// except request_uuid, transaction_uuid (the key, compared whole), user, kind
// and amount (stored and compared exactly beside it).
//
// The TypeScript side writes one record per field into this thread's scratch
// region at S_RECORDS (see src/fingerprint_encoder.ts for the encoding of a
// field's key, type and value):
//
//   off  size         field
//    0    4           payload_bytes
//    4    4           (padding, ignored)
//    8    payload     key and typed value, zero-padded to a multiple of 8
//
// Records are hashed one by one and the hashes are *added*, so the result is
// independent of key order, as the contract requires; a body is a set of
// distinct keys, so no two records of one body are equal and the sum does not
// cancel. The seed is random per wallet, so collisions cannot be prepared
// offline.

import { S_RECORDS } from "./layout";
import { hash_bytes, mix64 } from "./hash";
import { scratch, fingerprint_seed, invariant } from "./state";

export function fingerprint(records_bytes: u32): u64 {
  let sum: u64 = 0;
  let p = scratch + S_RECORDS;
  const end = p + <usize>records_bytes;
  while (p < end) {
    const payload_bytes = load<u32>(p);
    sum += hash_bytes(p + 8, payload_bytes, fingerprint_seed);
    p += 8 + ((<usize>payload_bytes + 7) & ~7);
  }
  invariant(p == end);
  return mix64(sum ^ fingerprint_seed);
}
