// A call whose uuid, or whose referenced bet, the core did not find in
// memory but the retired filter may know (ST_RETIRED_MAYBE /
// ST_REF_RETIRED_MAYBE): the retired files (src/retired.ts) answer exactly.
// Found: the answer is decided here, as the core would have from the entry
// (a replay, DUPLICATE, or for a settled bet RS_ERROR_UNKNOWN). Not found
// (a false positive of the filter): the core is called again with the
// search's retirement count, and goes on unless a retirement came since.

import { L } from './layout.js';
import type { ThreadCore } from './core.js';
import { RetiredStore } from './retired.js';

const header_word = (field: number) => (L.HEADER_OFFSET + field) >>> 2;

/** This thread's view of the wallet's retired files, refreshed when a
 *  retirement happened since its last look (a file deleted for retention
 *  meanwhile reads as absent: it is past its retention). */
export function retired_store(core: ThreadCore): RetiredStore {
  const seq = Atomics.load(core.u32, header_word(L.H_RETIRED_SEQ));
  let store = core.retired as RetiredStore | undefined;
  if (!store) {
    store = new RetiredStore(core.data_dir);
    core.retired = store;
    core.retired_seen = seq;
  } else if (core.retired_seen !== seq) {
    store.refresh();
    core.retired_seen = seq;
  }
  return store;
}

/** The uuid at scratch + `at` (16 bytes) in the retired files, or undefined;
 *  records the retirement count the search saw (at scratch + `seen_at`, one
 *  word per kind of search) for the core's next call. */
function search(core: ThreadCore, at: number, seen_at: number): Buffer | undefined {
  const seq = Atomics.load(core.u32, header_word(L.H_RETIRED_SEQ));
  core.u32[(core.scratch + seen_at) >>> 2] = seq;
  const store = retired_store(core);
  return store.find(core.u8.subarray(core.scratch + at, core.scratch + at + 16));
}

/** The core's status for a request the retired files decide, or undefined
 *  when they do not hold the uuid (call the core again). */
export function answer_from_retired(core: ThreadCore, status: number, kind: number, user_slot: number, amount_units: number): number | undefined {
  if (status === L.ST_REF_RETIRED_MAYBE) {
    const bet = search(core, L.S_REF_UUID, L.S_IN_REF_RETIRED_SEQ);
    if (!bet) return undefined;
    // A retired bet was settled (open bets never retire): like a settled bet in memory.
    const same = bet.readUInt8(L.R_KIND) === L.KIND_BET && bet.readUInt32LE(L.R_USER_SLOT) === user_slot;
    return same ? L.ST_SETTLED : L.ST_TX_DOES_NOT_EXIST;
  }
  const record = search(core, L.S_UUID, L.S_IN_RETIRED_SEQ);
  if (!record) return undefined;
  const fp_at = core.scratch + L.S_OUT_FINGERPRINT;
  const same =
    record.readUInt8(L.R_KIND) === kind &&
    record.readUInt32LE(L.R_USER_SLOT) === user_slot &&
    (kind === L.KIND_ROLLBACK || Number(record.readBigInt64LE(L.R_AMOUNT)) === amount_units) &&
    record.compare(core.bytes, fp_at, fp_at + 8, L.R_FINGERPRINT, L.R_FINGERPRINT + 8) === 0;
  if (!same) return L.ST_DUPLICATE;
  // The original response, where the core's replay leaves it.
  core.f64[(core.scratch + L.S_OUT_BALANCE) / 8] = Number(record.readBigInt64LE(L.R_BALANCE_AFTER));
  record.copy(core.bytes, core.scratch + L.S_OUT_REQUEST_UUID, L.R_REQUEST_UUID, L.R_REQUEST_UUID + 16);
  core.exports.format_uuid_text(core.scratch + L.S_OUT_REQUEST_UUID, core.scratch + L.S_OUT_REQUEST_TEXT);
  return L.ST_REPLAY;
}

/** A bet found the current generation full: ask the rotator for a new one
 *  and sleep until the generation word changes (or `remaining_ms`). */
export function wait_for_rotation(core: ThreadCore, remaining_ms: number): void {
  const want = header_word(L.H_ROTATE_WANT);
  Atomics.add(core.u32, want, 1);
  Atomics.notify(core.i32, want);
  const gen_word = header_word(L.H_GEN_WORD);
  Atomics.wait(core.i32, gen_word, Atomics.load(core.i32, gen_word), Math.min(remaining_ms, ROTATION_POLL_MS));
}
const ROTATION_POLL_MS = 50;
