// Per-instance (= per-thread) view of one wallet's shared memory.
//
// WebAssembly globals are private to an instance, and every thread has its
// own instance, so these hold only thread-local facts: where the regions are
// (read from the shared header once, in `init`), and which registry record,
// scratch region and owner id this thread uses. Nothing shared lives in a
// global; what a thread slot owns (its reserved entries, a spare user record)
// lives in its registry record, so it survives the thread.

import {
  HEADER_OFFSET, H_MAGIC, H_VERSION, LAYOUT_MAGIC, LAYOUT_VERSION,
  H_USERS_MAX, H_USER_RECORDS_MAX, H_USER_INDEX_CAPACITY, H_TX_MAX, H_TX_INDEX_CAPACITY,
  H_THREADS_MAX, H_INITIAL_BALANCE, H_FINGERPRINT_SEED, H_HASH_KEY, H_TX_ENTRIES_MAX, H_RELEASE_SLACK,
  H_USER_INDEX_OFFSET, H_USER_NAMES_OFFSET, H_USER_BALANCES_OFFSET, H_USER_META_OFFSET, H_CURRENCIES_OFFSET,
  H_TX_INDEX_OFFSET, H_TX_ENTRIES_OFFSET, H_THREADS_OFFSET, H_SCRATCH_OFFSET, H_RUN, RUN_OPEN,
  SCRATCH_SIZE_BYTES, THREAD_RECORD_BYTES, T_ENTRY_NEXT, T_ENTRY_END, T_USER_SPARE, T_BUDGET_UNITS, T_ANNOUNCE,
  INIT_OK, INIT_BAD_MAGIC, INIT_BAD_VERSION, INIT_BAD_SLOT, H_EPOCH, H_RINGS_OFFSET, H_JOURNAL_ON, H_RING_RECORDS,
  EPOCH_ANNOUNCE_TRIES_MAX, S_OUT_TICKET, RING_RECORDS_AT, JOURNAL_RECORD_BYTES,
  RUN_PAUSED, H_GEN_COUNT, H_GEN_BUDGET, H_GEN_ENTRIES, H_GEN_INDEX_CAPACITY, H_FILTER_OFFSET, H_FILTER_BLOCKS, H_ROTATE_AT,
} from "./layout";

export let users_max: u32 = 0;
export let user_records_max: u32 = 0;
export let user_index_capacity: u32 = 0;
export let tx_max: u32 = 0;
export let tx_entries_max: u32 = 0;
export let release_slack: u32 = 0;
export let tx_index_capacity: u32 = 0;
export let threads_max: u32 = 0;
export let initial_balance_units: i64 = 0;
export let fingerprint_seed: u64 = 0;
export let hash_key0: u64 = 0;
export let hash_key1: u64 = 0;

export let user_index: usize = 0;
export let user_names: usize = 0;
export let user_balances: usize = 0;
export let user_meta: usize = 0;
export let currencies: usize = 0;
/** Durable wallets: calls append journal records to this slot's ring. */
export let journal_on: bool = false;
/** A memory-only wallet's epoch, which nothing advances (no flusher): what
 *  enter() announces. Non-zero (the header's first epoch is 1): a zero
 *  announce reads as idle. Unused by durable wallets. */
export let fixed_epoch: u64 = 1;
export let ring: usize = 0; //         this slot's ring (layout_constants.ts, "The journal")
export let ring_records: u32 = 0;
export let tx_index: usize = 0;
/** Generations (layout_constants.ts, "Generations"): 1 or 2. */
export let gen_count: u32 = 1;
export let gen_budget: u32 = 0;
export let gen_entries: u32 = 0;
export let gen_index_capacity: u32 = 0;
export let rotate_at: u32 = 0;
export let filter: usize = 0;
export let filter_blocks: u32 = 0;
export let tx_entries: usize = 0;
export let threads: usize = 0;
export let scratch: usize = 0;

/** This thread's slot in the registry: owner id in claims, scratch region. */
export let thread_slot: u32 = 0;
/** This thread's registry record (layout.ts, "Thread registry"). */
export let thread_record: usize = 0;

/** Entries [entry_next, entry_end) are reserved for this thread slot alone. */
// @ts-ignore: decorator
@inline
export function entry_next(): u32 {
  return load<u32>(thread_record + T_ENTRY_NEXT);
}
// @ts-ignore: decorator
@inline
export function entry_end(): u32 {
  return load<u32>(thread_record + T_ENTRY_END);
}
export function set_entry_chunk(next: u32, end: u32): void {
  store<u32>(thread_record + T_ENTRY_NEXT, next);
  store<u32>(thread_record + T_ENTRY_END, end);
}
/** A user record this slot reserved but lost a creation race with, or -1;
 *  reused by its next creation, so races never leak more than one per slot. */
export function user_spare(): i32 {
  return <i32>load<u32>(thread_record + T_USER_SPARE) - 1;
}
export function set_user_spare(record: i32): void {
  store<u32>(thread_record + T_USER_SPARE, <u32>(record + 1));
}

/** Budget units reserved for this thread slot (layout.ts, "Capacity"). */
// @ts-ignore: decorator
@inline
export function budget_units(): u32 {
  return load<u32>(thread_record + T_BUDGET_UNITS);
}
// @ts-ignore: decorator
@inline
export function set_budget_units(units: u32): void {
  store<u32>(thread_record + T_BUDGET_UNITS, units);
}

/** Announce that this thread is about to change shared state, in the open
 *  epoch, then read the run word. All of it is sequentially consistent, as
 *  are audit's store of RUN_PAUSED and its loads of every announce word
 *  (Dekker's pattern): either this call sees the pause, or audit sees this
 *  call busy and waits for it. The same holds for the flusher's advance of
 *  the epoch: once it has stored E = e + 1 and then seen no announce <= e,
 *  every call of epoch e has left (journal.ts). The loop re-reads E so that
 *  the announced epoch is one the flusher had not yet closed.
 *  A memory-only wallet has no flusher: its epoch is the header's first one
 *  for life (read once in init_state), so it announces that, with no loop;
 *  the Dekker pair (seq-cst store, then the run word) is the same.
 *  Returns the run word; anything but RUN_OPEN means: do nothing, leave. */
export function enter(): u32 {
  const announce_ptr = thread_record + T_ANNOUNCE;
  if (!journal_on) {
    atomic.store<u64>(announce_ptr, fixed_epoch);
  } else {
    const epoch_ptr = <usize>HEADER_OFFSET + H_EPOCH;
    let epoch = atomic.load<u64>(epoch_ptr);
    for (let attempt = 0; attempt < EPOCH_ANNOUNCE_TRIES_MAX; attempt++) {
      atomic.store<u64>(announce_ptr, epoch);
      const now = atomic.load<u64>(epoch_ptr);
      if (now == epoch) break;
      epoch = now;
    }
  }
  const run = atomic.load<u32>(<usize>HEADER_OFFSET + H_RUN);
  if (run != RUN_OPEN) leave();
  return run;
}

/** The call is done with shared state. Its ticket — what a durable() after
 *  it must wait for — is the epoch open now: every state it observed was
 *  made by calls of that epoch or earlier (epochs only grow). Only durable
 *  wallets read tickets (src/core.ts keep_ticket); a memory wallet's
 *  durable() resolves at once, so it writes none. */
export function leave(): void {
  atomic.store<u64>(thread_record + T_ANNOUNCE, 0);
  if (journal_on) store<f64>(scratch + S_OUT_TICKET, <f64>atomic.load<u64>(<usize>HEADER_OFFSET + H_EPOCH));
}

/** Returns 0 on success, or a negative code naming the mismatch. */
export function init_state(slot: u32): i32 {
  const h = <usize>HEADER_OFFSET;
  if (load<u32>(h + H_MAGIC) != LAYOUT_MAGIC) return INIT_BAD_MAGIC;
  if (load<u32>(h + H_VERSION) != LAYOUT_VERSION) return INIT_BAD_VERSION;
  users_max = load<u32>(h + H_USERS_MAX);
  user_records_max = load<u32>(h + H_USER_RECORDS_MAX);
  user_index_capacity = load<u32>(h + H_USER_INDEX_CAPACITY);
  tx_max = load<u32>(h + H_TX_MAX);
  tx_entries_max = load<u32>(h + H_TX_ENTRIES_MAX);
  release_slack = load<u32>(h + H_RELEASE_SLACK);
  tx_index_capacity = load<u32>(h + H_TX_INDEX_CAPACITY);
  threads_max = load<u32>(h + H_THREADS_MAX);
  initial_balance_units = load<i64>(h + H_INITIAL_BALANCE);
  fingerprint_seed = load<u64>(h + H_FINGERPRINT_SEED);
  hash_key0 = load<u64>(h + H_HASH_KEY);
  hash_key1 = load<u64>(h + H_HASH_KEY + 8);
  user_index = <usize>load<u32>(h + H_USER_INDEX_OFFSET);
  user_names = <usize>load<u32>(h + H_USER_NAMES_OFFSET);
  user_balances = <usize>load<u32>(h + H_USER_BALANCES_OFFSET);
  user_meta = <usize>load<u32>(h + H_USER_META_OFFSET);
  currencies = <usize>load<u32>(h + H_CURRENCIES_OFFSET);
  journal_on = load<u32>(h + H_JOURNAL_ON) != 0;
  fixed_epoch = atomic.load<u64>(h + H_EPOCH);
  if (fixed_epoch == 0) fixed_epoch = 1;
  ring_records = load<u32>(h + H_RING_RECORDS);
  tx_index = <usize>load<u32>(h + H_TX_INDEX_OFFSET);
  gen_count = load<u32>(h + H_GEN_COUNT);
  gen_budget = load<u32>(h + H_GEN_BUDGET);
  gen_entries = load<u32>(h + H_GEN_ENTRIES);
  gen_index_capacity = load<u32>(h + H_GEN_INDEX_CAPACITY);
  rotate_at = load<u32>(h + H_ROTATE_AT);
  filter = <usize>load<u32>(h + H_FILTER_OFFSET);
  filter_blocks = load<u32>(h + H_FILTER_BLOCKS);
  tx_entries = <usize>load<u32>(h + H_TX_ENTRIES_OFFSET);
  threads = <usize>load<u32>(h + H_THREADS_OFFSET);
  if (slot >= threads_max) return INIT_BAD_SLOT;
  thread_slot = slot;
  scratch = <usize>load<u32>(h + H_SCRATCH_OFFSET) + <usize>slot * <usize>SCRATCH_SIZE_BYTES;
  thread_record = threads + <usize>slot * THREAD_RECORD_BYTES;
  ring = journal_on
    ? <usize>load<u32>(h + H_RINGS_OFFSET) + <usize>slot * (<usize>RING_RECORDS_AT + <usize>ring_records * JOURNAL_RECORD_BYTES)
    : 0;
  return INIT_OK;
}

/** Traps on a broken invariant: a bug in this library, never bad input. */
// @ts-ignore: decorator
@inline
export function invariant(ok: bool): void {
  if (!ok) unreachable();
}

/** Fault injection for tests: when set to one of the CRASH_* points, `apply`
 *  traps there, abandoning the operation exactly as a thread that died at
 *  that instruction would. 0 (never set outside tests) costs one branch. */
export let crash_point: i32 = 0;
export function set_crash_point(point: i32): void {
  crash_point = point;
}

/** The canary of the journal's ordering proof (tests only): when set, the
 *  epoch of a transaction is read AFTER its balance compare-exchange instead
 *  of before. Then a transaction can land in an earlier epoch than one it
 *  depended on, and a crash can keep it while losing that one: the prefix
 *  checker must catch it. Never set outside tests. */
export let epoch_after_cas: bool = false;
export function set_epoch_after_cas(on: i32): void {
  epoch_after_cas = on != 0;
}

/** The canary of the generation flip (tests only): when set, a call pauses
 *  between reading the generation word and publishing its entry, and the
 *  test flips without pausing the wallet. Then a twin can bind the same uuid
 *  in the other generation: the twin storm must catch it. */
export let flip_canary: bool = false;
export function set_flip_canary(on: i32): void {
  flip_canary = on != 0;
}

/** Announce this thread busy (as enter() does) for a read that must not
 *  overlap a rotation (lookup); false if a pause holds the wallet (then
 *  nothing is announced: wait on the run word, ask again). */
export function announce_only(): bool {
  const run = enter();
  if (run == RUN_PAUSED) return false;
  if (run != RUN_OPEN) atomic.store<u64>(thread_record + T_ANNOUNCE, fixed_epoch); // closed or failed: read anyway
  return true;
}

// @ts-ignore: decorator
@inline
export function crash_here(point: i32): void {
  if (crash_point == point) {
    crash_point = 0;
    unreachable();
  }
}
