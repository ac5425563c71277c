// The WASM core of exwallet: what the TypeScript face may call.
// Built with --runtime stub, importing one shared memory; no allocation, no
// strings, no static data (the build test pins that), only loads, stores and
// atomics on offsets taken from the layout.

import { ENTRY_SIZE_BYTES, SCRATCH_SIZE_BYTES, LAYOUT_VERSION, HEADER_OFFSET, STATIC_DATA_MAX_BYTES } from "./layout";
import { init_state } from "./state";
export { set_crash_point } from "./state";

export { user_find, user_create, user_count, user_tickets, balance_of } from "./user_table";
export { apply } from "./ledger";
export { entry_prepare_wait } from "./idempotency_table";

/** Bind this instance to the wallet in its memory and to thread slot `slot`. */
export function init(slot: u32): i32 {
  if (__heap_base > <usize>STATIC_DATA_MAX_BYTES) return -10;
  return init_state(slot);
}

/** Constants this binary was compiled with, for start() to compare with the
 *  TypeScript side's copy of layout.ts (a stale build fails loudly). */
export function layout_fingerprint(): i32 {
  return LAYOUT_VERSION * 1000003 + ENTRY_SIZE_BYTES * 1009 + SCRATCH_SIZE_BYTES + HEADER_OFFSET / 64;
}
