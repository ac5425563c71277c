// The WASM core of exwallet: what the TypeScript face may call.
// Built with --runtime stub, importing one shared memory; no allocation, no
// strings, no static data (the build test pins that), only loads, stores and
// atomics on offsets taken from the layout.

import { LAYOUT_FINGERPRINT, STATIC_DATA_MAX_BYTES, INIT_STATIC_DATA, S_UUID, S_RECORDS } from "./layout";
import { init_state, scratch } from "./state";
import { tx_home_position } from "./idempotency_table";
export { set_crash_point, set_epoch_after_cas, set_flip_canary } from "./state";

export {
  user_find, user_create, user_count, user_tickets, balance_of, currency_of, user_home_position,
  user_prepare, user_publish, user_create_at,
} from "./user_table";
export { apply, tx_lookup, recover_records, carry_open_bets, format_uuid_text } from "./ledger";
export { entry_prepare_wait } from "./idempotency_table";
import { filter_add, hash_uuid, filter_maybe } from "./idempotency_table";
export { parse_body } from "./request_bytes";
export { respond_body } from "./response_bytes";
export { transact_body } from "./bytes_path";
import { put_status } from "./response_bytes";
import { body_key } from "./texts";
import { S_BODY } from "./layout";

/** The key code of the `len` bytes at scratch + S_BODY (tests: the
 *  generated texts against KNOWN_KEYS). */
export function body_key_at(len: u32): i32 {
  return body_key(scratch + S_BODY, len);
}

/** The Hub88 status text of core status `status`, at scratch + S_RECORDS;
 *  its length (tests: against STATUS_OF_CORE). */
export function status_text_at(status: i32): u32 {
  return <u32>(put_status(scratch + S_RECORDS, status) - (scratch + S_RECORDS));
}

/** Add the `count` uuids (16 bytes each) at scratch + S_RECORDS to the
 *  retired filter (the rotator, recovery). */
export function filter_add_uuids(count: u32): void {
  for (let i: u32 = 0; i < count; i++) filter_add(hash_uuid(scratch + S_RECORDS + <usize>i * 16));
}

/** Does the retired filter know the uuid in scratch? (tests, bench) */
export function filter_knows(): bool {
  return filter_maybe(hash_uuid(scratch + S_UUID));
}

/** Bind this instance to the wallet in its memory and to thread slot `slot`. */
export function init(slot: u32): i32 {
  if (__heap_base > <usize>STATIC_DATA_MAX_BYTES) return INIT_STATIC_DATA;
  return init_state(slot);
}

/** The layout constants this binary was compiled with, for every thread to
 *  compare with its TypeScript copy (a stale build fails loudly). */
export function layout_fingerprint(): i32 {
  return LAYOUT_FINGERPRINT;
}

/** Home index position of the uuid in this thread's scratch (tests, bench). */
export function home_position(): u32 {
  return tx_home_position(scratch + S_UUID);
}
