// The journal ring of this thread slot: records of committed transactions,
// appended by the slot's holder, taken by the flusher (src/flusher.ts), which
// writes them to disk in whole epochs.
//
// Why epochs keep dependency order without locks (Silo's rule, carried over
// to the balance compare-exchange): a transaction reads the epoch E after its
// last read of the balance and before the compare-exchange that publishes
// its effect. If T depends on T' (it saw T''s balance, or its committed bet),
// T' read its epoch before its compare-exchange, which came before T's read
// of the balance, which came before T read its own epoch: epoch(T') <=
// epoch(T), because E only grows. The flusher writes only whole closed
// epochs, so any prefix of the journal that recovery keeps holds, with each
// transaction, everything it depended on.
//
// Room is checked before the claim (ring_has_room), so that nothing can fail
// after the money moved; only this slot's holder appends, so the room stays.

import {
  RING_HEAD, RING_TAIL, RING_RECORDS_AT, JOURNAL_RECORD_BYTES, R_KIND, R_USER_SLOT, R_EPOCH, R_UUID,
  R_REQUEST_UUID, R_REFERENCE, R_FINGERPRINT, R_AMOUNT, R_BALANCE_AFTER, S_UUID, S_REQUEST_UUID, S_REF_UUID,
  KIND_BET,
} from "./layout";
import { ring, ring_records, scratch, invariant } from "./state";

/** True when this slot's ring can take one more record. */
export function ring_has_room(): bool {
  const head = load<u32>(ring + RING_HEAD); // only we write it
  const tail = atomic.load<u32>(ring + RING_TAIL);
  invariant(head - tail <= ring_records);
  return head - tail < ring_records;
}

// @ts-ignore: decorator
@inline
function copy16(target: usize, source: usize): void {
  store<u64>(target, load<u64>(source));
  store<u64>(target, load<u64>(source, 8), 8);
}

/** Append the record of the transaction in scratch, committed in `epoch`,
 *  and publish it to the flusher (the head's atomic store comes after the
 *  record's plain stores). The caller checked the room before claiming. */
export function ring_append(
  kind: u32, user_slot: u32, epoch: u64, fp: u64, amount_units: i64, balance_after: i64,
): void {
  const head = load<u32>(ring + RING_HEAD);
  invariant(head - atomic.load<u32>(ring + RING_TAIL) < ring_records);
  const r = ring + RING_RECORDS_AT + <usize>(head % ring_records) * JOURNAL_RECORD_BYTES;
  store<u32>(r + R_KIND, kind);
  store<u32>(r + R_USER_SLOT, user_slot);
  store<u64>(r + R_EPOCH, epoch);
  copy16(r + R_UUID, scratch + S_UUID);
  copy16(r + R_REQUEST_UUID, scratch + S_REQUEST_UUID);
  if (kind == KIND_BET) {
    store<u64>(r + R_REFERENCE, 0);
    store<u64>(r + R_REFERENCE + 8, 0);
  } else {
    copy16(r + R_REFERENCE, scratch + S_REF_UUID);
  }
  store<u64>(r + R_FINGERPRINT, fp);
  store<i64>(r + R_AMOUNT, amount_units);
  store<i64>(r + R_BALANCE_AFTER, balance_after);
  store<u64>(r + R_BALANCE_AFTER + 8, 0);
  atomic.store<u32>(ring + RING_HEAD, head + 1); // publishes the record
}
