// The bytes path in one call from JS: parse the body, apply it, write the
// answer (src/bytes.ts). One crossing instead of three on the common path;
// whatever needs JS (a wait, the retired files, the object path) returns
// to it with the parsed call kept in scratch.

import { S_BODY_AMOUNT, S_BODY_USER_SLOT, S_BODY_FLAGS, S_BODY_RECORDS_BYTES, BODY_FALLBACK, ST_REPLAY } from "./layout";
import { scratch } from "./state";
import { parse_body } from "./request_bytes";
import { respond_body } from "./response_bytes";
import { apply } from "./ledger";

/** The answer's length in bytes (at S_RECORDS); BODY_FALLBACK when the
 *  core does not take the body; or -2 - status for a status JS must handle
 *  (waits, retired files, a closed wallet: src/wallet.ts apply_after_wait),
 *  the call's arguments kept at S_BODY_*. */
export function transact_body(kind: u32, body_bytes: u32, own_request: u32): i32 {
  const records_bytes = parse_body(kind, body_bytes);
  if (records_bytes < 0) return BODY_FALLBACK;
  store<u32>(scratch + S_BODY_RECORDS_BYTES, <u32>records_bytes);
  const status = apply(
    kind, load<u32>(scratch + S_BODY_USER_SLOT), load<f64>(scratch + S_BODY_AMOUNT), load<u32>(scratch + S_BODY_FLAGS),
    <u32>records_bytes,
  );
  if (status > ST_REPLAY) return -2 - status;
  return <i32>respond_body(status, own_request);
}
