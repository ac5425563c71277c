// Issue #11, part 1: the flat curve. One durable wallet of maxTransactions
// W (a window of two generations of W/2 budget units, rotated to retired
// files) and one memory-only wallet big enough for the whole run, fed the
// SAME bet+win pairs in the same order, through >= 50 x W transactions.
//
// How the two lanes share one run. Bodies are generated in chunks (all of
// them at once would be GBs), and a chunk is played on the durable wallet,
// then the same pairs on the memory wallet, then the next chunk. A lane's
// clock runs only while it plays, so body generation and the other lane's
// turn are in neither lane's figures. The durable lane hands over only at a
// point where its rotator has nothing to do (the current generation is < 70 %
// used, the previous one written out, and no rotation is asked for: the next
// one is at 75 %): otherwise a
// rotation could run in the gap, for free, and its cost would vanish from the
// curve. A chunk that ends before such a point is reached is a *forced*
// hand-over, counted. Its journal is made durable (awaited) before it hands
// over, so the flusher has nothing pending either. What can still run in a
// gap: a journal checkpoint (a worker, every 64 MiB of journal), flagged per
// slice.
//
// Per call: two process.hrtime.bigint() reads around bet()/win() (~60 ns,
// included), recorded inline into a log-linear histogram (forever_histogram.ts)
// and, above STALL_NS, into a list of stalls (call index, ns). Every 1,000
// calls both lanes take durable() and yield one event-loop turn, as a server
// answering in groups would (the memory wallet's durable() resolves at once).
// Every 50 pairs the durable lane reads the generation word: a rotation is
// *asked* when the current generation passes 75 % of its budget and *done*
// when the generation sequence moves (the flip); both are kept with their
// call index and time, so each rotation's stall can be read off the stalls.
//
// A slice is W/2 transactions of one lane: calls/s over the lane's own
// clock, p50/p99/p99.9/max, RSS, stats().inMemory, rotations and GC in it.

import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { start, createUsers, bet, win, durable, stats, close, RS_OK, type Wallet } from 'exwallet';
import { Wallet as WalletImpl } from 'exwallet/internal/wallet';
import { L } from 'exwallet/internal/layout';
import { Random } from '../tools/random.js';
import { bet_body, win_body, CURRENCY, INITIAL_BALANCE_UNITS, type BetBody, type WinBody } from './bodies.js';
import { budget_for_bets, GcWatch, log, type GcSummary } from './lib.js';
import { users_max_for } from './throughput.js';
import { LatencyHistogram, type LatencyRow } from './forever_histogram.js';
import { install_find_counter, retired_finds } from './forever_slow_path.js';
import { start_observer, summarise_phases, type PhaseSummary, type RotationPhases } from './forever_observer.js';

export interface FlatOptions {
  /** W: the durable wallet's maxTransactions. */
  window: number;
  /** Calls per lane (bets + wins). */
  transactions: number;
  users: string[];
  seed: number;
  /** A win settles the bet placed this many pairs earlier (that many bets stay open). */
  lag_pairs: number;
  /** durable() and one event-loop turn every this many calls. */
  group_calls: number;
  /** Pairs generated per chunk. */
  chunk_pairs: number;
  /** Bets remembered, evenly over the history that will be retired, for the replay costs. */
  samples: number;
  /** Bets remembered at the end of the run (still in memory), for the replay costs. */
  recent: number;
  data_dir_parent: string;
  /** No progress lines (the warm-up). */
  quiet?: boolean;
}

/** A call slower than this is a stall: kept one by one. */
export const STALL_NS = 100_000;
const STALLS_MAX = 1 << 18;
const WATCH_EVERY_PAIRS = 50;
/** Hand-over points: the current generation at most this full (rotation asked at 0.75). Was 0.4: since
 *  f79ec46 the previous generation's write (which must not fall in a gap, quiet()) ends at ~0.4-0.75. */
const HANDOVER_FILL_MAX = 0.7;
/** After a flip, the calls whose stalls are still charged to that rotation. */
const ROTATION_TAIL_CALLS = 200;

export interface SliceRow {
  index: number;
  /** Transactions done by this lane at the slice's end. */
  tx_end: number;
  calls: number;
  wall_ms: number;
  calls_per_s: number;
  latency: LatencyRow;
  stalls: number;
  stall_ms: number;
  /** The process's (both lanes, the bodies, every thread's heap): not one wallet's. */
  rss_bytes: number;
  /** This thread's JS heap in use (no GC forced). */
  heap_used_bytes: number;
  in_memory: number;
  rotations: number;
  rotations_in_slice: number;
  retired_filter_keys: number;
  /** Calls that searched the retired files (new bets whose uuid the filter took for a retired one). */
  slow_paths: number;
  /** Durable: journal checkpoints completed during the slice (checkpoint.bin replaced). */
  checkpoints_in_slice: number;
  gc: GcSummary;
}

export interface RotationEvent {
  /** Call index (of this lane) at which the rotation was seen asked (>= 75 % used), -1 if not seen. */
  asked_call: number;
  asked_ms: number;
  flip_call: number;
  flip_ms: number;
  /** The current generation was seen >= 98 % used before the flip: bets were about to wait for room. */
  full_seen: boolean;
  /** The slowest call from the ask to ROTATION_TAIL_CALLS after the flip, and all stalls there. */
  max_call_ns: number;
  stall_calls: number;
  stall_ms: number;
}

export interface LaneResult {
  lane: 'durable' | 'memory';
  options: Record<string, unknown>;
  calls: number;
  ok: number;
  first_failure: string;
  wall_ms: number;
  calls_per_s: number;
  latency: LatencyRow;
  slices: SliceRow[];
  rotations: RotationEvent[];
  /** Stalls outside every rotation's window (GC, a checkpoint, the scheduler). */
  other_stalls: { calls: number; ms: number; max_ns: number };
  stalls_kept: number;
  stalls_dropped: number;
  /** Calls that searched the retired files (forever_slow_path.ts): new bets the filter took for retired ones. */
  slow_paths: number;
  /** Durable: each rotation's phases, from the observer thread (forever_observer.ts). */
  phases?: RotationPhases[];
  close_ms?: number;
}

export interface FlatResult {
  window: number;
  transactions: number;
  pairs: number;
  lag_pairs: number;
  group_calls: number;
  chunk_pairs: number;
  slice_calls: number;
  generation_ms: number;
  handovers: number;
  forced_handovers: number;
  durable: LaneResult;
  memory: LaneResult;
  /** Per slice: durable / memory calls/s, p99, p99.9. */
  ratios: Array<{ index: number; tx_end: number; calls_per_s: number; p99: number; p999: number }>;
  summary: FlatSummary;
}

export interface FlatSummary {
  durable_over_memory_calls_per_s: number;
  /** Median slice p99 of the first and last 10 % of slices: flat means equal. */
  durable_p99_first_tenth_ns: number;
  durable_p99_last_tenth_ns: number;
  memory_p99_first_tenth_ns: number;
  memory_p99_last_tenth_ns: number;
  /** stats().inMemory at slice ends: at most, and the bound (both generations' entries). */
  in_memory_max: number;
  in_memory_bound: number;
  rotations: number;
  rotation_ms: { p50: number; p90: number; max: number };
  rotation_max_call_ns: { p50: number; p90: number; max: number };
  rotation_stall_ms: { p50: number; p90: number; max: number; total: number };
  /** Calls > STALL_NS per rotation. */
  rotation_stall_calls: { p50: number; p90: number; max: number };
  /** The rotator's phases, from the observer thread (forever_observer.ts). */
  phases: PhaseSummary | null;
  rotations_full: number;
}

/** What the cost measurements need after the flat run: the durable wallet, still open. */
export interface AgedWallet {
  wallet: Wallet;
  dir: string;
  window: number;
  users: string[];
  /** Bets evenly over the retired history, with the balance each was answered. */
  samples: Array<{ body: BetBody; balance: number; pair: number }>;
  /** The last bets placed (in memory at the end). */
  recent: BetBody[];
  pairs: number;
  close(): Promise<number>;
}

// ---------------------------------------------------------------------------
// Bodies: chunks of pairs, generated between the lanes' turns.

class PairFeed {
  bets: BetBody[] = [];
  wins: WinBody[] = [];
  /** Pair index of bets[0]. */
  base = 0;
  generated = 0;
  generation_ms = 0;
  constructor(readonly rng: Random, readonly users: readonly string[], readonly total_pairs: number) {}

  /** Drop pairs before `from`, then generate until `target` pairs from `from` are ready (or all are). */
  refill(from: number, target: number): void {
    const started_ms = performance.now();
    this.bets = this.bets.slice(from - this.base);
    this.wins = this.wins.slice(from - this.base);
    this.base = from;
    const end = Math.min(this.total_pairs, from + target);
    for (let p = this.generated; p < end; p++) {
      const placed = bet_body(this.rng, this.users);
      this.bets.push(placed);
      this.wins.push(win_body(this.rng, placed));
    }
    this.generated = Math.max(this.generated, end);
    this.generation_ms += performance.now() - started_ms;
  }

  get end(): number {
    return this.base + this.bets.length;
  }
}

// ---------------------------------------------------------------------------
// A lane: one wallet, its clock, its slices, its stalls, its rotations.

const header_word = (field: number) => (L.HEADER_OFFSET + field) >>> 2;

class Lane {
  calls = 0;
  ok = 0;
  first_failure = '';
  readonly ring: WinBody[];
  readonly slice = new LatencyHistogram();
  readonly all = new LatencyHistogram();
  readonly slices: SliceRow[] = [];
  /** Per slice, the stretches of time the lane's clock ran in it (for the GC entries). */
  readonly slice_clock_intervals: Array<Array<[number, number]>> = [];
  slice_end: number;
  slice_wall_ms = 0;
  slice_intervals: Array<[number, number]> = [];
  slice_stalls = 0;
  slice_stall_ns = 0;
  /** retired_finds() when the lane's clock last started, and the finds of this slice so far. */
  finds_at_resume = 0;
  slice_finds = 0;
  slow_paths = 0;
  clock_ms = 0;
  wall_ms = 0;
  next_group: number;
  last_durable: Promise<void> = Promise.resolve();
  readonly stall_call = new Float64Array(STALLS_MAX);
  readonly stall_ns = new Float64Array(STALLS_MAX);
  stall_count = 0;
  stalls_dropped = 0;
  // The durable lane's view of its generations (undefined for memory).
  readonly u32: Uint32Array | undefined;
  readonly gen_budget: number;
  readonly gen_entries: number;
  readonly rotate_at: number;
  seq = 0;
  asked_call = -1;
  asked_ms = 0;
  full_seen = false;
  fill = 0;
  readonly rotations: RotationEvent[] = [];
  checkpoint_mtime_ms = 0;

  constructor(
    readonly name: 'durable' | 'memory', readonly wallet: Wallet, readonly dir: string | undefined,
    readonly slice_calls: number, lag_pairs: number, readonly group_calls: number, readonly options: Record<string, unknown>,
  ) {
    this.ring = new Array<WinBody>(Math.max(1, lag_pairs));
    this.slice_end = slice_calls;
    this.next_group = group_calls;
    if (name === 'durable') {
      const core = WalletImpl.core_of(wallet);
      this.u32 = core.u32;
      this.gen_budget = core.layout.gen_budget;
      this.gen_entries = core.layout.gen_entries;
      this.rotate_at = core.layout.rotate_at;
      this.seq = Atomics.load(core.u32, header_word(L.H_GEN_WORD)) >>> 1;
    } else {
      this.u32 = undefined;
      this.gen_budget = 0;
      this.gen_entries = 0;
      this.rotate_at = 0;
    }
  }

  /** One call's outcome. Inlined into the loop by V8 (small, monomorphic). */
  record(ns: number, status: string): void {
    this.slice.record(ns);
    this.calls++;
    if (status === RS_OK) this.ok++;
    else if (this.first_failure === '') this.first_failure = status;
    if (ns > STALL_NS) this.note_stall(ns);
  }

  note_stall(ns: number): void {
    this.slice_stalls++;
    this.slice_stall_ns += ns;
    if (this.stall_count === STALLS_MAX) {
      this.stalls_dropped++;
      return;
    }
    this.stall_call[this.stall_count] = this.calls - 1;
    this.stall_ns[this.stall_count] = ns;
    this.stall_count++;
  }

  /** Durable: where the generations stand (every WATCH_EVERY_PAIRS pairs). */
  watch(now_ms: number): void {
    const u32 = this.u32;
    if (u32 === undefined) return;
    const seq = Atomics.load(u32, header_word(L.H_GEN_WORD)) >>> 1;
    if (seq !== this.seq) {
      this.rotations.push({
        asked_call: this.asked_call, asked_ms: this.asked_ms, flip_call: this.calls, flip_ms: now_ms, full_seen: this.full_seen,
        max_call_ns: 0, stall_calls: 0, stall_ms: 0,
      });
      this.seq = seq;
      this.asked_call = -1;
      this.full_seen = false;
    }
    const used = Atomics.load(u32, header_word((seq & 1) === 0 ? L.H_TX_BUDGET_NEXT : L.H_GEN_BUDGET_NEXT_1));
    this.fill = used / this.gen_budget;
    if (this.asked_call < 0 && used >= this.rotate_at) {
      this.asked_call = this.calls;
      this.asked_ms = now_ms;
    }
    if (used >= this.gen_budget * 0.98) this.full_seen = true;
  }

  /** May this lane hand over now without leaving its rotator work to do in the gap? */
  quiet(): boolean {
    if (this.u32 === undefined) return true;
    // Since f79ec46 the rotator writes the previous generation out right after a flip, outside H_ROTATING: wait
    // for that write too (a fresh wallet retires one seq per generation: seq s's previous is on disk at H_RETIRED_SEQ s).
    const word = Atomics.load(this.u32, header_word(L.H_GEN_WORD));
    const written = (word & 1) === 0 || Atomics.load(this.u32, header_word(L.H_RETIRED_SEQ)) >= word >>> 1;
    return written && this.asked_call < 0 && this.fill < HANDOVER_FILL_MAX && Atomics.load(this.u32, header_word(L.H_ROTATING)) === L.ROTATION_NONE;
  }

  resume_clock(): void {
    this.clock_ms = performance.now();
    this.finds_at_resume = retired_finds();
  }

  pause_clock(): void {
    const finds = retired_finds() - this.finds_at_resume;
    this.slice_finds += finds;
    this.slow_paths += finds;
    const now_ms = performance.now();
    this.slice_wall_ms += now_ms - this.clock_ms;
    this.wall_ms += now_ms - this.clock_ms;
    this.slice_intervals.push([this.clock_ms, now_ms]);
  }

  /** Close the slice at its boundary; the bookkeeping is outside the clock. */
  close_slice(): void {
    this.pause_clock();
    const s = stats(this.wallet);
    const wall_ms = this.slice_wall_ms;
    const calls = this.slice.count;
    this.all.add(this.slice);
    this.slices.push({
      index: this.slices.length, tx_end: this.calls, calls, wall_ms: round2(wall_ms), calls_per_s: Math.round((calls / wall_ms) * 1000),
      latency: this.slice.summary(), stalls: this.slice_stalls, stall_ms: round2(this.slice_stall_ns / 1e6),
      rss_bytes: process.memoryUsage.rss(), heap_used_bytes: process.memoryUsage().heapUsed, in_memory: s.inMemory, rotations: s.rotations, rotations_in_slice: 0,
      retired_filter_keys: s.retiredFilterKeys, slow_paths: this.slice_finds, checkpoints_in_slice: this.checkpoints_since(),
      gc: { count: 0, total_ms: 0, max_ms: 0, by_kind: {} },
    });
    this.slice_clock_intervals.push(this.slice_intervals);
    this.slice.reset();
    this.slice_wall_ms = 0;
    this.slice_intervals = [];
    this.slice_stalls = 0;
    this.slice_stall_ns = 0;
    this.slice_finds = 0;
    this.slice_end += this.slice_calls;
    this.resume_clock();
  }

  checkpoints_since(): number {
    if (this.dir === undefined) return 0;
    const mtime_ms = statSync(join(this.dir, 'checkpoint.bin'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
    const changed = mtime_ms !== this.checkpoint_mtime_ms ? 1 : 0;
    this.checkpoint_mtime_ms = mtime_ms;
    return changed;
  }
}

const next_turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Remembered bets of the durable lane (the replay costs). */
interface Keep {
  sample_every: number;
  sample_below: number;
  samples: AgedWallet['samples'];
  recent_from: number;
  recent: BetBody[];
}

/** Play pairs [from, to) on `lane`: bet p, then the win of pair p - lag.
 *  With `handover_after` pairs played, stop at the first quiet point; returns
 *  the pair it stopped before. */
async function play(lane: Lane, feed: PairFeed, from: number, to: number, handover_after: number, keep: Keep | undefined): Promise<number> {
  const wallet = lane.wallet;
  const ring = lane.ring;
  const lag = ring.length;
  lane.resume_clock();
  let p = from;
  while (p < to) {
    const placed = feed.bets[p - feed.base];
    const t0 = process.hrtime.bigint();
    const answer = bet(wallet, placed);
    const bet_ns = Number(process.hrtime.bigint() - t0);
    lane.record(bet_ns, answer.status);
    if (keep !== undefined) {
      if (p % keep.sample_every === 0 && p < keep.sample_below) keep.samples.push({ body: placed, balance: answer.balance ?? NaN, pair: p });
      if (p >= keep.recent_from) keep.recent.push(placed);
    }
    const slot = p % lag;
    const settle = p >= lag ? ring[slot] : undefined;
    ring[slot] = feed.wins[p - feed.base];
    if (settle !== undefined) {
      const t1 = process.hrtime.bigint();
      const won = win(wallet, settle);
      lane.record(Number(process.hrtime.bigint() - t1), won.status);
    }
    p++;
    if (lane.calls >= lane.slice_end) lane.close_slice();
    if (p % WATCH_EVERY_PAIRS === 0) {
      lane.watch(performance.now());
      if (lane.calls >= lane.next_group) {
        lane.next_group += lane.group_calls;
        lane.last_durable = durable(wallet);
        await next_turn();
      }
      if (p - from >= handover_after && lane.quiet()) break;
    }
  }
  await (lane.last_durable = durable(wallet)); // nothing pending for the flusher in the gap
  lane.watch(performance.now());
  lane.pause_clock();
  return p;
}

/** The wins of the last `lag` bets. */
async function drain(lane: Lane, total_pairs: number): Promise<void> {
  lane.resume_clock();
  const lag = lane.ring.length;
  for (let p = Math.max(0, total_pairs - lag); p < total_pairs; p++) {
    const settle = lane.ring[p % lag];
    const t0 = process.hrtime.bigint();
    const won = win(lane.wallet, settle);
    lane.record(Number(process.hrtime.bigint() - t0), won.status);
    if (lane.calls >= lane.slice_end) lane.close_slice();
  }
  await durable(lane.wallet);
  lane.watch(performance.now());
  lane.pause_clock();
  if (lane.slice.count > 0) {
    lane.resume_clock();
    lane.close_slice();
    lane.pause_clock();
  }
}

// ---------------------------------------------------------------------------

function start_wallets(options: FlatOptions, pairs: number): { durable_wallet: Wallet; memory_wallet: Wallet; dir: string; durable_options: Record<string, unknown>; memory_options: Record<string, unknown> } {
  const dir = mkdtempSync(join(options.data_dir_parent, `exwallet-forever-${options.window}-`));
  const common = { maxUsers: users_max_for(options.users.length), maxThreads: 16, initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY, prefault: true };
  const durable_options = { ...common, dataDir: dir, maxTransactions: options.window };
  const memory_options = { ...common, maxTransactions: budget_for_bets(pairs) };
  const durable_wallet = start(durable_options);
  createUsers(durable_wallet, options.users);
  const memory_wallet = start(memory_options);
  createUsers(memory_wallet, options.users);
  return { durable_wallet, memory_wallet, dir, durable_options, memory_options };
}

export async function run_flat(options: FlatOptions): Promise<{ result: FlatResult; aged: AgedWallet }> {
  install_find_counter();
  const pairs = Math.ceil(options.transactions / 2);
  const slice_calls = Math.floor(options.window / 2);
  const { durable_wallet, memory_wallet, dir, durable_options, memory_options } = start_wallets(options, pairs);
  const gc = new GcWatch();
  const observer = start_observer(durable_wallet);
  const lanes = {
    durable: new Lane('durable', durable_wallet, dir, slice_calls, options.lag_pairs, options.group_calls, durable_options),
    memory: new Lane('memory', memory_wallet, undefined, slice_calls, options.lag_pairs, options.group_calls, memory_options),
  };
  const retired_below = Math.max(0, pairs - options.window); // older bets than the window can hold: retired
  const keep: Keep = {
    sample_every: Math.max(1, Math.floor(retired_below / Math.max(1, options.samples))), sample_below: retired_below, samples: [],
    recent_from: pairs - Math.min(pairs, options.recent), recent: [],
  };
  const feed = new PairFeed(new Random(options.seed, 1100 + options.window % 1000), options.users, pairs);
  let handovers = 0;
  let forced = 0;
  let done = 0;
  let next_log_ms = performance.now() + 10_000;
  const say = options.quiet ? () => {} : log;
  say(`forever W=${options.window}: ${pairs.toLocaleString('en-US')} bet+win pairs on a durable wallet (maxTransactions ${options.window}) and a memory one (${budget_for_bets(pairs)}), dir ${dir}`);
  while (done < pairs) {
    feed.refill(done, options.chunk_pairs);
    const end = feed.end;
    const last = end >= pairs;
    const stop = await play(lanes.durable, feed, done, end, last ? Infinity : Math.floor(options.chunk_pairs / 2), keep);
    if (!last && stop === end) forced++;
    await play(lanes.memory, feed, done, stop, Infinity, undefined);
    handovers++;
    done = stop;
    if (performance.now() >= next_log_ms) {
      next_log_ms += 10_000;
      const d = lanes.durable.slices.at(-1), m = lanes.memory.slices.at(-1);
      say(`  ${(done * 2).toLocaleString('en-US')} tx: durable ${d?.calls_per_s.toLocaleString('en-US')} calls/s p99 ${d?.latency.p99_ns} ns, ` +
        `memory ${m?.calls_per_s.toLocaleString('en-US')} calls/s p99 ${m?.latency.p99_ns} ns, rotations ${lanes.durable.rotations.length}`);
    }
  }
  await drain(lanes.durable, pairs);
  await drain(lanes.memory, pairs);
  const phases = await observer.stop();
  await gc.flush();
  const memory_close_started_ms = performance.now();
  await close(memory_wallet);
  const memory_close_ms = performance.now() - memory_close_started_ms;
  const results = {
    durable: { ...lane_result(lanes.durable, gc), phases },
    memory: { ...lane_result(lanes.memory, gc), close_ms: Math.round(memory_close_ms) },
  };
  gc.stop();
  const ratios = results.durable.slices.map((d, i) => {
    const m = results.memory.slices[i];
    return {
      index: i, tx_end: d.tx_end,
      calls_per_s: m ? round2(d.calls_per_s / m.calls_per_s) : NaN,
      p99: m ? round2(d.latency.p99_ns / m.latency.p99_ns) : NaN,
      p999: m ? round2(d.latency.p999_ns / m.latency.p999_ns) : NaN,
    };
  });
  const result: FlatResult = {
    window: options.window, transactions: lanes.durable.calls, pairs, lag_pairs: options.lag_pairs, group_calls: options.group_calls,
    chunk_pairs: options.chunk_pairs, slice_calls, generation_ms: Math.round(feed.generation_ms), handovers, forced_handovers: forced,
    durable: results.durable, memory: results.memory, ratios,
    summary: { ...summarise(results.durable, results.memory), in_memory_bound: 2 * lanes.durable.gen_entries, phases: summarise_phases(phases) },
  };
  const aged: AgedWallet = {
    wallet: durable_wallet, dir, window: options.window, users: options.users, samples: keep.samples, recent: keep.recent, pairs,
    close: async () => {
      const started_ms = performance.now();
      await close(durable_wallet);
      return Math.round(performance.now() - started_ms);
    },
  };
  say(`forever W=${options.window}: durable ${result.durable.calls_per_s.toLocaleString('en-US')} calls/s, memory ${result.memory.calls_per_s.toLocaleString('en-US')}, ` +
    `${result.summary.rotations} rotations (stall per rotation p50 ${result.summary.rotation_stall_ms.p50} ms, max ${result.summary.rotation_stall_ms.max} ms), ` +
    `${forced} forced hand-overs of ${handovers}, bodies ${(feed.generation_ms / 1000).toFixed(1)} s`);
  return { result, aged };
}

/** Rotations and slices with the stalls, GC and rotation marks that fall in them. */
function lane_result(lane: Lane, gc: GcWatch): LaneResult {
  const stall_calls = lane.stall_call.subarray(0, lane.stall_count);
  const stall_ns = lane.stall_ns.subarray(0, lane.stall_count);
  const in_rotation = new Uint8Array(lane.stall_count);
  for (const rotation of lane.rotations) {
    const from_call = rotation.asked_call >= 0 ? rotation.asked_call : rotation.flip_call - WATCH_EVERY_PAIRS * 2;
    const to_call = rotation.flip_call + ROTATION_TAIL_CALLS;
    let stall_sum_ns = 0;
    let slowest = 0;
    let count = 0;
    for (let i = lower_bound(stall_calls, from_call); i < lane.stall_count && stall_calls[i] < to_call; i++) {
      stall_sum_ns += stall_ns[i];
      slowest = Math.max(slowest, stall_ns[i]);
      count++;
      in_rotation[i] = 1;
    }
    rotation.max_call_ns = Math.round(slowest);
    rotation.stall_calls = count;
    rotation.stall_ms = round2(stall_sum_ns / 1e6);
    rotation.asked_ms = round2(rotation.asked_ms);
    rotation.flip_ms = round2(rotation.flip_ms);
  }
  const other = { calls: 0, ms: 0, max_ns: 0 };
  for (let i = 0; i < lane.stall_count; i++) {
    if (in_rotation[i]) continue;
    other.calls++;
    other.ms += stall_ns[i] / 1e6;
    other.max_ns = Math.max(other.max_ns, stall_ns[i]);
  }
  other.ms = round2(other.ms);
  let slice_start = 0;
  lane.slices.forEach((slice, i) => {
    slice.rotations_in_slice = lane.rotations.filter((r) => r.flip_call >= slice_start && r.flip_call < slice.tx_end).length;
    slice_start = slice.tx_end;
    slice.gc = merge_gc(lane.slice_clock_intervals[i].map(([from, to]) => gc.summary(from, to)));
  });
  return {
    lane: lane.name, options: lane.options, calls: lane.calls, ok: lane.ok, first_failure: lane.first_failure,
    wall_ms: Math.round(lane.wall_ms), calls_per_s: Math.round((lane.calls / lane.wall_ms) * 1000), latency: lane.all.summary(),
    slices: lane.slices, rotations: lane.rotations, other_stalls: other, stalls_kept: lane.stall_count, stalls_dropped: lane.stalls_dropped,
    slow_paths: lane.slow_paths,
  };
}

function merge_gc(parts: GcSummary[]): GcSummary {
  const merged: GcSummary = { count: 0, total_ms: 0, max_ms: 0, by_kind: {} };
  for (const part of parts) {
    merged.count += part.count;
    merged.total_ms = round2(merged.total_ms + part.total_ms);
    merged.max_ms = Math.max(merged.max_ms, part.max_ms);
    for (const [kind, k] of Object.entries(part.by_kind)) {
      const into = (merged.by_kind[kind] ??= { count: 0, total_ms: 0, max_ms: 0 });
      into.count += k.count;
      into.total_ms = round2(into.total_ms + k.total_ms);
      into.max_ms = Math.max(into.max_ms, k.max_ms);
    }
  }
  return merged;
}

function summarise(d: LaneResult, m: LaneResult): FlatSummary {
  const tenth = Math.max(1, Math.floor(d.slices.length / 10));
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted.length === 0 ? 0 : sorted[Math.floor(sorted.length / 2)];
  };
  const slices_p99 = (lane: LaneResult, from: number, to: number) => median(lane.slices.slice(from, to).map((s) => s.latency.p99_ns));
  const full = d.slices.length - 1; // the last slice is the drain's remainder: not a full slice
  const spread = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
    return { p50: round2(at(0.5)), p90: round2(at(0.9)), max: round2(sorted.at(-1) ?? 0) };
  };
  const timed = d.rotations.filter((r) => r.asked_call >= 0);
  return {
    durable_over_memory_calls_per_s: round2(d.calls_per_s / m.calls_per_s),
    durable_p99_first_tenth_ns: slices_p99(d, 0, tenth), durable_p99_last_tenth_ns: slices_p99(d, full - tenth, full),
    memory_p99_first_tenth_ns: slices_p99(m, 0, tenth), memory_p99_last_tenth_ns: slices_p99(m, full - tenth, full),
    in_memory_max: Math.max(...d.slices.map((slice) => slice.in_memory)), in_memory_bound: 0,
    rotations: d.rotations.length,
    rotation_ms: spread(timed.map((r) => r.flip_ms - r.asked_ms)),
    rotation_max_call_ns: spread(d.rotations.map((r) => r.max_call_ns)),
    rotation_stall_ms: { ...spread(d.rotations.map((r) => r.stall_ms)), total: round2(d.rotations.reduce((s, r) => s + r.stall_ms, 0)) },
    rotation_stall_calls: spread(d.rotations.map((r) => r.stall_calls)),
    phases: null,
    rotations_full: d.rotations.filter((r) => r.full_seen).length,
  };
}

function lower_bound(sorted: Float64Array, value: number): number {
  let low = 0, high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Every file of a data directory and its size. */
export function dir_files(dir: string): Record<string, number> {
  const files: Record<string, number> = {};
  for (const name of readdirSync(dir)) {
    const size = statSync(join(dir, name), { throwIfNoEntry: false })?.size;
    if (size !== undefined) files[name] = size;
  }
  return files;
}
