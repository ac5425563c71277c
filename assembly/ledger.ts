// The request pipeline of the core, one function for bet, win and rollback:
//
//   idempotency -> currency -> kind checks -> claim -> apply -> publish
//
// The TypeScript face has already validated types, resolved the user, parsed
// the uuids into scratch and written the fingerprint records. Checks that can
// fail run *before* the claim, so a failing request normally leaves no trace
// at all; a failure it can only discover after claiming (the balance or the
// bet changed under it) releases the claim. A pre-claim failure is answered
// only after confirming the uuid is still unapplied, which makes the moment
// of the failing check its linearization point.
//
// Money moves only by compare-exchange of the user's balance word, after the
// checks, so the compare-exchange is the linearization point of a debit or
// credit. Before each attempt the claimer writes the intended balance into
// its entry: if it dies, `audit` finds the claim and decides from the ledger
// whether the compare-exchange happened.

import {
  E_STATE, E_USER_SLOT, E_REF_ENTRY, E_UUID, E_REQUEST_UUID, E_FINGERPRINT, E_AMOUNT, E_BALANCE_AFTER,
  PHASE_MASK, PHASE_CLAIMED, PHASE_COMMITTED, PHASE_RELEASED, PHASE_FREE,
  KIND_SHIFT, KIND_MASK, KIND_BET, KIND_WIN, KIND_ROLLBACK, SETTLE_SHIFT, SETTLE_MASK,
  SETTLE_OPEN, SETTLE_SETTLING_WIN, SETTLE_SETTLING_ROLLBACK, SETTLE_WON, SETTLE_ROLLED_BACK,
  OWNER_SHIFT, WAITERS_BIT,
  S_UUID, S_REQUEST_UUID, S_REF_UUID, S_OUT_BALANCE, S_OUT_ENTRY, S_OUT_USER_SLOT, S_OUT_REQUEST_UUID, S_OUT_REQUEST_TEXT,
  ST_OK, ST_NOT_ENOUGH_MONEY, ST_DUPLICATE, ST_WRONG_CURRENCY, ST_TX_DOES_NOT_EXIST, ST_REPLAY,
  ST_TWIN_IN_FLIGHT, ST_TABLE_FULL, ST_OVERFLOW, ST_SETTLED, ST_UNKNOWN, ST_PAUSED, ST_CLOSED,
  CAS_RETRY_MAX, MAX_SAFE_UNITS, RESTART_MAX, RUN_OPEN, RUN_PAUSED, BET_UNITS, UNIT_HELD_BIT,
  HEADER_OFFSET, H_EPOCH, T_BETS, T_WINS, T_ROLLBACKS, T_RELEASED,
  S_OUT_AMOUNT, S_OUT_STATE, S_OUT_REF_TEXT, ST_RING_FULL, ST_FAILED, RUN_CLOSED, CRASH_BEFORE_JOURNAL,
  S_RECORDS, JOURNAL_RECORD_BYTES, R_KIND, R_USER_SLOT, R_UUID, R_REQUEST_UUID, R_REFERENCE, R_FINGERPRINT, R_AMOUNT, R_BALANCE_AFTER,
  CRASH_AFTER_CLAIM, CRASH_AFTER_SETTLE_BEGIN, CRASH_AFTER_BALANCE, CRASH_AFTER_COMMIT, CRASH_AFTER_RECLAIM,
  CRASH_BEFORE_PUBLISH, H_GEN_WORD, H_TX_BUDGET_NEXT, H_GEN_BUDGET_NEXT_1, E_REF_UUID, ENTRY_SIZE_BYTES, SETTLE_MOVED, S_OUT_FINGERPRINT, S_IN_RETIRED_SEQ, S_IN_REF_RETIRED_SEQ, H_RETIRED_SEQ,
  ST_RETIRED_MAYBE, ST_REF_RETIRED_MAYBE, APPLY_CURRENCY_OK, APPLY_OWN_CHECKED, APPLY_REF_CHECKED, NO_REF_ENTRY,
  RECOVER_NO_DELTA, RECOVER_DELTA_ONLY, RECOVER_BET_RETIRED,
} from "./layout";
import { fingerprint } from "./fingerprint";
import {
  tx_probe, tx_probe_hashed, hash_uuid, tx_still_absent, tx_publish, entry_reserve, entry_ptr, entry_state, entry_finish, claimed_state,
  probed_tag, budget_take, budget_give, gen_refresh, filter_maybe, released_bound_ptr, gen_of_entry, cur_gen,
  tx_probe_current, gen_word_seen,
} from "./idempotency_table";
import { balance_ptr } from "./user_table";
import {
  scratch, invariant, crash_here, enter, leave, thread_record, release_slack, journal_on, epoch_after_cas,
  filter_blocks, gen_entries, flip_canary, announce_only, rotate_at,
} from "./state";
import { ring_has_room, ring_append } from "./journal";

function out_balance(balance_units: i64): void {
  store<f64>(scratch + S_OUT_BALANCE, <f64>balance_units);
}

function settle_of(state: u32): u32 {
  return (state & SETTLE_MASK) >> SETTLE_SHIFT;
}

function with_settle(state: u32, settle: u32): u32 {
  return (state & ~SETTLE_MASK) | (settle << SETTLE_SHIFT);
}

/** The state a committed entry of `kind` ends in: phase, kind, owner. */
function committed_state(claimed: u32): u32 {
  return (claimed & ~(PHASE_MASK | WAITERS_BIT | SETTLE_MASK)) | PHASE_COMMITTED;
}

function released_state(claimed: u32): u32 {
  return (claimed & ~(PHASE_MASK | WAITERS_BIT | SETTLE_MASK)) | PHASE_RELEASED;
}

/** Replay or refuse a uuid that is already applied. */
function answer_applied(entry: u32, kind: u32, user_slot: u32, amount_units: i64, fp: u64, state: u32): i32 {
  const e = entry_ptr(entry);
  const same =
    ((state & KIND_MASK) >> KIND_SHIFT) == kind &&
    load<u32>(e + E_USER_SLOT) == user_slot &&
    (kind == KIND_ROLLBACK || load<i64>(e + E_AMOUNT) == amount_units) &&
    load<u64>(e + E_FINGERPRINT) == fp;
  if (!same) return ST_DUPLICATE;
  out_balance(load<i64>(e + E_BALANCE_AFTER));
  store<u32>(scratch + S_OUT_USER_SLOT, load<u32>(e + E_USER_SLOT));
  copy16(scratch + S_OUT_REQUEST_UUID, e + E_REQUEST_UUID);
  format_uuid(e + E_REQUEST_UUID, scratch + S_OUT_REQUEST_TEXT);
  return ST_REPLAY;
}

const BET_NONE: i32 = -1;
const BET_IN_FLIGHT: i32 = -2;
const BET_ABSENT: i32 = -3; // no entry of that uuid in memory at all (it may be retired)

/** The committed bet of `user_slot` named by the reference uuid in scratch;
 *  BET_NONE if there is none (unknown, failed, not a bet, other user, or
 *  claimed but its money not moved yet); BET_IN_FLIGHT if it is claimed and
 *  its balance compare-exchange may already have happened (its intent is
 *  set): then other threads may have seen the money move, so "does not
 *  exist" would be a lie; the caller answers RS_ERROR_UNKNOWN (retryable). */
function find_bet(user_slot: u32): i32 {
  const found = tx_probe(scratch + S_REF_UUID);
  if (found < 0) return BET_ABSENT;
  const bet = <u32>found;
  const state = entry_state(bet);
  if (((state & KIND_MASK) >> KIND_SHIFT) != KIND_BET) return BET_NONE;
  const phase = state & PHASE_MASK;
  if (phase == PHASE_CLAIMED) {
    // Atomic, and the intent store is atomic too: if this reads -1, the
    // claimer's compare-exchange comes later in the one order of all
    // atomics, so the bet did not exist at this instant.
    if (atomic.load<i64>(entry_ptr(bet) + E_BALANCE_AFTER) < 0) return BET_NONE;
    return load<u32>(entry_ptr(bet) + E_USER_SLOT) == user_slot ? BET_IN_FLIGHT : BET_NONE;
  }
  if (phase != PHASE_COMMITTED) return BET_NONE;
  if (load<u32>(entry_ptr(bet) + E_USER_SLOT) != user_slot) return BET_NONE;
  // Probes look in the current generation first, where a carried bet's copy is.
  invariant(((state & SETTLE_MASK) >> SETTLE_SHIFT) != SETTLE_MOVED);
  return <i32>bet;
}

/** Two word moves: memory.copy on a shared memory is a call out of WASM. */
// @ts-ignore: decorator
@inline
function copy16(target: usize, source: usize): void {
  store<u64>(target, load<u64>(source));
  store<u64>(target, load<u64>(source, 8), 8);
}

/** Hex digit of a nibble, lowercase ASCII. */
// @ts-ignore: decorator
@inline
function hex_digit(nibble: u32): u8 {
  return <u8>(nibble < 10 ? 48 + nibble : 87 + nibble);
}

/** `digits` hex digits of `value`, most significant first, at `out`. */
function put_hex(out: usize, value: u32, digits: u32): void {
  for (let i: u32 = 0; i < digits; i++) {
    store<u8>(out + i, hex_digit((value >> ((digits - 1 - i) * 4)) & 0xf));
  }
}

/** The canonical text of a uuid stored as four u32 words whose values hold
 *  digits 0-7, 8-15, 16-23, 24-31 (see src/uuid.ts parse_uuid). Formatting
 *  here and reading the result as one latin1 string is what makes a replay
 *  cheap: no per-digit work in JS. */
function format_uuid(uuid: usize, out: usize): void {
  const w0 = load<u32>(uuid);
  const w1 = load<u32>(uuid, 4);
  const w2 = load<u32>(uuid, 8);
  const w3 = load<u32>(uuid, 12);
  put_hex(out, w0, 8);
  store<u8>(out + 8, 45);
  put_hex(out + 9, w1 >> 16, 4);
  store<u8>(out + 13, 45);
  put_hex(out + 14, w1 & 0xffff, 4);
  store<u8>(out + 18, 45);
  put_hex(out + 19, w2 >> 16, 4);
  store<u8>(out + 23, 45);
  put_hex(out + 24, w2 & 0xffff, 4);
  put_hex(out + 28, w3, 8);
}

/** Write the claimer's fields of an entry (state excluded). */
function fill_entry(entry: u32, user_slot: u32, ref_entry: u32, fp: u64, amount_units: i64): void {
  const e = entry_ptr(entry);
  store<u32>(e + E_USER_SLOT, user_slot);
  store<u32>(e + E_REF_ENTRY, ref_entry);
  copy16(e + E_UUID, scratch + S_UUID);
  copy16(e + E_REQUEST_UUID, scratch + S_REQUEST_UUID);
  store<u64>(e + E_FINGERPRINT, fp);
  store<i64>(e + E_AMOUNT, amount_units);
  store<i64>(e + E_BALANCE_AFTER, -1);
  copy16(e + E_REF_UUID, scratch + S_REF_UUID); // a bet's is never read
}

/** Give up a claim after a failed check, returning the request's budget
 *  `units`. The entry stays bound to its uuid (RELEASED), so it costs a
 *  physical entry: the release slack pays for the first of those; past it,
 *  the entry keeps one budget unit (UNIT_HELD_BIT), so physical entries can
 *  never run out while the budget says there is room (layout.ts, "Capacity").
 *  The intent goes back to -1 first: whoever claims the entry again and dies
 *  before rewriting its fields must leave audit an entry that certainly moved
 *  no money. */
function release(entry: u32, claimed: u32, units: u32): void {
  store<i64>(entry_ptr(entry) + E_BALANCE_AFTER, -1);
  let released = released_state(claimed);
  const bound_ptr = released_bound_ptr();
  if (atomic.add<u32>(bound_ptr, 1) >= release_slack) {
    atomic.sub<u32>(bound_ptr, 1);
    if (units > 0) {
      units--;
      released |= UNIT_HELD_BIT;
    } else if (budget_take(1)) {
      released |= UNIT_HELD_BIT;
    }
  }
  budget_give(units);
  atomic.add<u32>(thread_record + T_RELEASED, 1);
  entry_finish(entry, released);
}

/** A RELEASED entry of this uuid was claimed again: what it held goes back. */
function reclaimed(released_seen: u32): void {
  if ((released_seen & UNIT_HELD_BIT) != 0) budget_give(1);
  else atomic.sub<u32>(released_bound_ptr(), 1);
}

/** Count a commit in this slot's record, for stats(). */
function count_commit(kind: u32): void {
  const counter = kind == KIND_BET ? T_BETS : kind == KIND_WIN ? T_WINS : T_ROLLBACKS;
  atomic.add<u64>(thread_record + counter, 1);
}

/** Move the bet's settlement from OPEN to `settling`. Returns false if the
 *  bet is already won, rolled back or being settled. */
function settle_begin(bet: u32, settling: u32): bool {
  const ptr = entry_ptr(bet) + E_STATE;
  let seen = atomic.load<u32>(ptr);
  for (let attempt = 0; attempt < CAS_RETRY_MAX; attempt++) {
    invariant((seen & PHASE_MASK) == PHASE_COMMITTED);
    if (settle_of(seen) != SETTLE_OPEN) return false;
    const witnessed = atomic.cmpxchg<u32>(ptr, seen, with_settle(seen, settling));
    if (witnessed == seen) return true;
    seen = witnessed;
  }
  return false;
}

/** Move the bet's settlement from `settling` to `settled` (or back to OPEN).
 *  Only the thread that began the settlement gets here. */
function settle_end(bet: u32, settling: u32, settled: u32): void {
  const ptr = entry_ptr(bet) + E_STATE;
  const seen = atomic.load<u32>(ptr);
  invariant(settle_of(seen) == settling);
  const witnessed = atomic.cmpxchg<u32>(ptr, seen, with_settle(seen, settled));
  invariant(witnessed == seen); // nobody else moves a settlement that is not OPEN
}

/** The canary's epoch: read after the compare-exchange, past a pause that
 *  widens the window a preempted thread would open (so the test that must
 *  catch the wrong order does not depend on the scheduler's luck). */
function canary_epoch(epoch_ptr: usize): u64 {
  let sink: u64 = 0;
  for (let spin = 0; spin < CANARY_SPIN; spin++) sink += atomic.load<u64>(epoch_ptr);
  return atomic.load<u64>(epoch_ptr) + (sink & 0);
}
const CANARY_SPIN: i32 = 4000;

/** The flip canary's pause between reading the generation word and
 *  publishing: a while for a flip (done without pausing the wallet, the
 *  canary) to land inside it, and once one did, a while more for a twin that
 *  began after it to bind the uuid in the new generation first — the window
 *  a preempted thread opens, held open so the twin storm that must catch it
 *  does not depend on the scheduler's luck. */
function canary_pause(): void {
  // Only near a flip (the current generation past rotate_at, the rotator asked):
  // elsewhere the canary costs nothing, so the storm can run long enough.
  const used_ptr = <usize>HEADER_OFFSET + (cur_gen == 0 ? H_TX_BUDGET_NEXT : H_GEN_BUDGET_NEXT_1);
  if (atomic.load<u32>(used_ptr) < rotate_at) return;
  const word_ptr = <usize>HEADER_OFFSET + H_GEN_WORD;
  for (let spin = 0; spin < CANARY_SPIN * 400; spin++) {
    if (atomic.load<u32>(word_ptr) != gen_word_seen) {
      let sink: u32 = 0;
      for (let more = 0; more < CANARY_SPIN * 100; more++) sink += atomic.load<u32>(word_ptr);
      store<u32>(scratch + S_OUT_FINGERPRINT, sink);
      return;
    }
  }
}

/** The epoch read by the last successful move_balance (journal.ts). */
let moved_epoch: u64 = 0;

/** Add `delta_units` to the user's balance by compare-exchange, recording the
 *  intended result in the entry before each attempt. Returns the new balance,
 *  or -1 (would go negative), or -2 (would pass MAX_SAFE_UNITS), or -3 (retry
 *  bound). The balance is never observed outside [0, MAX_SAFE_UNITS].
 *  The epoch is read after the last load of the balance and before the
 *  compare-exchange of each attempt: the ordering rule of journal.ts. */
function move_balance(user_slot: u32, entry: u32, delta_units: i64): i64 {
  const ptr = balance_ptr(user_slot);
  const intent_ptr = entry_ptr(entry) + E_BALANCE_AFTER;
  const epoch_ptr = <usize>HEADER_OFFSET + H_EPOCH;
  let seen = atomic.load<i64>(ptr);
  for (let attempt = 0; attempt < CAS_RETRY_MAX; attempt++) {
    invariant(seen >= 0 && seen <= MAX_SAFE_UNITS);
    const next = seen + delta_units;
    if (next < 0) {
      out_balance(seen); // the balance that refused the debit
      return -1;
    }
    if (next > MAX_SAFE_UNITS) return -2;
    // Atomic: find_bet reads the intent of a claimed bet to tell "not yet"
    // from "maybe already" (and audit reads it at quiescence).
    atomic.store<i64>(intent_ptr, next);
    let epoch = atomic.load<u64>(epoch_ptr);
    const witnessed = atomic.cmpxchg<i64>(ptr, seen, next);
    if (witnessed == seen) {
      if (epoch_after_cas) epoch = canary_epoch(epoch_ptr); // the canary: wrong order
      moved_epoch = epoch;
      return next;
    }
    seen = witnessed;
  }
  return -3;
}

/** Apply one bet, win or rollback whose fields the caller put in scratch.
 *  `amount_units` is the request's amount (ignored for rollback). Returns an
 *  ST_* status; outputs go to scratch (layout.ts). The thread is announced
 *  busy for the whole call (see state.ts `enter`). */
export function apply(kind: u32, user_slot: u32, amount_f64: f64, flags: u32, records_bytes: u32): i32 {
  const run = enter();
  if (run != RUN_OPEN) return run == RUN_PAUSED ? ST_PAUSED : run == RUN_CLOSED ? ST_CLOSED : ST_FAILED;
  gen_refresh();
  const status = transact(kind, user_slot, <i64>amount_f64, flags, records_bytes);
  leave();
  return status;
}

/** Did JS search the retired files for this call (flag `checked`) with no
 *  retirement since? Then a filter hit needs no second search. */
function retired_checked(flags: u32, checked: u32): bool {
  const seen_at = scratch + (checked == APPLY_OWN_CHECKED ? S_IN_RETIRED_SEQ : S_IN_REF_RETIRED_SEQ);
  return (flags & checked) != 0 && load<u32>(seen_at) == atomic.load<u32>(<usize>HEADER_OFFSET + H_RETIRED_SEQ);
}

function transact(kind: u32, user_slot: u32, amount_units: i64, flags: u32, records_bytes: u32): i32 {
  invariant(kind == KIND_BET || kind == KIND_WIN || kind == KIND_ROLLBACK);
  invariant(amount_units >= 0 && amount_units <= MAX_SAFE_UNITS);
  const fp = fingerprint(records_bytes);
  const uuid_ptr = scratch + S_UUID;
  const units: u32 = kind == KIND_BET ? <u32>BET_UNITS : 0;
  const uuid_hash = hash_uuid(uuid_ptr); // once per call, whatever the restarts
  const currency_ok = (flags & APPLY_CURRENCY_OK) != 0;

  for (let restart = 0; restart < RESTART_MAX; restart++) {
    // 1. Idempotency: find the uuid's entry, or where it would go.
    const found = tx_probe_hashed(uuid_ptr, uuid_hash);
    const tag = probed_tag;
    let reclaim: i32 = -1; // a RELEASED entry of this uuid, claimable again
    let empty_pos: u32 = 0;
    if (found >= 0) {
      const entry = <u32>found;
      const state = entry_state(entry);
      const phase = state & PHASE_MASK;
      if (phase == PHASE_COMMITTED) return answer_applied(entry, kind, user_slot, amount_units, fp, state);
      if (phase == PHASE_CLAIMED) {
        store<u32>(scratch + S_OUT_ENTRY, entry);
        return ST_TWIN_IN_FLIGHT;
      }
      invariant(phase == PHASE_RELEASED);
      reclaim = <i32>entry;
    } else {
      empty_pos = <u32>(-1 - found);
      // Not in memory: it may have been applied long ago and retired to
      // disk. The filter answers "certainly not" for almost every new uuid;
      // a hit is JS's to search (src/retired.ts), which then calls again.
      if (filter_blocks > 0 && !retired_checked(flags, APPLY_OWN_CHECKED) && filter_maybe(uuid_hash)) {
        store<u64>(scratch + S_OUT_FINGERPRINT, fp);
        return ST_RETIRED_MAYBE;
      }
    }

    // 2. Checks that need no claim (see check()); then the budget. Each
    // failure is confirmed against the idempotency table before it is
    // answered (see the file comment).
    let status = check(kind, user_slot, amount_units, currency_ok, flags);
    if (status == ST_OK && journal_on && !ring_has_room()) status = ST_RING_FULL; // retried by the caller
    if (status == ST_OK && !budget_take(units)) status = ST_TABLE_FULL;
    if (status != ST_OK) {
      if (!still_unapplied(reclaim, empty_pos)) continue; // a twin got in meanwhile: answer as its duplicate
      if (status == ST_NOT_ENOUGH_MONEY) out_balance(checked_balance_units);
      return status;
    }
    const bet = checked_bet;
    const delta_units = checked_delta_units;

    // 3. Claim the uuid.
    const record_amount = kind == KIND_ROLLBACK ? delta_units : amount_units;
    const ref_entry: u32 = bet >= 0 ? <u32>bet : 0;
    const claimed = claimed_state(kind);
    let entry: u32;
    if (reclaim >= 0) {
      entry = <u32>reclaim;
      const ptr = entry_ptr(entry) + E_STATE;
      const seen = atomic.load<u32>(ptr);
      if ((seen & PHASE_MASK) != PHASE_RELEASED || atomic.cmpxchg<u32>(ptr, seen, claimed) != seen) {
        budget_give(units);
        continue;
      }
      reclaimed(seen);
      crash_here(CRASH_AFTER_RECLAIM);
      // Ours now: readers of a CLAIMED entry read no fields, so plain stores.
      fill_entry(entry, user_slot, ref_entry, fp, record_amount);
    } else {
      const reserved = entry_reserve();
      if (reserved < 0) {
        budget_give(units);
        if (!tx_still_absent(empty_pos)) continue;
        return ST_TABLE_FULL;
      }
      entry = <u32>reserved;
      invariant(gen_of_entry(entry) == cur_gen);
      invariant(entry_state(entry) == PHASE_FREE || (entry_state(entry) & PHASE_MASK) == PHASE_CLAIMED);
      fill_entry(entry, user_slot, ref_entry, fp, record_amount);
      // Plain store: the entry is not yet reachable; tx_publish's
      // compare-exchange publishes it together with the other fields.
      store<u32>(entry_ptr(entry) + E_STATE, claimed);
      crash_here(CRASH_BEFORE_PUBLISH);
      if (flip_canary) canary_pause();
      if (!tx_publish(empty_pos, entry, tag)) { // probe again: maybe a twin
        budget_give(units);
        continue;
      }
    }
    return settle_and_move(kind, entry, claimed, bet, user_slot, delta_units, units, fp, record_amount);
  }
  return ST_UNKNOWN;
}

// What check() found, for the claim (instance globals: one call at a time
// per thread, and nothing else writes them).
let checked_bet: i32 = -1;
let checked_delta_units: i64 = 0;
let checked_balance_units: i64 = 0;

/** The checks of spec §4.6-4.7 that need no claim. The balance is read last:
 *  the state of the bet read before it stays committed, so each failure
 *  holds at the instant of its last read. */
function check(kind: u32, user_slot: u32, amount_units: i64, currency_ok: bool, flags: u32): i32 {
  checked_bet = -1;
  checked_delta_units = 0;
  if (kind != KIND_ROLLBACK && !currency_ok) return ST_WRONG_CURRENCY;
  if (kind == KIND_BET) {
    checked_delta_units = -amount_units;
    checked_balance_units = atomic.load<i64>(balance_ptr(user_slot));
    return amount_units > checked_balance_units ? ST_NOT_ENOUGH_MONEY : ST_OK;
  }
  const bet = find_bet(user_slot);
  if (bet == BET_IN_FLIGHT) return ST_UNKNOWN;
  if (bet == BET_ABSENT && filter_blocks > 0 && !retired_checked(flags, APPLY_REF_CHECKED) &&
      filter_maybe(hash_uuid(scratch + S_REF_UUID))) {
    return ST_REF_RETIRED_MAYBE; // a retired bet is settled: JS answers from disk
  }
  if (bet < 0) return ST_TX_DOES_NOT_EXIST;
  checked_bet = bet;
  let status = ST_OK;
  if (settle_of(entry_state(<u32>bet)) != SETTLE_OPEN) status = ST_SETTLED;
  checked_delta_units = kind == KIND_WIN ? amount_units : load<i64>(entry_ptr(<u32>bet) + E_AMOUNT);
  checked_balance_units = atomic.load<i64>(balance_ptr(user_slot));
  if (status == ST_OK && checked_balance_units + checked_delta_units > MAX_SAFE_UNITS) status = ST_OVERFLOW;
  return status;
}

/** True while the uuid is still unapplied: its RELEASED entry still released,
 *  or the empty index word where it would go still empty. */
function still_unapplied(reclaim: i32, empty_pos: u32): bool {
  return reclaim >= 0
    ? (entry_state(<u32>reclaim) & PHASE_MASK) == PHASE_RELEASED
    : tx_still_absent(empty_pos);
}

/** 4-5. The claim is ours: begin the bet's settlement, move the money, commit.
 *  Conditions checked before the claim may have changed since: recheck. */
function settle_and_move(
  kind: u32, entry: u32, claimed: u32, bet: i32, user_slot: u32, delta_units: i64, units: u32, fp: u64, record_amount: i64,
): i32 {
  crash_here(CRASH_AFTER_CLAIM);
  let settling: u32 = 0;
  if (bet >= 0) {
    settling = kind == KIND_WIN ? SETTLE_SETTLING_WIN : SETTLE_SETTLING_ROLLBACK;
    if (!settle_begin(<u32>bet, settling)) {
      release(entry, claimed, units);
      return ST_SETTLED;
    }
    crash_here(CRASH_AFTER_SETTLE_BEGIN);
  }
  const balance_after = move_balance(user_slot, entry, delta_units);
  if (balance_after < 0) {
    if (bet >= 0) settle_end(<u32>bet, settling, SETTLE_OPEN);
    release(entry, claimed, units);
    if (balance_after == -1) return ST_NOT_ENOUGH_MONEY;
    return balance_after == -2 ? ST_OVERFLOW : ST_UNKNOWN;
  }

  // 5. Journal, then publish. Nothing can fail after the compare-exchange
  // (the ring's room was checked before the claim). The entry's
  // balance_after was stored before the winning compare-exchange; committing
  // the state makes the transaction visible as applied, then the bet's
  // settlement becomes final.
  crash_here(CRASH_BEFORE_JOURNAL);
  if (journal_on) ring_append(kind, user_slot, moved_epoch, fp, record_amount, balance_after);
  crash_here(CRASH_AFTER_BALANCE);
  entry_finish(entry, committed_state(claimed));
  crash_here(CRASH_AFTER_COMMIT);
  if (bet >= 0) settle_end(<u32>bet, settling, kind == KIND_WIN ? SETTLE_WON : SETTLE_ROLLED_BACK);
  count_commit(kind);
  out_balance(balance_after);
  return ST_OK;
}

/** The committed transaction of the uuid in scratch, for lookup(): returns
 *  its entry's state word (outputs in scratch: balance_after, amount, user
 *  slot, request_uuid text, and for a win or rollback its bet's uuid text),
 *  or 0 when the uuid is not applied. Reads only: no busy announcement. */
export function tx_lookup(): u32 {
  if (!announce_only()) return LOOKUP_PAUSED;
  gen_refresh();
  const state = lookup_in_memory();
  leave();
  return state;
}
/** tx_lookup's answer while a pause holds the wallet: wait, ask again. */
const LOOKUP_PAUSED: u32 = 0xffffffff;

function lookup_in_memory(): u32 {
  const found = tx_probe(scratch + S_UUID);
  if (found < 0) return 0;
  const entry = <u32>found;
  const state = entry_state(entry);
  if ((state & PHASE_MASK) != PHASE_COMMITTED) return 0;
  const e = entry_ptr(entry);
  out_balance(load<i64>(e + E_BALANCE_AFTER));
  store<f64>(scratch + S_OUT_AMOUNT, <f64>load<i64>(e + E_AMOUNT));
  store<u32>(scratch + S_OUT_USER_SLOT, load<u32>(e + E_USER_SLOT));
  store<u32>(scratch + S_OUT_STATE, state);
  format_uuid(e + E_REQUEST_UUID, scratch + S_OUT_REQUEST_TEXT);
  if (((state & KIND_MASK) >> KIND_SHIFT) != KIND_BET) format_uuid(e + E_REF_UUID, scratch + S_OUT_REF_TEXT);
  return state;
}

/** The canonical text of the uuid at `from` (16 bytes), at `to` (36 bytes):
 *  JS answers from a retired record with the core's own formatting. */
export function format_uuid_text(from: usize, to: usize): void {
  format_uuid(from, to);
}

/** Recovery, in bulk: the `count` records at scratch + S_RECORDS, one after
 *  the other (one call from JavaScript per scratch-full), as committed
 *  transactions (single-threaded, before the wallet serves): each its entry,
 *  its budget units, its bet's settlement and (unless RECOVER_NO_DELTA) its
 *  delta on the balance. `flags` (RECOVER_*) apply to the first record only:
 *  JS passes them when it calls again for a record the last call stopped at.
 *  Returns how many were applied; fewer than `count` means the next one
 *  stopped with the status left at scratch + S_OUT_STATE: ST_DUPLICATE (its
 *  uuid is already recorded), ST_TX_DOES_NOT_EXIST (a win or rollback whose
 *  bet is not an open bet of that user: JS checks whether the bet retired),
 *  ST_RETIRED_MAYBE (the filter knows the uuid: JS checks the retired files),
 *  ST_TABLE_FULL (JS rotates the generations and calls again). */
export function recover_records(count: u32, flags: u32, no_delta: u32): u32 {
  gen_refresh();
  for (let i: u32 = 0; i < count; i++) {
    const first_flags = i == 0 ? flags : 0;
    const status = recover_record(scratch + S_RECORDS + <usize>i * JOURNAL_RECORD_BYTES, first_flags | no_delta);
    if (status != ST_OK) {
      store<u32>(scratch + S_OUT_STATE, <u32>status);
      return i;
    }
  }
  return count;
}

function recover_record(r: usize, flags: u32): i32 {
  const kind = load<u8>(r + R_KIND);
  const user_slot = load<u32>(r + R_USER_SLOT);
  invariant(kind == KIND_BET || kind == KIND_WIN || kind == KIND_ROLLBACK);
  const amount_units = load<i64>(r + R_AMOUNT);
  const delta_units = kind == KIND_BET ? -amount_units : amount_units;
  if ((flags & RECOVER_DELTA_ONLY) != 0) { // retired: on disk already, its money still counts
    if ((flags & RECOVER_NO_DELTA) == 0) atomic.add<i64>(balance_ptr(user_slot), delta_units);
    count_commit(kind);
    return ST_OK;
  }
  copy16(scratch + S_UUID, r + R_UUID);
  copy16(scratch + S_REQUEST_UUID, r + R_REQUEST_UUID);
  copy16(scratch + S_REF_UUID, r + R_REFERENCE);
  const hash = hash_uuid(scratch + S_UUID);
  const found = tx_probe_hashed(scratch + S_UUID, hash);
  const tag = probed_tag;
  if (found >= 0) return ST_DUPLICATE;
  if ((flags & APPLY_OWN_CHECKED) == 0 && filter_maybe(hash)) return ST_RETIRED_MAYBE;
  let ref_entry: u32 = NO_REF_ENTRY;
  if (kind != KIND_BET && (flags & RECOVER_BET_RETIRED) == 0) {
    const bet = tx_probe(scratch + S_REF_UUID);
    if (bet < 0) return ST_TX_DOES_NOT_EXIST;
    const state = entry_state(<u32>bet);
    if (((state & KIND_MASK) >> KIND_SHIFT) != KIND_BET || settle_of(state) != SETTLE_OPEN) return ST_TX_DOES_NOT_EXIST;
    if (load<u32>(entry_ptr(<u32>bet) + E_USER_SLOT) != user_slot) return ST_TX_DOES_NOT_EXIST;
    ref_entry = <u32>bet;
  }
  if (!budget_take(kind == KIND_BET ? <u32>BET_UNITS : 0)) return ST_TABLE_FULL;
  const reserved = entry_reserve();
  if (reserved < 0) {
    budget_give(kind == KIND_BET ? <u32>BET_UNITS : 0);
    return ST_TABLE_FULL;
  }
  const entry = <u32>reserved;
  fill_entry(entry, user_slot, ref_entry, load<u64>(r + R_FINGERPRINT), amount_units);
  store<i64>(entry_ptr(entry) + E_BALANCE_AFTER, load<i64>(r + R_BALANCE_AFTER));
  store<u32>(entry_ptr(entry) + E_STATE, claimed_state(kind));
  invariant(tx_publish(<u32>(-1 - found), entry, tag));
  entry_finish(entry, committed_state(claimed_state(kind)));
  if (ref_entry != NO_REF_ENTRY) {
    const ptr = entry_ptr(ref_entry) + E_STATE;
    atomic.store<u32>(ptr, with_settle(atomic.load<u32>(ptr), kind == KIND_WIN ? SETTLE_WON : SETTLE_ROLLED_BACK));
  }
  if ((flags & RECOVER_NO_DELTA) == 0) atomic.add<i64>(balance_ptr(user_slot), delta_units);
  count_commit(kind);
  return ST_OK;
}

/** Rotation (src/rotator.ts, with the wallet paused: no call in flight):
 *  carry every open bet of generation `from_gen` into the current one, as a
 *  committed copy published in the current index; the original becomes a
 *  MOVED stub (no delta, no settlement: audit and retirement skip it).
 *  Returns the bets carried; stops early (returning -1 - carried) when the
 *  current generation has no room left for one more. */
export function carry_open_bets(from_gen: u32): i32 {
  gen_refresh();
  invariant(from_gen != cur_gen);
  const first = from_gen * gen_entries;
  let carried: i32 = 0;
  for (let entry = first; entry < first + gen_entries; entry++) {
    const state = entry_state(entry);
    if ((state & PHASE_MASK) != PHASE_COMMITTED || ((state & KIND_MASK) >> KIND_SHIFT) != KIND_BET) continue;
    if (settle_of(state) != SETTLE_OPEN) continue;
    if (!budget_take(<u32>BET_UNITS)) return -1 - carried;
    const reserved = entry_reserve();
    if (reserved < 0) {
      budget_give(<u32>BET_UNITS);
      return -1 - carried;
    }
    const copy = <u32>reserved;
    const found = tx_probe_current(entry_ptr(entry) + E_UUID);
    invariant(found < 0); // nobody inserts a uuid the previous generation holds
    memory.copy(entry_ptr(copy), entry_ptr(entry), ENTRY_SIZE_BYTES);
    store<u32>(entry_ptr(copy) + E_STATE, claimed_state(KIND_BET));
    invariant(tx_publish(<u32>(-1 - found), copy, probed_tag));
    entry_finish(copy, committed_state(claimed_state(KIND_BET)));
    atomic.store<u32>(entry_ptr(entry) + E_STATE, with_settle(state, SETTLE_MOVED));
    carried++;
  }
  return carried;
}
