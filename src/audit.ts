// audit(wallet): recompute every balance from the ledger, and resolve claims
// left in flight by threads that died mid-operation.
//
// Precondition: QUIESCENCE. No call may be in flight in any thread (for
// example: the workers you terminated have emitted 'exit', the others have
// finished or are paused). Then every CLAIMED entry belongs to a dead thread.
//
// Why a dead claim needs deciding: its owner wrote the intended balance into
// the entry, then tried the balance compare-exchange, then would have
// committed. If it died in between, the money may or may not have moved. The
// ledger decides: for each user, actual balance − (initial + Σ committed
// deltas) must be the sum of the deltas of exactly the dead claims whose
// compare-exchange won. A claim whose intent is still −1 never tried, so it
// is released outright; the rest are chosen by subset sum. When more than one
// subset fits (equal amounts, zero amounts), any choice is a valid history:
// nobody received a response for a dead call, and money stays conserved.
//
// Settlement: a bet left SETTLING_* is finished to WON / ROLLED_BACK if its
// settler is (now) committed, and reopened otherwise.
//
// Dead threads' slots: nothing tells the wallet that a thread died, so their
// registry slots stay taken; the caller, who saw the worker's 'exit', names
// them (`deadThreadIds: [worker.threadId]`) and audit frees them, keeping
// their reserved entries for the next holder. A user ticket a dead thread held
// mid-createUsers is returned too, and so is the user record it had taken.

import { L } from './layout.js';
import { Wallet } from './wallet.js';
import type { ThreadCore } from './core.js';

export interface AuditOptions {
  /** Node threadIds (worker.threadId) of threads known to have died: their
   *  registry slots are freed for new attaches. */
  deadThreadIds?: readonly number[];
}

export interface AuditReport {
  /** Every balance equals the ledger's, none negative, every settlement agrees. */
  ok: boolean;
  users: number;
  committed: number;
  released: number;
  /** Dead claims decided applied / not applied by this audit. */
  in_flight_committed: number;
  in_flight_released: number;
  balance_mismatches: number;
  negative_balances: number;
  settlement_errors: number;
  /** Dead claims on one user that more than one choice would explain. */
  ambiguous_decisions: number;
  /** Thread slots freed (deadThreadIds); user tickets and records of dead creations returned. */
  thread_slots_freed: number;
  user_tickets_returned: number;
  user_records_recovered: number;
  /** Up to 10 human-readable findings, for the log. */
  findings: string[];
}

/** Subset sums are searched exhaustively up to this many dead claims on one
 *  user (2^20 sums); more would mean that many threads died on one user. */
const SUBSET_SEARCH_MAX = 20;
const FINDINGS_MAX = 10;

interface Claim {
  entry: number;
  kind: number;
  user_slot: number;
  delta_units: number;
  ref_entry: number;
}

class LedgerView {
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  constructor(readonly core: ThreadCore) {
    const buffer = core.memory.buffer;
    this.u32 = core.u32;
    this.i32 = core.i32;
    this.i64 = new BigInt64Array(buffer);
  }
  entry_word(entry: number, field_offset: number): number {
    return (this.core.layout.tx_entries_offset + entry * L.ENTRY_SIZE_BYTES + field_offset) >> 2;
  }
  state(entry: number): number {
    return Atomics.load(this.u32, this.entry_word(entry, L.E_STATE));
  }
  set_state(entry: number, state: number): void {
    Atomics.store(this.i32, this.entry_word(entry, L.E_STATE), state | 0);
  }
  /** As the core releases: intent back to -1 (see ledger.ts `release`), then the state. */
  release(entry: number, state: number): void {
    this.i64[(this.core.layout.tx_entries_offset + entry * L.ENTRY_SIZE_BYTES + L.E_BALANCE_AFTER) >> 3] = -1n;
    this.set_state(entry, with_phase(state, L.PHASE_RELEASED));
  }
  field_u32(entry: number, field_offset: number): number {
    return this.u32[this.entry_word(entry, field_offset)];
  }
  field_i64(entry: number, field_offset: number): number {
    return Number(this.i64[(this.core.layout.tx_entries_offset + entry * L.ENTRY_SIZE_BYTES + field_offset) >> 3]);
  }
  balance(user_slot: number): number {
    return Number(Atomics.load(this.i64, (this.core.layout.user_balances_offset >> 3) + user_slot));
  }
  user_name(user_slot: number): string {
    const at = this.core.layout.user_names_offset + user_slot * L.USER_NAME_RECORD_BYTES;
    return this.core.bytes.toString('utf8', at + 1, at + 1 + this.core.u8[at]);
  }
}

const phase_of = (state: number) => state & L.PHASE_MASK;
const kind_of = (state: number) => (state & L.KIND_MASK) >> L.KIND_SHIFT;
const settle_of = (state: number) => (state & L.SETTLE_MASK) >> L.SETTLE_SHIFT;
const with_settle = (state: number, settle: number) => (state & ~L.SETTLE_MASK) | (settle << L.SETTLE_SHIFT);
const with_phase = (state: number, phase: number) => (state & ~(L.PHASE_MASK | L.WAITERS_BIT | L.SETTLE_MASK)) | phase;

/** Indices into `deltas` whose sum is `target` (other than `besides`), or undefined. */
function subset_with_sum(deltas: number[], target: number, besides?: number[]): number[] | undefined {
  if (deltas.length > SUBSET_SEARCH_MAX) return undefined;
  const besides_mask = besides?.reduce((mask, i) => mask | (1 << i), 0);
  for (let mask = 0; mask < 1 << deltas.length; mask++) {
    if (mask === besides_mask) continue;
    let sum = 0;
    for (let i = 0; i < deltas.length; i++) if (mask & (1 << i)) sum += deltas[i];
    if (sum === target) return deltas.map((_, i) => i).filter((i) => mask & (1 << i));
  }
  return undefined;
}

export function audit(wallet: Wallet, options: AuditOptions = {}): AuditReport {
  const core = Wallet.core_of(wallet);
  const view = new LedgerView(core);
  const { layout } = core;
  const report: AuditReport = {
    ok: false, users: 0, committed: 0, released: 0, in_flight_committed: 0, in_flight_released: 0,
    balance_mismatches: 0, negative_balances: 0, settlement_errors: 0, ambiguous_decisions: 0, thread_slots_freed: 0,
    user_tickets_returned: 0, user_records_recovered: 0,
    findings: [],
  };
  const finding = (text: string) => {
    if (report.findings.length < FINDINGS_MAX) report.findings.push(text);
  };

  // 1. Every published entry, by index word (unpublished entries in threads'
  // reserved chunks are invisible to everyone, the audit included).
  const entries: number[] = [];
  const index_base = layout.tx_index_offset >> 2;
  for (let pos = 0; pos < layout.tx_index_capacity; pos++) {
    const low_word = view.u32[index_base + pos * 2]; // the index word's low half: entry + 1
    if (low_word !== 0) entries.push(low_word - 1);
  }

  const delta_of = (entry: number, kind: number) =>
    (kind === L.KIND_BET ? -1 : 1) * view.field_i64(entry, L.E_AMOUNT);
  const expected_units = new Map<number, number>();
  const claims_by_user = new Map<number, Claim[]>();
  for (const entry of entries) {
    const state = view.state(entry);
    const kind = kind_of(state);
    const user_slot = view.field_u32(entry, L.E_USER_SLOT);
    switch (phase_of(state)) {
      case L.PHASE_COMMITTED:
        expected_units.set(user_slot, (expected_units.get(user_slot) ?? 0) + delta_of(entry, kind));
        break;
      case L.PHASE_CLAIMED: {
        const claim = { entry, kind, user_slot, delta_units: delta_of(entry, kind), ref_entry: view.field_u32(entry, L.E_REF_ENTRY) };
        if (view.field_i64(entry, L.E_BALANCE_AFTER) < 0) {
          // Never reached the compare-exchange: certainly not applied.
          view.release(entry, state);
          report.in_flight_released++;
        } else {
          const list = claims_by_user.get(user_slot) ?? [];
          list.push(claim);
          claims_by_user.set(user_slot, list);
        }
        break;
      }
      case L.PHASE_RELEASED:
        break;
      default:
        report.settlement_errors++;
        finding(`entry ${entry} is published but FREE`);
    }
  }

  // 2. Decide the dead claims that did try their compare-exchange.
  for (const [user_slot, claims] of claims_by_user) {
    const diff = view.balance(user_slot) - (core.initial_balance_units + (expected_units.get(user_slot) ?? 0));
    // Masks are tried in increasing order, so a zero difference is explained
    // by "none applied" before any set of zero-amount claims.
    const deltas = claims.map((claim) => claim.delta_units);
    const chosen = subset_with_sum(deltas, diff);
    const applied = new Set(chosen ?? []);
    if (chosen && subset_with_sum(deltas, diff, chosen) !== undefined) {
      // Money is conserved whichever fits, but which of the dead calls
      // happened is a guess: say so (a replay of one may show a balance_after
      // that no reader saw).
      report.ambiguous_decisions++;
      finding(`user ${JSON.stringify(view.user_name(user_slot))}: more than one set of ${claims.length} dead claims explains a difference of ${diff}; chose one`);
    }
    if (!chosen) finding(`user ${JSON.stringify(view.user_name(user_slot))}: no subset of ${claims.length} dead claims explains a difference of ${diff}`);
    claims.forEach((claim, i) => {
      const state = view.state(claim.entry);
      if (applied.has(i)) {
        view.set_state(claim.entry, with_phase(state, L.PHASE_COMMITTED));
        expected_units.set(user_slot, (expected_units.get(user_slot) ?? 0) + claim.delta_units);
        report.in_flight_committed++;
      } else {
        view.release(claim.entry, state);
        report.in_flight_released++;
      }
    });
  }

  // 3. Settlements: finish or reopen bets left SETTLING, then check all.
  const settled_by = new Map<number, number>(); // bet entry -> committed settler's kind
  for (const entry of entries) {
    const state = view.state(entry);
    const kind = kind_of(state);
    if (phase_of(state) === L.PHASE_COMMITTED) report.committed++;
    if (phase_of(state) === L.PHASE_RELEASED) report.released++;
    if (phase_of(state) !== L.PHASE_COMMITTED || kind === L.KIND_BET) continue;
    const bet = view.field_u32(entry, L.E_REF_ENTRY);
    if (settled_by.has(bet)) {
      report.settlement_errors++;
      finding(`bet entry ${bet} is settled twice`);
    }
    settled_by.set(bet, kind);
  }
  for (const entry of entries) {
    const state = view.state(entry);
    if (phase_of(state) !== L.PHASE_COMMITTED || kind_of(state) !== L.KIND_BET) continue;
    const settler = settled_by.get(entry);
    const wanted = settler === L.KIND_WIN ? L.SETTLE_WON : settler === L.KIND_ROLLBACK ? L.SETTLE_ROLLED_BACK : L.SETTLE_OPEN;
    const settle = settle_of(state);
    if (settle === wanted) continue;
    if (settle === L.SETTLE_SETTLING_WIN || settle === L.SETTLE_SETTLING_ROLLBACK) {
      view.set_state(entry, with_settle(state, wanted)); // a dead settler's leftover
    } else {
      report.settlement_errors++;
      finding(`bet entry ${entry} has settlement ${settle}, its ledger says ${wanted}`);
    }
  }

  // 4. Every balance against the ledger.
  const user_slots: number[] = [];
  const user_index_base = layout.user_index_offset >> 2;
  for (let pos = 0; pos < layout.user_index_capacity; pos++) {
    const low_word = view.u32[user_index_base + pos * 2];
    if (low_word === 0) continue;
    const user_slot = low_word - 1;
    user_slots.push(user_slot);
    report.users++;
    const actual = view.balance(user_slot);
    const expected = core.initial_balance_units + (expected_units.get(user_slot) ?? 0);
    if (actual < 0) report.negative_balances++;
    if (actual !== expected) {
      report.balance_mismatches++;
      finding(`user ${JSON.stringify(view.user_name(user_slot))}: balance ${actual}, ledger says ${expected}`);
    }
  }
  // 5. User tickets: at quiescence every ticket belongs to a created user.
  const header_word = (field: number) => (L.HEADER_OFFSET + field) >> 2;
  const tickets = Atomics.load(view.u32, header_word(L.H_USERS_RESERVED));
  if (tickets > report.users) {
    report.user_tickets_returned = tickets - report.users;
    Atomics.store(view.i32, header_word(L.H_USERS_RESERVED), report.users);
    Atomics.store(view.i32, header_word(L.H_USERS_PUBLISHED), report.users);
  }
  // A creator that died after taking a user record and before publishing it
  // stranded the record: neither a user nor any slot's spare. Hand such
  // records to slots that hold no spare (one each), so creations use them.
  {
    const records_taken = Math.min(Atomics.load(view.u32, header_word(L.H_USER_RECORDS_NEXT)), layout.user_records_max);
    const in_use = new Set(user_slots);
    const spare_word = (slot: number) => (layout.threads_offset + slot * L.THREAD_RECORD_BYTES + L.T_USER_SPARE) >> 2;
    for (let slot = 0; slot < layout.threads_max; slot++) {
      const spare = view.u32[spare_word(slot)];
      if (spare !== 0) in_use.add(spare - 1);
    }
    let slot = 0;
    for (let record = 0; record < records_taken; record++) {
      if (in_use.has(record)) continue;
      while (slot < layout.threads_max && view.u32[spare_word(slot)] !== 0) slot++;
      if (slot === layout.threads_max) {
        finding(`user record ${record} is stranded and every thread slot already holds a spare`);
        break;
      }
      view.u32[spare_word(slot)] = record + 1;
      report.user_records_recovered++;
    }
  }

  // 6. Slots of dead threads. A thread that died between publishing an
  // entry and advancing its chunk left entry_next on a published entry:
  // skip those, or the next holder would overwrite a live transaction.
  // A slot still held as ADOPTING_OWNER at quiescence was held by a thread
  // that died while adopting its entries: free it too.
  {
    const published = new Set(entries);
    const dead_marks = new Set((options.deadThreadIds ?? []).map((thread_id) => thread_id + 1));
    dead_marks.add(L.ADOPTING_OWNER);
    for (let slot = 0; slot < layout.threads_max; slot++) {
      const record_word = (layout.threads_offset + slot * L.THREAD_RECORD_BYTES) >> 2;
      if (!dead_marks.has(Atomics.load(view.u32, record_word + (L.T_OWNER >> 2)))) continue;
      let next = view.u32[record_word + (L.T_ENTRY_NEXT >> 2)];
      const end = view.u32[record_word + (L.T_ENTRY_END >> 2)];
      while (next < end && published.has(next)) next++;
      view.u32[record_word + (L.T_ENTRY_NEXT >> 2)] = next;
      Atomics.store(view.i32, record_word + (L.T_OWNER >> 2), 0); // publishes the record
      report.thread_slots_freed++;
    }
  }

  report.ok = report.balance_mismatches === 0 && report.negative_balances === 0 && report.settlement_errors === 0;
  return report;
}
