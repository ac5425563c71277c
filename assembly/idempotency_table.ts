// The idempotency table: open addressing on the 128-bit transaction_uuid.
//
// Two regions: the index (u64 words, 2 x tx_entries_max of them, linear
// probing) and the entries (72 bytes each, tx_entries_max of them, see
// layout.ts; how the budget of tx_max units relates to them is there too). An entry is
// written whole by its claimer and only then published by one
// compare-exchange of an empty index word; from then on that word binds the
// uuid to that entry for life. A failed request does not unbind it: it marks
// the entry RELEASED, and a later request with the same uuid finds the entry
// and claims it again. So two threads inserting one uuid always meet at one
// entry, and one compare-exchange decides which of them owns it.

import {
  HEADER_OFFSET, H_TX_ENTRIES_NEXT, H_TX_BUDGET_NEXT, INDEX_WORD_BYTES, ENTRY_SIZE_BYTES, ENTRY_CHUNK_MAX,
  BUDGET_CHUNK_MAX, COUNTER_RETRY_MAX, WAIT_MARK_TRIES_MAX,
  E_STATE, E_UUID, PHASE_MASK, PHASE_CLAIMED, WAITERS_BIT, OWNER_SHIFT, KIND_SHIFT,
  THREAD_RECORD_BYTES, T_OWNER, T_ENTRY_NEXT, T_ENTRY_END, T_BUDGET_UNITS, ADOPTING_OWNER,
} from "./layout";
import { siphash_16, fast_range } from "./hash";
import {
  tx_index, tx_entries, tx_index_capacity, tx_max, tx_entries_max, thread_slot, threads, threads_max,
  entry_next, entry_end, set_entry_chunk, budget_units, set_budget_units, invariant, hash_key0, hash_key1,
} from "./state";

/** The index tag of the uuid last probed by tx_probe: the caller keeps it
 *  for tx_publish (recomputing it would cost a second SipHash per call). */
export let probed_tag: u32 = 0;

/** The keyed hash of the uuid at `uuid_ptr`: computed once per call and
 *  passed to tx_probe_hashed (a restart probes again with the same hash). */
// @ts-ignore: decorator
@inline
export function hash_uuid(uuid_ptr: usize): u64 {
  return siphash_16(uuid_ptr, hash_key0, hash_key1);
}

// @ts-ignore: decorator
@inline
export function entry_ptr(entry: u32): usize {
  return tx_entries + <usize>entry * ENTRY_SIZE_BYTES;
}

// @ts-ignore: decorator
@inline
export function entry_state(entry: u32): u32 {
  return atomic.load<u32>(entry_ptr(entry) + E_STATE);
}

// @ts-ignore: decorator
@inline
export function claimed_state(kind: u32): u32 {
  return PHASE_CLAIMED | (kind << KIND_SHIFT) | (thread_slot << OWNER_SHIFT);
}

function uuid_equals(entry: u32, uuid_ptr: usize): bool {
  const e = entry_ptr(entry);
  return load<u64>(e + E_UUID) == load<u64>(uuid_ptr) && load<u64>(e + E_UUID + 8) == load<u64>(uuid_ptr + 8);
}

/** Find the uuid at `uuid_ptr`. Returns its entry index (>= 0), or -1 - pos
 *  of the first empty index word, where the uuid would be inserted; sets
 *  probed_tag. A uuid
 *  published after the call may be missed (the answer can be late), but an
 *  answer of "empty at pos" stays true for as long as that word is 0. */
export function tx_probe(uuid_ptr: usize): i64 {
  return tx_probe_hashed(uuid_ptr, hash_uuid(uuid_ptr));
}

/** tx_probe with the uuid's hash_uuid already computed. */
export function tx_probe_hashed(uuid_ptr: usize, hash: u64): i64 {
  const tag = <u32>(hash >> 32);
  probed_tag = tag;
  let pos = fast_range(<u32>hash, tx_index_capacity);
  // At most tx_entries_max words are ever set in 2 x tx_entries_max
  // positions: an empty word is always found within the bound.
  for (let probe_count: u32 = 0; probe_count < tx_index_capacity; probe_count++) {
    const word = atomic.load<u64>(tx_index + <usize>pos * INDEX_WORD_BYTES);
    if (word == 0) return -1 - <i64>pos;
    if (<u32>(word >> 32) == tag && uuid_equals(<u32>word - 1, uuid_ptr)) return <i64>(<u32>word - 1);
    pos = pos + 1 == tx_index_capacity ? 0 : pos + 1;
  }
  invariant(false);
  return 0;
}

/** The home position (first probe) of the uuid at `uuid_ptr`: how the tests
 *  and the flood benchmark see where keys land under the wallet's key. */
export function tx_home_position(uuid_ptr: usize): u32 {
  return fast_range(<u32>hash_uuid(uuid_ptr), tx_index_capacity);
}

/** True while the index word at `pos` is still empty: the uuid that probed
 *  to it has still not been published by anyone. */
export function tx_still_absent(pos: u32): bool {
  return atomic.load<u64>(tx_index + <usize>pos * INDEX_WORD_BYTES) == 0;
}

/** An entry of this thread's reserved chunk, or -1 when the table's budget
 *  of tx_max entries is spent. The shared counter is touched once per chunk;
 *  chunks shrink as the budget runs out so that the last entries are not
 *  stranded in idle threads, and once it is spent, the chunks left in the
 *  records of free (detached) slots are adopted. */
export function entry_reserve(): i32 {
  const next = entry_next();
  if (next < entry_end()) return <i32>next;
  const next_ptr = <usize>HEADER_OFFSET + H_TX_ENTRIES_NEXT;
  let seen = atomic.load<u32>(next_ptr);
  for (let attempt = 0; attempt < COUNTER_RETRY_MAX; attempt++) {
    if (seen >= tx_entries_max) return adopt_free_chunk();
    const remaining = tx_entries_max - seen;
    let chunk = remaining >> 6;
    if (chunk > <u32>ENTRY_CHUNK_MAX) chunk = <u32>ENTRY_CHUNK_MAX;
    if (chunk == 0) chunk = 1;
    const witnessed = atomic.cmpxchg<u32>(next_ptr, seen, seen + chunk);
    if (witnessed == seen) {
      set_entry_chunk(seen, seen + chunk);
      return <i32>seen;
    }
    seen = witnessed;
  }
  return -1; // the counter moved COUNTER_RETRY_MAX times under us: answer "full" for now
}

/** Take `units` budget units for this thread slot; false when the budget is
 *  spent (then nothing is taken). Like entries, units are handed out in
 *  chunks that shrink as the budget runs out, and once it is spent the units
 *  left in free (detached) slots are adopted. */
export function budget_take(units: u32): bool {
  if (units == 0) return true;
  let held = budget_units();
  if (held >= units) {
    set_budget_units(held - units);
    return true;
  }
  const next_ptr = <usize>HEADER_OFFSET + H_TX_BUDGET_NEXT;
  let seen = atomic.load<u32>(next_ptr);
  for (let attempt = 0; attempt < COUNTER_RETRY_MAX; attempt++) {
    if (seen >= tx_max) {
      held += adopt_free_budget();
      if (held < units) {
        set_budget_units(held);
        return false;
      }
      set_budget_units(held - units);
      return true;
    }
    const remaining = tx_max - seen;
    let chunk = remaining >> 6;
    if (chunk > <u32>BUDGET_CHUNK_MAX) chunk = <u32>BUDGET_CHUNK_MAX;
    if (chunk < units - held) chunk = units - held;
    if (chunk > remaining) chunk = remaining;
    const witnessed = atomic.cmpxchg<u32>(next_ptr, seen, seen + chunk);
    if (witnessed == seen) {
      held += chunk;
      if (held < units) {
        seen = seen + chunk;
        continue; // took the last units and they were not enough: adopt
      }
      set_budget_units(held - units);
      return true;
    }
    seen = witnessed;
  }
  set_budget_units(held);
  return false;
}

/** Give back units taken by a request that then failed. */
// @ts-ignore: decorator
@inline
export function budget_give(units: u32): void {
  set_budget_units(budget_units() + units);
}

/** The budget units of free thread slots, moved into ours. */
function adopt_free_budget(): u32 {
  let adopted: u32 = 0;
  for (let slot: u32 = 0; slot < threads_max; slot++) {
    const record = threads + <usize>slot * THREAD_RECORD_BYTES;
    if (atomic.load<u32>(record + T_OWNER) != 0) continue;
    if (load<u32>(record + T_BUDGET_UNITS) == 0) continue;
    if (atomic.cmpxchg<u32>(record + T_OWNER, 0, ADOPTING_OWNER) != 0) continue;
    adopted += load<u32>(record + T_BUDGET_UNITS);
    store<u32>(record + T_BUDGET_UNITS, 0);
    atomic.store<u32>(record + T_OWNER, 0); // publishes the emptied record
    if (adopted >= <u32>BUDGET_CHUNK_MAX) break;
  }
  return adopted;
}

/** Take over the unused entries of a free thread slot: hold the slot (as an
 *  attach would, so nobody else takes it meanwhile), move its chunk into
 *  ours, free it again. Only when the table's counter is spent. */
function adopt_free_chunk(): i32 {
  for (let slot: u32 = 0; slot < threads_max; slot++) {
    const record = threads + <usize>slot * THREAD_RECORD_BYTES;
    if (atomic.load<u32>(record + T_OWNER) != 0) continue;
    if (load<u32>(record + T_ENTRY_NEXT) >= load<u32>(record + T_ENTRY_END)) continue;
    if (atomic.cmpxchg<u32>(record + T_OWNER, 0, ADOPTING_OWNER) != 0) continue;
    const next = load<u32>(record + T_ENTRY_NEXT);
    const end = load<u32>(record + T_ENTRY_END);
    store<u32>(record + T_ENTRY_NEXT, end);
    atomic.store<u32>(record + T_OWNER, 0); // publishes the emptied record
    if (next < end) {
      set_entry_chunk(next, end);
      return <i32>next;
    }
  }
  return -1;
}

/** Publish `entry` (already written whole, state CLAIMED) under index `tag`
 *  (tx_probe's probed_tag for its uuid) in the empty word at `pos`. Returns
 *  true if published; false if the word was taken first (the caller probes
 *  again: it may be its twin). */
export function tx_publish(pos: u32, entry: u32, tag: u32): bool {
  invariant(entry == entry_next() && entry < entry_end());
  invariant((entry_state(entry) & PHASE_MASK) == PHASE_CLAIMED);
  const word: u64 = (<u64>tag << 32) | <u64>(entry + 1);
  // Publication: the entry's plain stores above happen-before this
  // sequentially consistent compare-exchange, and every reader loads the
  // index word atomically before reading the entry.
  const witnessed = atomic.cmpxchg<u64>(tx_index + <usize>pos * INDEX_WORD_BYTES, 0, word);
  if (witnessed != 0) return false;
  set_entry_chunk(entry + 1, entry_end());
  return true;
}

/** Move a CLAIMED entry owned by this thread to `next_state`, waking any twin
 *  that sleeps on it. The owner is the only writer of a CLAIMED state word
 *  besides waiters setting WAITERS_BIT, so one exchange suffices. */
export function entry_finish(entry: u32, next_state: u32): void {
  const ptr = entry_ptr(entry) + E_STATE;
  const previous = atomic.xchg<u32>(ptr, next_state);
  invariant((previous & PHASE_MASK) == PHASE_CLAIMED);
  invariant((previous >> OWNER_SHIFT) == thread_slot);
  if ((previous & WAITERS_BIT) != 0) atomic.notify(ptr, -1);
}

/** Called by a thread about to sleep on a twin's claim: sets WAITERS_BIT and
 *  returns the state word to wait on, or 0 if the claim has already ended
 *  (then there is nothing to wait for: probe again). */
export function entry_prepare_wait(entry: u32): u32 {
  const ptr = entry_ptr(entry) + E_STATE;
  let seen = atomic.load<u32>(ptr);
  for (let attempt = 0; attempt < WAIT_MARK_TRIES_MAX; attempt++) {
    if ((seen & PHASE_MASK) != PHASE_CLAIMED) return 0;
    if ((seen & WAITERS_BIT) != 0) return seen;
    const witnessed = atomic.cmpxchg<u32>(ptr, seen, seen | WAITERS_BIT);
    if (witnessed == seen) return seen | WAITERS_BIT;
    seen = witnessed;
  }
  return 0;
}
