// audit(wallet): recompute every balance from the ledger, exactly, and
// resolve claims left in flight by threads that died mid-operation.
//
// Audit holds the wallet for its run (a brief stop-the-world): it sets the
// run word to PAUSED, so calls that begin meanwhile wait (bounded by
// twinWaitMs) and retry, and it waits for the calls already in flight to
// leave. A slot still announced busy after twinWaitMs belongs to a thread
// that died inside a call (or is named in deadThreadIds): then every CLAIMED
// entry belongs to a dead thread, and the ledger is quiescent.
//
// Why a dead claim needs deciding: its owner wrote the intended balance into
// the entry, then tried the balance compare-exchange, then would have
// committed. If it died in between, the money may or may not have moved. The
// ledger decides: for each user, actual balance − (base + Σ committed
// deltas) must be the sum of the deltas of exactly the dead claims whose
// compare-exchange won. A claim whose intent is still −1 never tried, so it
// is released outright; the rest are chosen by subset sum. When more than one
// subset fits (equal amounts, zero amounts), any choice is a valid history:
// nobody received a response for a dead call, and money stays conserved.
// Sums are BigInt: partial sums of safe amounts can pass 2^53.
//
// Settlement: a bet left SETTLING_* is finished to WON / ROLLED_BACK if its
// settler is (now) committed, and reopened otherwise.
//
// Dead threads' slots: nothing tells the wallet that a thread died, so their
// registry slots stay taken; the caller, who saw the worker's 'exit', names
// them (`deadThreadIds: [id]`, the worker.threadId captured while it ran) and
// audit frees them, keeping their reserved entries for the next holder. A
// user ticket a dead thread held mid-createUsers is returned too, and so is
// the user record it had taken.

import { L, gen_counter, ring_offset, type Layout } from './layout.js';
import { Wallet, next_call } from './wallet.js';
import { slot_busy, clear_slot_busy, wait_for_idle_slots, type ThreadCore } from './core.js';
import { plain_error, type_error } from './errors.js';
import type { AuditOptions, AuditReport } from './types.js';
import { journal_failed_error } from './durability.js';
import { published_entries_of } from './rotation.js';

export type { AuditOptions, AuditReport };

/** Subset sums are searched exhaustively up to this many dead claims on one
 *  user (2^20 sums); more would mean that many threads died on one user. */
const SUBSET_SEARCH_MAX = 20;
const FINDINGS_MAX = 10;

interface Claim {
  entry: number;
  user_slot: number;
  delta_units: bigint;
  units: number;
}

class LedgerView {
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly layout: Layout;
  constructor(readonly core: ThreadCore) {
    this.u32 = core.u32;
    this.i32 = core.i32;
    this.i64 = core.i64;
    this.layout = core.layout;
  }
  private entry_at(entry: number, field_offset: number): number {
    return this.layout.tx_entries_offset + entry * L.ENTRY_SIZE_BYTES + field_offset;
  }
  state(entry: number): number {
    return Atomics.load(this.u32, this.entry_at(entry, L.E_STATE) >>> 2);
  }
  set_state(entry: number, state: number): void {
    Atomics.store(this.i32, this.entry_at(entry, L.E_STATE) >>> 2, state | 0);
  }
  /** As the core releases: intent back to -1 (see ledger.ts `release`), then the state. */
  release(entry: number, state: number): void {
    this.i64[this.entry_at(entry, L.E_BALANCE_AFTER) / 8] = -1n;
    this.set_state(entry, with_phase(state, L.PHASE_RELEASED));
    Atomics.add(this.u32, header_word(gen_counter('released_bound', this.gen_of(entry))), 1);
  }
  gen_of(entry: number): number {
    return Math.floor(entry / this.layout.gen_entries);
  }
  field_u32(entry: number, field_offset: number): number {
    return this.u32[this.entry_at(entry, field_offset) >>> 2];
  }
  field_i64(entry: number, field_offset: number): bigint {
    return this.i64[this.entry_at(entry, field_offset) / 8];
  }
  balance(user_slot: number): bigint {
    return Atomics.load(this.i64, this.layout.user_balances_offset / 8 + user_slot);
  }
  base(user_slot: number): bigint {
    return this.i64[(this.layout.user_meta_offset + user_slot * L.USER_META_BYTES + L.M_BASE_UNITS) / 8];
  }
  user_name(user_slot: number): string {
    const at = this.layout.user_names_offset + user_slot * L.USER_NAME_RECORD_BYTES;
    return this.core.bytes.toString('utf8', at + 1, at + 1 + this.core.u8[at]);
  }
  slot_word(slot: number, field_offset: number): number {
    return (this.layout.threads_offset + slot * L.THREAD_RECORD_BYTES + field_offset) >>> 2;
  }
}

const header_word = (field: number) => (L.HEADER_OFFSET + field) >>> 2;
const phase_of = (state: number) => state & L.PHASE_MASK;
const kind_of = (state: number) => (state & L.KIND_MASK) >>> L.KIND_SHIFT;
const settle_of = (state: number) => (state & L.SETTLE_MASK) >>> L.SETTLE_SHIFT;
const with_settle = (state: number, settle: number) => (state & ~L.SETTLE_MASK) | (settle << L.SETTLE_SHIFT);
const with_phase = (state: number, phase: number) =>
  (state & ~(L.PHASE_MASK | L.WAITERS_BIT | L.SETTLE_MASK | L.UNIT_HELD_BIT)) | phase;

/** Indices into `deltas` whose sum is `target` (other than `besides`), or undefined. */
function subset_with_sum(deltas: bigint[], target: bigint, besides?: number[]): number[] | undefined {
  if (deltas.length > SUBSET_SEARCH_MAX) return undefined;
  const besides_mask = besides?.reduce((mask, i) => mask | (1 << i), 0);
  for (let mask = 0; mask < 1 << deltas.length; mask++) {
    if (mask === besides_mask) continue;
    let sum = 0n;
    for (let i = 0; i < deltas.length; i++) if (mask & (1 << i)) sum += deltas[i];
    if (sum === target) return deltas.map((_, i) => i).filter((i) => mask & (1 << i));
  }
  return undefined;
}

/** The owner marks (threadId + 1) of deadThreadIds, refusing ids that cannot be a dead worker's. */
function dead_marks_of(options: AuditOptions): Set<number> {
  const ids = options.deadThreadIds ?? [];
  if (!Array.isArray(ids)) throw type_error('EXWALLET_BAD_THREAD_ID', 'audit: deadThreadIds must be an array of worker thread ids');
  const marks = new Set<number>();
  for (const item of ids as unknown[]) {
    const id = typeof item === 'object' && item !== null && 'threadId' in item ? (item as { threadId: unknown }).threadId : item;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1) {
      throw type_error(
        'EXWALLET_BAD_THREAD_ID',
        `audit: deadThreadIds holds ${String(id)}, which is no worker's thread id. worker.threadId reads -1 once the worker ` +
        "has exited: capture it when the worker starts (const id = worker.threadId) and pass that id",
      );
    }
    marks.add(id + 1);
  }
  return marks;
}

export function audit(wallet: Wallet, options: AuditOptions = {}): AuditReport {
  const core = Wallet.core_of(wallet);
  next_call();
  const dead_marks = dead_marks_of(options ?? {});
  take_rotation_lock(core);
  try {
    const witnessed = Atomics.compareExchange(core.u32, core.run_word, L.RUN_OPEN, L.RUN_PAUSED);
    if (witnessed === L.RUN_PAUSED) throw plain_error('EXWALLET_BUSY', 'audit: another audit of this wallet is running; call it again when it returns');
    if (witnessed === L.RUN_FAILED) throw journal_failed_error();
    if (witnessed !== L.RUN_OPEN) throw type_error('EXWALLET_CLOSED', 'this wallet was closed; start() a new one');
    return audit_held(core, dead_marks, L.RUN_OPEN);
  } finally {
    if (core.layout.gen_count > 1) Atomics.store(core.u32, header_word(L.H_ROTATING), L.ROTATION_NONE);
  }
}

/** A rotating wallet: audit reads the generations whole, so it waits for a
 *  rotation in progress to end and keeps the next one from starting. */
function take_rotation_lock(core: ThreadCore): void {
  if (core.layout.gen_count === 1) return;
  const lock = header_word(L.H_ROTATING);
  const deadline_ms = performance.now() + ROTATION_WAIT_MS;
  for (;;) {
    const holder = Atomics.compareExchange(core.u32, lock, L.ROTATION_NONE, L.ROTATION_AUDIT);
    if (holder === L.ROTATION_NONE) return;
    if (holder === L.ROTATION_AUDIT) throw plain_error('EXWALLET_BUSY', 'audit: another audit of this wallet is running; call it again when it returns');
    if (performance.now() > deadline_ms) throw plain_error('EXWALLET_BUSY', 'audit: a rotation of the generations did not finish; call it again');
    Atomics.wait(core.i32, lock, holder, 10);
  }
}
const ROTATION_WAIT_MS = 30_000;

/** close() of a durable wallet whose threads did not all leave their calls
 *  (dead, unnamed): decide those calls as audit does, so that the last
 *  flush can close their epochs. The wallet is already RUN_CLOSED. */
export function audit_for_close(core: ThreadCore): AuditReport {
  return audit_held(core, new Set(), L.RUN_CLOSED);
}

/** The audit proper, with the world held (new calls wait or are refused);
 *  `resume` is the run word to restore at the end. */
function audit_held(core: ThreadCore, dead_marks: Set<number>, resume: number): AuditReport {
  const view = new LedgerView(core);
  const report: AuditReport = {
    ok: false, users: 0, committed: 0, released: 0, inFlightCommitted: 0, inFlightReleased: 0,
    balanceMismatches: 0, negativeBalances: 0, settlementErrors: 0, ambiguousDecisions: 0, threadSlotsFreed: 0,
    userTicketsReturned: 0, userRecordsRecovered: 0, presumedDeadThreadIds: [], findings: [],
  };
  const finding = (text: string) => {
    if (report.findings.length < FINDINGS_MAX) report.findings.push(text);
  };
  const dead_announces = hold(core, view, dead_marks, report, finding);
  try {
    const entries = published_entries(view);
    const { expected_units, claims_by_user } = tally(view, entries, report, finding);
    decide_dead_claims(core, view, claims_by_user, expected_units, dead_announces, report, finding);
    check_settlements(view, entries, report, finding);
    const user_slots = check_balances(view, expected_units, report, finding);
    return_user_tickets(view, user_slots, report, finding);
    free_dead_slots(view, entries, dead_marks, report);
  } finally {
    release_dead(core, view, dead_announces, dead_marks);
    Atomics.store(core.u32, core.run_word, resume);
    Atomics.notify(core.i32, core.run_word);
  }
  report.ok = report.balanceMismatches === 0 && report.negativeBalances === 0 && report.settlementErrors === 0;
  return report;
}

/** With new calls held off (the caller set the run word): wait for those in flight. Slots still
 *  busy after twinWaitMs are presumed dead. Returns the epoch each dead slot
 *  had announced (its announce word is cleared only when audit is done: it
 *  keeps the flusher from closing that epoch until the dead call's journal
 *  record, if audit commits it, is there). */
function hold(
  core: ThreadCore, view: LedgerView, dead_marks: Set<number>, report: AuditReport, finding: (text: string) => void,
): Map<number, bigint> {
  const skip = new Set<number>();
  for (let slot = 0; slot < view.layout.threads_max; slot++) {
    if (dead_marks.has(Atomics.load(view.u32, view.slot_word(slot, L.T_OWNER)))) skip.add(slot);
  }
  wait_for_idle_slots(core, core.wait_ms_max, skip);
  // This thread is in no call (audit runs in it); its busy word is set only
  // if one of its calls was abandoned mid-way (an injected crash).
  const dead_announces = new Map<number, bigint>();
  for (let slot = 0; slot < view.layout.threads_max; slot++) {
    if (!slot_busy(core, slot)) continue;
    if (slot !== core.thread_slot && !skip.has(slot)) {
      const owner = Atomics.load(view.u32, view.slot_word(slot, L.T_OWNER));
      report.presumedDeadThreadIds.push(owner - 1);
      finding(`thread ${owner - 1} (slot ${slot}) stayed inside a call for ${core.wait_ms_max} ms: presumed dead`);
    }
    dead_announces.set(slot, Atomics.load(core.i64, view.slot_word(slot, L.T_ANNOUNCE) / 2));
  }
  return dead_announces;
}

/** The audit is done: dead slots no longer hold back their epochs. A dead
 *  createUsers of a durable wallet gives its create lock back too. */
function release_dead(core: ThreadCore, view: LedgerView, dead_announces: Map<number, bigint>, dead_marks: Set<number>): void {
  for (const slot of dead_announces.keys()) clear_slot_busy(core, slot);
  const lock_word = (L.HEADER_OFFSET + L.H_CREATE_LOCK) >>> 2;
  const holder = Atomics.load(view.u32, lock_word);
  const dead_owner = [...dead_announces.keys()].some((slot) => Atomics.load(view.u32, view.slot_word(slot, L.T_OWNER)) === holder);
  if (holder !== 0 && (dead_marks.has(holder) || dead_owner)) Atomics.store(view.u32, lock_word, 0);
}

/** 1. Every published entry of the generations in memory (the current one,
 *  and the previous one while it is live), by index word (unpublished
 *  entries in threads' reserved chunks are invisible to everyone, the audit
 *  included). */
function published_entries(view: LedgerView): number[] {
  const entries: number[] = [];
  const { layout } = view;
  const word = Atomics.load(view.u32, header_word(L.H_GEN_WORD));
  const cur = layout.gen_count === 1 ? 0 : (word >>> 1) & 1;
  const gens = layout.gen_count > 1 && (word & 1) !== 0 ? [cur, cur ^ 1] : [cur];
  for (const gen of gens) for (const entry of published_entries_of(view.core, gen)) entries.push(entry);
  return entries;
}

/** A carried bet's stub: its copy in the current generation is the bet. */
const is_stub = (state: number) => kind_of(state) === L.KIND_BET && settle_of(state) === L.SETTLE_MOVED;

function delta_of(view: LedgerView, entry: number, kind: number): bigint {
  const amount = view.field_i64(entry, L.E_AMOUNT);
  return kind === L.KIND_BET ? -amount : amount;
}

/** 2. Committed deltas per user; dead claims that never tried their
 *  compare-exchange released at once, the others collected. */
function tally(view: LedgerView, entries: number[], report: AuditReport, finding: (text: string) => void) {
  const expected_units = new Map<number, bigint>();
  const claims_by_user = new Map<number, Claim[]>();
  for (const entry of entries) {
    const state = view.state(entry);
    const kind = kind_of(state);
    const user_slot = view.field_u32(entry, L.E_USER_SLOT);
    switch (phase_of(state)) {
      case L.PHASE_COMMITTED:
        if (!is_stub(state)) expected_units.set(user_slot, (expected_units.get(user_slot) ?? 0n) + delta_of(view, entry, kind));
        break;
      case L.PHASE_CLAIMED: {
        const claim = { entry, user_slot, delta_units: delta_of(view, entry, kind), units: kind === L.KIND_BET ? L.BET_UNITS : 0 };
        if (view.field_i64(entry, L.E_BALANCE_AFTER) < 0n) {
          release_dead_claim(view, claim, state);
          report.inFlightReleased++;
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
        report.settlementErrors++;
        finding(`entry ${entry} is published but FREE`);
    }
  }
  return { expected_units, claims_by_user };
}

/** A dead claim that did not apply: released, its budget units returned. */
function release_dead_claim(view: LedgerView, claim: Claim, state: number): void {
  view.release(claim.entry, state);
  if (claim.units > 0) Atomics.sub(view.u32, header_word(gen_counter('budget_next', view.gen_of(claim.entry))), claim.units);
}

/** 3. Decide the dead claims that did try their compare-exchange. */
function decide_dead_claims(
  core: ThreadCore, view: LedgerView, claims_by_user: Map<number, Claim[]>, expected_units: Map<number, bigint>,
  dead_announces: Map<number, bigint>, report: AuditReport, finding: (text: string) => void,
): void {
  for (const [user_slot, all_claims] of claims_by_user) {
    // A claim whose journal record is in its thread's ring certainly applied
    // (the record is written only after the compare-exchange won): the
    // ledger decides the others.
    const journaled = core.journal_on ? all_claims.filter((claim) => ring_holds(view, claim.entry)) : [];
    const claims = all_claims.filter((claim) => !journaled.includes(claim));
    let diff = view.balance(user_slot) - (view.base(user_slot) + (expected_units.get(user_slot) ?? 0n));
    for (const claim of journaled) {
      commit_dead_claim(core, view, claim, expected_units, report);
      diff -= claim.delta_units;
    }
    // Masks are tried in increasing order, so a zero difference is explained
    // by "none applied" before any set of zero-amount claims.
    const deltas = claims.map((claim) => claim.delta_units);
    const chosen = subset_with_sum(deltas, diff);
    const applied = new Set(chosen ?? []);
    const who = JSON.stringify(view.user_name(user_slot));
    if (chosen && subset_with_sum(deltas, diff, chosen) !== undefined) {
      // Money is conserved whichever fits, but which of the dead calls
      // happened is a guess: say so (a replay of one may show a balance_after
      // that no reader saw).
      report.ambiguousDecisions++;
      finding(`user ${who}: more than one set of ${claims.length} dead claims explains a difference of ${diff}; chose one`);
    }
    if (!chosen) finding(`user ${who}: no subset of ${claims.length} dead claims explains a difference of ${diff}`);
    claims.forEach((claim, i) => {
      if (applied.has(i)) {
        if (core.journal_on) journal_dead_claim(view, claim.entry, dead_announces, core);
        commit_dead_claim(core, view, claim, expected_units, report);
      } else {
        release_dead_claim(view, claim, view.state(claim.entry));
        report.inFlightReleased++;
      }
    });
  }
}

function commit_dead_claim(
  core: ThreadCore, view: LedgerView, claim: Claim, expected_units: Map<number, bigint>, report: AuditReport,
): void {
  const state = view.state(claim.entry);
  view.set_state(claim.entry, with_phase(state, L.PHASE_COMMITTED));
  expected_units.set(claim.user_slot, (expected_units.get(claim.user_slot) ?? 0n) + claim.delta_units);
  count_commit(view, core.thread_slot, kind_of(state));
  report.inFlightCommitted++;
}

function owner_slot_of(view: LedgerView, entry: number): number {
  return view.state(entry) >>> L.OWNER_SHIFT;
}

function ring_at(view: LedgerView, slot: number): number {
  return ring_offset(view.layout, slot);
}

/** Is the journal record of `entry` still in its claimer's ring (appended,
 *  not yet flushed)? (Flushed would mean its epoch closed, which a dead
 *  claimer's announce prevents.) */
function ring_holds(view: LedgerView, entry: number): boolean {
  const ring = ring_at(view, owner_slot_of(view, entry));
  const head = Atomics.load(view.u32, (ring + L.RING_HEAD) >>> 2);
  const uuid_at = view.layout.tx_entries_offset + entry * L.ENTRY_SIZE_BYTES + L.E_UUID;
  const bytes = view.core.bytes;
  for (let at = Atomics.load(view.u32, (ring + L.RING_TAIL) >>> 2); at !== head; at = (at + 1) >>> 0) {
    const record = ring + L.RING_RECORDS_AT + (at % view.layout.ring_records) * L.JOURNAL_RECORD_BYTES;
    if (bytes.compare(bytes, uuid_at, uuid_at + 16, record + L.R_UUID, record + L.R_UUID + 16) === 0) return true;
  }
  return false;
}

/** Journal a dead claim audit decided applied: append its record to the
 *  dead claimer's own ring (nobody else writes it; its earlier records have
 *  epochs no later), with the epoch the dead call had announced — no later
 *  than the epoch of any call that saw its effect — so the flusher writes it
 *  no later than anything that depended on it. (The claimer checked the ring
 *  had room before it claimed.) */
function journal_dead_claim(view: LedgerView, entry: number, dead_announces: Map<number, bigint>, core: ThreadCore): void {
  const slot = owner_slot_of(view, entry);
  const ring = ring_at(view, slot);
  const head = Atomics.load(view.u32, (ring + L.RING_HEAD) >>> 2);
  const record = ring + L.RING_RECORDS_AT + (head % view.layout.ring_records) * L.JOURNAL_RECORD_BYTES;
  const e = view.layout.tx_entries_offset + entry * L.ENTRY_SIZE_BYTES;
  const bytes = core.bytes;
  const state = view.state(entry);
  const kind = kind_of(state);
  bytes.fill(0, record, record + L.JOURNAL_RECORD_BYTES);
  bytes.writeUInt8(kind, record + L.R_KIND);
  bytes.writeUInt32LE(view.field_u32(entry, L.E_USER_SLOT), record + L.R_USER_SLOT);
  const epoch = dead_announces.get(slot) ?? Atomics.load(core.i64, (L.HEADER_OFFSET + L.H_EPOCH) / 8);
  bytes.writeBigUInt64LE(BigInt.asUintN(64, epoch), record + L.R_EPOCH);
  bytes.copy(bytes, record + L.R_UUID, e + L.E_UUID, e + L.E_UUID + 16);
  bytes.copy(bytes, record + L.R_REQUEST_UUID, e + L.E_REQUEST_UUID, e + L.E_REQUEST_UUID + 16);
  if (kind !== L.KIND_BET) bytes.copy(bytes, record + L.R_REFERENCE, e + L.E_REF_UUID, e + L.E_REF_UUID + 16);
  bytes.copy(bytes, record + L.R_FINGERPRINT, e + L.E_FINGERPRINT, e + L.E_FINGERPRINT + 8);
  bytes.copy(bytes, record + L.R_AMOUNT, e + L.E_AMOUNT, e + L.E_AMOUNT + 8);
  bytes.copy(bytes, record + L.R_BALANCE_AFTER, e + L.E_BALANCE_AFTER, e + L.E_BALANCE_AFTER + 8);
  Atomics.store(view.u32, (ring + L.RING_HEAD) >>> 2, head + 1); // publishes the record to the flusher
}

/** A commit decided by audit counts in the auditing slot (stats sums them all). */
function count_commit(view: LedgerView, slot: number, kind: number): void {
  const field = kind === L.KIND_BET ? L.T_BETS : kind === L.KIND_WIN ? L.T_WINS : L.T_ROLLBACKS;
  Atomics.add(view.i64, (view.layout.threads_offset + slot * L.THREAD_RECORD_BYTES + field) / 8, 1n);
}

/** 4. Settlements: finish or reopen bets left SETTLING, then check all. */
function check_settlements(view: LedgerView, entries: number[], report: AuditReport, finding: (text: string) => void): void {
  const settled_by = new Map<number, number>(); // bet entry -> committed settler's kind
  for (const entry of entries) {
    const state = view.state(entry);
    const kind = kind_of(state);
    if (phase_of(state) === L.PHASE_COMMITTED) report.committed++;
    if (phase_of(state) === L.PHASE_RELEASED) report.released++;
    if (phase_of(state) !== L.PHASE_COMMITTED || kind === L.KIND_BET) continue;
    const bet = view.field_u32(entry, L.E_REF_ENTRY);
    if (bet === L.NO_REF_ENTRY) continue; // its bet retired (settled) with its generation
    if (settled_by.has(bet)) {
      report.settlementErrors++;
      finding(`bet entry ${bet} is settled twice`);
    }
    settled_by.set(bet, kind);
  }
  for (const entry of entries) {
    const state = view.state(entry);
    if (phase_of(state) !== L.PHASE_COMMITTED || kind_of(state) !== L.KIND_BET || is_stub(state)) continue;
    const settler = settled_by.get(entry);
    const wanted = settler === L.KIND_WIN ? L.SETTLE_WON : settler === L.KIND_ROLLBACK ? L.SETTLE_ROLLED_BACK : L.SETTLE_OPEN;
    const settle = settle_of(state);
    if (settle === wanted) continue;
    if (settle === L.SETTLE_SETTLING_WIN || settle === L.SETTLE_SETTLING_ROLLBACK) {
      view.set_state(entry, with_settle(state, wanted)); // a dead settler's leftover
    } else {
      report.settlementErrors++;
      finding(`bet entry ${entry} has settlement ${settle}, its ledger says ${wanted}`);
    }
  }
}

/** 5. Every balance against its ledger: base + Σ committed deltas. */
function check_balances(
  view: LedgerView, expected_units: Map<number, bigint>, report: AuditReport, finding: (text: string) => void,
): number[] {
  const user_slots: number[] = [];
  const user_index_base = view.layout.user_index_offset >>> 2;
  for (let pos = 0; pos < view.layout.user_index_capacity; pos++) {
    const low_word = view.u32[user_index_base + pos * 2];
    if (low_word === 0) continue;
    const user_slot = low_word - 1;
    user_slots.push(user_slot);
    report.users++;
    const actual = view.balance(user_slot);
    const expected = view.base(user_slot) + (expected_units.get(user_slot) ?? 0n);
    if (actual < 0n) report.negativeBalances++;
    if (actual !== expected) {
      report.balanceMismatches++;
      finding(`user ${JSON.stringify(view.user_name(user_slot))}: balance ${actual}, ledger says ${expected}`);
    }
  }
  return user_slots;
}

/** 6. User tickets: with the world held every ticket belongs to a created
 *  user. A creator that died after taking a user record and before
 *  publishing it stranded the record: neither a user nor any slot's spare.
 *  Hand such records to slots that hold no spare (one each). */
function return_user_tickets(view: LedgerView, user_slots: number[], report: AuditReport, finding: (text: string) => void): void {
  const { layout } = view;
  const tickets = Atomics.load(view.u32, header_word(L.H_USERS_RESERVED));
  if (tickets > report.users) {
    report.userTicketsReturned = tickets - report.users;
    Atomics.store(view.u32, header_word(L.H_USERS_RESERVED), report.users);
    Atomics.store(view.u32, header_word(L.H_USERS_PUBLISHED), report.users);
  }
  const records_taken = Math.min(Atomics.load(view.u32, header_word(L.H_USER_RECORDS_NEXT)), layout.user_records_max);
  const in_use = new Set(user_slots);
  for (let slot = 0; slot < layout.threads_max; slot++) {
    const spare = view.u32[view.slot_word(slot, L.T_USER_SPARE)];
    if (spare !== 0) in_use.add(spare - 1);
  }
  let slot = 0;
  for (let record = 0; record < records_taken; record++) {
    if (in_use.has(record)) continue;
    while (slot < layout.threads_max && view.u32[view.slot_word(slot, L.T_USER_SPARE)] !== 0) slot++;
    if (slot === layout.threads_max) {
      finding(`user record ${record} is stranded and every thread slot already holds a spare`);
      break;
    }
    view.u32[view.slot_word(slot, L.T_USER_SPARE)] = record + 1;
    report.userRecordsRecovered++;
  }
}

/** 7. Slots of dead threads. A thread that died between publishing an
 *  entry and advancing its chunk left entry_next on a published entry: skip
 *  those, or the next holder would overwrite a live transaction. A slot
 *  still held as ADOPTING_OWNER was held by a thread that died while
 *  adopting its entries: free it too. */
function free_dead_slots(view: LedgerView, entries: number[], dead_marks: Set<number>, report: AuditReport): void {
  const published = new Set(entries);
  const marks = new Set(dead_marks);
  marks.add(L.ADOPTING_OWNER);
  for (let slot = 0; slot < view.layout.threads_max; slot++) {
    if (!marks.has(Atomics.load(view.u32, view.slot_word(slot, L.T_OWNER)))) continue;
    let next = view.u32[view.slot_word(slot, L.T_ENTRY_NEXT)];
    const end = view.u32[view.slot_word(slot, L.T_ENTRY_END)];
    while (next < end && published.has(next)) next++;
    view.u32[view.slot_word(slot, L.T_ENTRY_NEXT)] = next;
    clear_slot_busy(view.core, slot);
    Atomics.store(view.u32, view.slot_word(slot, L.T_OWNER), 0); // publishes the record
    report.threadSlotsFreed++;
  }
}
