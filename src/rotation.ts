// One rotation of a durable wallet's two generations (layout_constants.ts,
// "Generations"): retire the previous generation to disk, wipe it, flip it
// into the current one. Run by the rotator worker (src/rotator.ts) while the
// wallet serves, and by recovery (src/durability.ts) when the journal it
// replays outgrows the window; the steps are the same, recovery just has
// nobody to pause.
//
//   write(prev):   no claim, open or settling bet left in prev?
//                  wait until everything prev's entries depend on is durable
//                  write retired-<seq>.bin (fsync); add its uuids to the filter;
//                  H_RETIRED_SEQ++
//   retire(prev):  [pause { carry prev's open bets into cur }; write(prev)]
//                  pause { prev_live = 0 }            nobody probes prev again
//                  fold prev's deltas into base_units; wins of cur lose their ref into prev
//                  wipe prev's index and entries; zero its counters
//   flip:          pause { seq++ (prev is now cur, empty); prev_live = 1;
//                          carry the new prev's open bets into the new cur }
//
// The rotator writes the previous generation out as soon as it is
// immutable, which is right after the flip that made it previous (the flip
// carried its open bets, and nothing else in it can change: new entries go
// to the current one, and its bets are settled or stubs): by the time the
// current one runs low, only the bracketed part is left, and the wait for
// room that a full generation would impose rarely happens. A generation on
// disk and still in memory is harmless: memory answers first, both the same.
//
// Why a pause for each change of H_GEN_WORD: a call reads the word once,
// after announcing itself busy; with no call in flight when it changes, no
// call can publish into a generation that another call already probed past
// (a twin would bind the same uuid twice), nor probe a generation that is
// being wiped. The pauses hold only O(1) work and the carrying of open bets.

import { L, gen_counter } from './layout.js';
import type { ThreadCore } from './core.js';
import { wait_for_idle_slots } from './core.js';
import { write_retired_file } from './retired.js';
import { wake_flusher, durable_epoch, journal_failed } from './durability.js';

export interface RotationOptions {
  /** The data directory, where retired files go. */
  dir: string;
  /** The rotator's memory of a write() done ahead: the generation seq whose
   *  previous generation is on disk already (-1: none). */
  written_for_seq?: { seq: number };
  /** false in recovery: single-threaded, nothing to pause or wait for. */
  live: boolean;
  /** Testing: flip without pausing (the canary the twin storm must catch). */
  flip_canary?: boolean;
}

/** Why a rotation could not proceed: stats() reports it (H_ROTATION_BLOCKED
 *  holds the index of the text), with what to do. */
export const BLOCKED = {
  none: '',
  dead_call: 'a call that never finished (a dead thread) holds an entry of the generation to retire: free it with audit(wallet, { deadThreadIds })',
  open_bets: 'open bets fill the window (a generation must hold them all): settle or roll back stale bets, or reopen with a larger maxTransactions',
  journal: 'the journal failed or fell behind: see journalFailed',
  pause: 'a call stayed in flight past twinWaitMs (a dead thread?): free it with audit(wallet, { deadThreadIds })',
  no_previous: 'no previous generation',
  rotator_failed: 'the rotator thread failed',
} as const;
export const BLOCKED_TEXTS: readonly string[] = Object.values(BLOCKED);

export type RotationOutcome =
  | { rotated: true; retired_records: number; carried: number }
  | { rotated: false; reason: string };

const header_word = (field: number) => (L.HEADER_OFFSET + field) >>> 2;

/** Retire the previous generation (if live), then flip. */
export function rotate(core: ThreadCore, options: RotationOptions): RotationOutcome {
  let retired_records = 0;
  const word = Atomics.load(core.u32, header_word(L.H_GEN_WORD));
  if ((word & 1) !== 0) {
    const retired = retire_previous(core, options);
    if (typeof retired === 'string') return { rotated: false, reason: retired };
    retired_records = retired;
  }
  const carried = flip(core, options);
  if (typeof carried === 'string') return { rotated: false, reason: carried };
  return { rotated: true, retired_records, carried };
}

/** Pause the wallet: no call in flight, new ones wait (the run word, as
 *  audit does). false: it is closed or failed, or a call stayed in flight
 *  past twinWaitMs (a dead thread: audit with deadThreadIds frees it). */
function pause(core: ThreadCore, options: RotationOptions): boolean {
  if (!options.live) return true;
  const witnessed = Atomics.compareExchange(core.u32, core.run_word, L.RUN_OPEN, L.RUN_PAUSED);
  if (witnessed !== L.RUN_OPEN) return false; // audit cannot hold it (H_ROTATING): closed or failed
  if (wait_for_idle_slots(core, core.wait_ms_max)) return true;
  resume(core, options);
  return false;
}

function resume(core: ThreadCore, options: RotationOptions): void {
  if (!options.live) return;
  Atomics.compareExchange(core.u32, core.run_word, L.RUN_PAUSED, L.RUN_OPEN);
  Atomics.notify(core.i32, core.run_word);
}

/** Under a pause, run `change`. */
function paused<T>(core: ThreadCore, options: RotationOptions, change: () => T): T | undefined {
  if (!pause(core, options)) return undefined;
  try {
    return change();
  } finally {
    resume(core, options);
  }
}

/** The entries generation `gen`'s index publishes (audit's ledger, and what counts as a claim). */
export function published_entries_of(core: ThreadCore, gen: number): number[] {
  const { layout, u32 } = core;
  const words = (layout.tx_index_offset >>> 2) + gen * layout.gen_index_capacity * 2;
  const entries: number[] = [];
  for (let pos = 0; pos < layout.gen_index_capacity; pos++) {
    const low_word = Atomics.load(u32, words + pos * 2); // the index word's low half: entry + 1
    if (low_word !== 0) entries.push(low_word - 1);
  }
  return entries;
}

class GenerationView {
  readonly first_entry: number;
  constructor(readonly core: ThreadCore, readonly gen: number) {
    this.first_entry = gen * core.layout.gen_entries;
  }
  entry_at(entry: number, field: number): number {
    return this.core.layout.tx_entries_offset + entry * L.ENTRY_SIZE_BYTES + field;
  }
  state(entry: number): number {
    return Atomics.load(this.core.u32, this.entry_at(entry, L.E_STATE) >>> 2);
  }
  /** The entries its index publishes. */
  published(): Set<number> {
    return new Set(published_entries_of(this.core, this.gen));
  }
  /** Entries of this generation ever handed out (those past it are FREE). */
  used(): number {
    const next = Atomics.load(this.core.u32, header_word(gen_counter('entries_next', this.gen)));
    return Math.min(next, this.core.layout.gen_entries);
  }
}

const phase_of = (state: number) => state & L.PHASE_MASK;
const kind_of = (state: number) => (state & L.KIND_MASK) >>> L.KIND_SHIFT;
const settle_of = (state: number) => (state & L.SETTLE_MASK) >>> L.SETTLE_SHIFT;

/** What keeps `view` from retiring (a claim or a settlement in flight: a
 *  dead thread's, since nothing is in flight under a pause), or undefined.
 *  A CLAIMED entry that was never published is no claim: the loser of a
 *  publish race leaves its filled entry in its chunk for its next call, and
 *  a flip drops that chunk (only published entries count, as in audit). */
function blocker(view: GenerationView): string | undefined {
  const end = view.first_entry + view.used();
  let published: Set<number> | undefined;
  for (let entry = view.first_entry; entry < end; entry++) {
    const state = view.state(entry);
    const phase = phase_of(state);
    if (phase === L.PHASE_CLAIMED) {
      published ??= view.published();
      if (published.has(entry)) return BLOCKED.dead_call;
      continue;
    }
    if (phase !== L.PHASE_COMMITTED || kind_of(state) !== L.KIND_BET) continue;
    const settle = settle_of(state);
    if (settle === L.SETTLE_OPEN) return BLOCKED.open_bets;
    if (settle === L.SETTLE_SETTLING_WIN || settle === L.SETTLE_SETTLING_ROLLBACK) return BLOCKED.dead_call;
  }
  return undefined;
}

/** write(prev) of the file comment, for the generation previous to the
 *  current seq: the count of records written, or why not yet. */
export function write_previous(core: ThreadCore, options: RotationOptions): number | string {
  const word = Atomics.load(core.u32, header_word(L.H_GEN_WORD));
  if ((word & 1) === 0) return BLOCKED.no_previous;
  const view = new GenerationView(core, ((word >>> 1) & 1) ^ 1);
  const blocked_by = blocker(view);
  if (blocked_by !== undefined) return blocked_by;
  if (options.live) {
    const why = wait_durable_now(core);
    if (why) return why;
  }
  const epoch_now = Number(Atomics.load(core.i64, (L.HEADER_OFFSET + L.H_EPOCH) / 8));
  const records = retired_records_of(view, epoch_now);
  const seq = Atomics.load(core.u32, header_word(L.H_RETIRED_SEQ)) + 1;
  if (records.length > 0) write_retired_file(options.dir, seq, records, Date.now());
  stall(core, options);
  add_to_filter(core, records);
  Atomics.add(core.u32, header_word(L.H_RETIRED_SEQ), 1);
  if (options.written_for_seq) options.written_for_seq.seq = word >>> 1;
  return records.length / L.JOURNAL_RECORD_BYTES;
}

/** retire(prev) of the file comment. Returns the records retired, or why not. */
function retire_previous(core: ThreadCore, options: RotationOptions): number | string {
  const word = Atomics.load(core.u32, header_word(L.H_GEN_WORD));
  const cur = (word >>> 1) & 1;
  const view = new GenerationView(core, cur ^ 1);
  let written = 0;
  if (options.written_for_seq?.seq !== word >>> 1) {
    // Bets the flip could not carry (the current generation was full of open bets).
    const carried = paused(core, options, () => core.exports.carry_open_bets(view.gen));
    if (carried === undefined) return BLOCKED.pause;
    const records = write_previous(core, options);
    if (typeof records === 'string') return records;
    written = records;
  }
  const gone = paused(core, options, () => {
    Atomics.and(core.u32, header_word(L.H_GEN_WORD), ~1);
    return true;
  });
  if (!gone) return BLOCKED.pause; // retired to disk and memory both: harmless, retried
  stall(core, options);
  fold_and_wipe(core, view, cur);
  stall(core, options);
  return written;
}

/** Tests (exwallet/testing set_rotation_stall): linger between the steps
 *  of a retirement, so a SIGKILL lands inside one. */
function stall(core: ThreadCore, options: RotationOptions): void {
  const stall_ms = options.live ? Atomics.load(core.u32, header_word(L.H_ROTATION_STALL_MS)) : 0;
  if (stall_ms > 0) Atomics.wait(core.i32, header_word(L.H_ROTATION_STALL_MS), stall_ms, stall_ms);
}

/** Step 5: the wiped previous generation becomes the current one. The
 *  canary stores the new word while calls are in flight, then pauses only
 *  to carry: the one rule broken is the flip's. */
function flip(core: ThreadCore, options: RotationOptions): number | string {
  const gen_word = header_word(L.H_GEN_WORD);
  const old_word = Atomics.load(core.u32, gen_word);
  const store_word = () => {
    Atomics.store(core.u32, gen_word, (((old_word >>> 1) + 1) << 1) | 1);
    Atomics.notify(core.i32, gen_word); // bets waiting for room
  };
  if (options.flip_canary) {
    store_word();
    // Calls that read the old word are still in flight: let calls that read
    // the new one run beside them, as they would without the pause.
    Atomics.wait(core.i32, header_word(L.H_FLIP_CANARY), 1, CANARY_OVERLAP_MS);
  }
  const carried = paused(core, options, () => {
    if (!options.flip_canary) store_word();
    const moved = core.exports.carry_open_bets((old_word >>> 1) & 1);
    return moved < 0 ? -1 - moved : moved;
  });
  if (carried === undefined) return BLOCKED.pause;
  return carried;
}

const CANARY_OVERLAP_MS = 5;

/** Wait until every epoch up to the open one is durable: then every entry
 *  of the generation, and every settlement of its bets, is on disk. */
function wait_durable_now(core: ThreadCore): string | undefined {
  const target = Number(Atomics.load(core.i64, (L.HEADER_OFFSET + L.H_EPOCH) / 8));
  const durable_index = (L.HEADER_OFFSET + L.H_DURABLE) / 8;
  const deadline_ms = performance.now() + DURABLE_WAIT_MS;
  while (durable_epoch(core) < target) {
    if (journal_failed(core) || performance.now() > deadline_ms) return BLOCKED.journal;
    wake_flusher(core);
    Atomics.wait(core.i64, durable_index, Atomics.load(core.i64, durable_index), 5);
  }
  return undefined;
}
const DURABLE_WAIT_MS = 10_000;

/** The committed transactions of a generation (not the stubs of carried
 *  bets), as journal records (layout_constants.ts): a bet's flags byte holds
 *  its settlement, the epoch field the epoch open at retirement (an upper
 *  bound of theirs, for the checkpointer). */
function retired_records_of(view: GenerationView, epoch_now: number): Buffer {
  const { core } = view;
  const end = view.first_entry + view.used();
  const out = Buffer.alloc(view.used() * L.JOURNAL_RECORD_BYTES);
  let count = 0;
  for (let entry = view.first_entry; entry < end; entry++) {
    const state = view.state(entry);
    if (phase_of(state) !== L.PHASE_COMMITTED) continue;
    const kind = kind_of(state);
    if (kind === L.KIND_BET && settle_of(state) === L.SETTLE_MOVED) continue;
    const r = count++ * L.JOURNAL_RECORD_BYTES;
    const e = view.entry_at(entry, 0);
    out.writeUInt8(kind, r + L.R_KIND);
    out.writeUInt8(kind === L.KIND_BET ? settle_of(state) : 0, r + 1);
    out.writeUInt32LE(core.u32[(e + L.E_USER_SLOT) >>> 2], r + L.R_USER_SLOT);
    out.writeBigUInt64LE(BigInt(epoch_now), r + L.R_EPOCH);
    core.bytes.copy(out, r + L.R_UUID, e + L.E_UUID, e + L.E_UUID + 16);
    core.bytes.copy(out, r + L.R_REQUEST_UUID, e + L.E_REQUEST_UUID, e + L.E_REQUEST_UUID + 16);
    if (kind !== L.KIND_BET) core.bytes.copy(out, r + L.R_REFERENCE, e + L.E_REF_UUID, e + L.E_REF_UUID + 16);
    core.bytes.copy(out, r + L.R_FINGERPRINT, e + L.E_FINGERPRINT, e + L.E_FINGERPRINT + 8);
    core.bytes.copy(out, r + L.R_AMOUNT, e + L.E_AMOUNT, e + L.E_AMOUNT + 16); // amount, balance_after
  }
  return out.subarray(0, count * L.JOURNAL_RECORD_BYTES);
}

/** The uuids of `records` (journal records) into the retired filter. */
export function add_to_filter(core: ThreadCore, records: Buffer): void {
  const count = records.length / L.JOURNAL_RECORD_BYTES;
  const uuids = Buffer.allocUnsafe(count * 16);
  for (let i = 0; i < count; i++) {
    const at = i * L.JOURNAL_RECORD_BYTES + L.R_UUID;
    records.copy(uuids, i * 16, at, at + 16);
  }
  add_uuids_to_filter(core, uuids);
}

/** The uuids (16 bytes each, packed) into the filter (recovery rebuilds it from the retired files' uuids). */
export function add_uuids_to_filter(core: ThreadCore, uuids: Buffer): void {
  const per_call = Math.floor(L.S_RECORDS_MAX_BYTES / 16);
  const count = uuids.length / 16;
  for (let done = 0; done < count; done += per_call) {
    const n = Math.min(per_call, count - done);
    uuids.copy(core.bytes, core.scratch + L.S_RECORDS, done * 16, (done + n) * 16);
    core.exports.filter_add_uuids(n);
  }
}

/** Step 4: the retired generation's deltas into base_units (audit's ledger
 *  then balances without its entries), refs of the current generation's
 *  wins into it cleared, its memory zeroed. Nobody probes it any more. */
function fold_and_wipe(core: ThreadCore, view: GenerationView, cur: number): void {
  const { layout, u32, i64 } = core;
  const end = view.first_entry + view.used();
  for (let entry = view.first_entry; entry < end; entry++) {
    const state = view.state(entry);
    if (phase_of(state) !== L.PHASE_COMMITTED) continue;
    const kind = kind_of(state);
    if (kind === L.KIND_BET && settle_of(state) === L.SETTLE_MOVED) continue;
    const user_slot = u32[view.entry_at(entry, L.E_USER_SLOT) >>> 2];
    const amount = i64[view.entry_at(entry, L.E_AMOUNT) / 8];
    const base = (layout.user_meta_offset + user_slot * L.USER_META_BYTES + L.M_BASE_UNITS) / 8;
    Atomics.add(i64, base, kind === L.KIND_BET ? -amount : amount);
  }
  const current = new GenerationView(core, cur);
  const current_end = current.first_entry + current.used();
  for (let entry = current.first_entry; entry < current_end; entry++) {
    const state = current.state(entry);
    if (phase_of(state) !== L.PHASE_COMMITTED || kind_of(state) === L.KIND_BET) continue;
    const ref = current.entry_at(entry, L.E_REF_ENTRY) >>> 2;
    const bet = u32[ref];
    if (bet >= view.first_entry && bet < view.first_entry + layout.gen_entries) u32[ref] = L.NO_REF_ENTRY;
  }
  const index_at = layout.tx_index_offset + view.gen * layout.gen_index_capacity * L.INDEX_WORD_BYTES;
  core.u8.fill(0, index_at, index_at + layout.gen_index_capacity * L.INDEX_WORD_BYTES);
  const entries_at = view.entry_at(view.first_entry, 0);
  core.u8.fill(0, entries_at, entries_at + view.used() * L.ENTRY_SIZE_BYTES);
  for (const field of ['entries_next', 'budget_next', 'released_bound'] as const) {
    Atomics.store(u32, header_word(gen_counter(field, view.gen)), 0);
  }
}
