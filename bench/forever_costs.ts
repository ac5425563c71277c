// Issue #11, parts 2 and 3: what running forever costs per call, and in
// bytes, measured on the durable wallet the flat run left behind (its
// filter holds every uuid it retired; its data directory every retired file).
//
//   (a) a duplicate of a retired uuid: the filter says "maybe", the retired
//       files are searched newest first (src/retired.ts: one 6 KiB pread per
//       file searched), the original answer is replayed. Samples were taken
//       evenly over the retired history and are replayed in random order;
//       each answer is checked (RS_OK, the original request_uuid and balance)
//   (b) a duplicate still in memory, for the ratio
//   (c) new bets on the aged wallet (its filter full of retired uuids, both
//       generations live) vs on a fresh durable wallet of the same options
//       (empty filter, one generation): the difference is the filter check
//       plus the second generation's probe. Rounds alternate; each one starts
//       right after a flip, so no rotation falls inside it
//   (d) the filter's false-positive rate: random uuids probed through the
//       core's filter_knows() (the uuid parsed into this thread's scratch,
//       as a call would): measured vs stats().retiredFilterFalsePositiveRate
//       vs a model of a blocked filter; the hits are then placed as new bets:
//       what a false positive costs. Also a filter filled to 1/4 … 4 x its
//       capacity on a wallet of its own.
//
// How a slow path is counted: forever_slow_path.ts.

import { mkdtempSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { start, createUsers, bet, win, balance, stats, close, durable, RS_OK, type Wallet } from 'exwallet';
import { Wallet as WalletImpl } from 'exwallet/internal/wallet';
import { L, compute_layout, type Layout } from 'exwallet/internal/layout';
import { parse_uuid } from 'exwallet/internal/uuid';
import { add_uuids_to_filter } from 'exwallet/internal/rotation';
import { RetiredStore, write_retired_file, RETIRED_FDS_HELD_MAX } from 'exwallet/internal/retired';
import { install_find_counter, retired_finds } from './forever_slow_path.js';
import { scan_journal } from 'exwallet/internal/journal_format';
import { layout_of } from 'exwallet/testing';
import { Random } from '../tools/random.js';
import { random_journal_records, random_uuid_bytes } from '../tools/journal_records.js';
import { bet_body, win_body, replay_body, uuid_v4, CURRENCY, INITIAL_BALANCE_UNITS, type BetBody } from './bodies.js';
import { log } from './lib.js';
import { users_max_for } from './throughput.js';
import { summarise_ns, type LatencyRow } from './forever_histogram.js';
import { dir_files, type AgedWallet } from './forever_flat.js';

export interface CostOptions {
  seed: number;
  /** Replays of retired uuids timed (after `dup_warmup` untimed-in-the-figure ones). */
  dup_calls: number;
  dup_warmup: number;
  new_bet_rounds: number;
  /** Random uuids probed through the filter. */
  filter_probes: number;
  /** False positives placed as bets, at most. */
  fp_bets_max: number;
  data_dir_parent: string;
}

const header_word = (field: number) => (L.HEADER_OFFSET + field) >>> 2;
const next_turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const round2 = (value: number) => Math.round(value * 100) / 100;

function shuffle<T>(rng: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function retired_file_count(dir: string): number {
  return readdirSync(dir).filter((name) => /^retired-[0-9a-f]{16}\.bin$/.test(name)).length;
}

// ---------------------------------------------------------------------------
// (a), (b): replays.

export interface ReplayCost {
  what: 'retired' | 'in memory';
  calls: number;
  distinct: number;
  /** Calls that searched the retired files (expected: all for retired, none in memory). */
  slow_path_calls: number;
  wrong_answers: number;
  retired_files: number;
  latency_us: ReturnType<typeof us_of>;
  /** Retired only: the first `dup_warmup` replays (each file's sparse keys loaded on its first search). */
  warmup_calls?: number;
  warmup_latency_us?: ReturnType<typeof us_of>;
  /** Retired only: median µs by the age of the replayed bet, oldest quarter first. */
  p50_us_by_age_quarter?: number[];
  /** Retired only: files searched per replay on average (newest first: a bet in the k-th newest file costs k reads). */
  mean_files_searched?: number;
  /** Retired only: (mean retired replay - mean in-memory replay) / mean files searched. */
  us_per_file_searched?: number;
}

function us_of(row: LatencyRow & { p90_ns: number }) {
  const us = (ns: number) => Math.round(ns / 10) / 100;
  return { p50: us(row.p50_ns), p90: us(row.p90_ns), p99: us(row.p99_ns), mean: us(row.mean_ns), max: us(row.max_ns) };
}

function time_replays(wallet: Wallet, bodies: BetBody[], expected: Array<{ request_uuid: string; balance: number | undefined }>) {
  const durations = new Float64Array(bodies.length);
  const slow = new Uint8Array(bodies.length);
  let wrong = 0;
  for (let i = 0; i < bodies.length; i++) {
    const finds_before = retired_finds();
    const t0 = process.hrtime.bigint();
    const answer = bet(wallet, bodies[i]);
    durations[i] = Number(process.hrtime.bigint() - t0);
    slow[i] = retired_finds() > finds_before ? 1 : 0;
    const want = expected[i];
    if (answer.status !== RS_OK || answer.request_uuid !== want.request_uuid || (want.balance !== undefined && answer.balance !== want.balance)) wrong++;
  }
  return { durations, slow, wrong };
}

function replay_retired(aged: AgedWallet, options: CostOptions, rng: Random): ReplayCost {
  const picked = shuffle(rng, [...aged.samples]);
  const warm = picked.slice(0, options.dup_warmup);
  const timed = picked.slice(options.dup_warmup, options.dup_warmup + options.dup_calls);
  const files = retired_file_count(aged.dir);
  const run = (list: typeof picked) => time_replays(
    aged.wallet, list.map((s) => replay_body(rng, s.body)), list.map((s) => ({ request_uuid: s.body.request_uuid, balance: s.balance })),
  );
  const warm_run = run(warm);
  const timed_run = run(timed);
  const retired_pairs = Math.max(1, aged.pairs - aged.window);
  const quarters: number[][] = [[], [], [], []];
  timed.forEach((s, i) => quarters[Math.min(3, Math.floor((4 * s.pair) / retired_pairs))].push(timed_run.durations[i]));
  const summary = summarise_ns(timed_run.durations);
  // A bet of pair p sits in a file of rank ~ (1 - p / retired_pairs) x files from the newest:
  // on average (files + 1) / 2 files are searched.
  const mean_files_searched = timed.reduce((sum, s) => sum + 1 + (1 - s.pair / retired_pairs) * (files - 1), 0) / Math.max(1, timed.length);
  return {
    what: 'retired', calls: timed.length, distinct: timed.length, slow_path_calls: timed_run.slow.reduce((a, b) => a + b, 0),
    wrong_answers: timed_run.wrong + warm_run.wrong, retired_files: files, latency_us: us_of(summary),
    warmup_calls: warm.length, warmup_latency_us: us_of(summarise_ns(warm_run.durations)),
    p50_us_by_age_quarter: quarters.map((q) => Math.round(summarise_ns(q).p50_ns / 10) / 100),
    mean_files_searched: round2(mean_files_searched),
  };
}

function replay_in_memory(aged: AgedWallet, options: CostOptions, rng: Random): ReplayCost {
  const recent = aged.recent;
  const bodies: BetBody[] = [];
  const expected: Array<{ request_uuid: string; balance: undefined }> = [];
  for (let i = 0; i < options.dup_calls; i++) {
    const original = recent[rng.below(recent.length)];
    bodies.push(replay_body(rng, original));
    expected.push({ request_uuid: original.request_uuid, balance: undefined });
  }
  const run = time_replays(aged.wallet, bodies, expected);
  return {
    what: 'in memory', calls: bodies.length, distinct: recent.length, slow_path_calls: run.slow.reduce((a, b) => a + b, 0),
    wrong_answers: run.wrong, retired_files: retired_file_count(aged.dir), latency_us: us_of(summarise_ns(run.durations)),
  };
}

// ---------------------------------------------------------------------------
// (c): new bets, aged vs fresh.

export interface NewBetCost {
  bets_per_round: number;
  rounds: number;
  /** Per round: the median bet (ns), and the mean. */
  aged_p50_ns: number[];
  fresh_p50_ns: number[];
  aged_mean_ns: number[];
  fresh_mean_ns: number[];
  /** Medians over the rounds of the per-round medians. */
  aged_median_ns: number;
  fresh_median_ns: number;
  /** aged - fresh: the filter check + the second generation's probe (+ noise). */
  difference_ns: number;
  aged_slow_path_calls: number;
  /** Aged rounds that could not start right after a flip (a rotation may have run inside them). */
  rounds_without_flip: number;
  aged_filter_keys: number;
  aged_retired_files: number;
}

/** Play new bet+win pairs until the generation flips and the rotator is idle: the start of a quiet stretch.
 *  Returns whether it flipped within `pairs_max` pairs. */
async function advance_to_flip(wallet: Wallet, rng: Random, users: readonly string[], pairs_max: number): Promise<boolean> {
  const core = WalletImpl.core_of(wallet);
  const seq0 = Atomics.load(core.u32, header_word(L.H_GEN_WORD)) >>> 1;
  let played = 0;
  let flipped = false;
  for (; played < pairs_max && !flipped; played++) {
    const placed = bet_body(rng, users);
    bet(wallet, placed);
    win(wallet, win_body(rng, placed));
    if (played % 100 === 0) {
      flipped = Atomics.load(core.u32, header_word(L.H_GEN_WORD)) >>> 1 !== seq0;
      if (played % 1000 === 0) {
        await durable(wallet);
        await next_turn();
      }
    }
  }
  for (let wait = 0; wait < 500 && Atomics.load(core.u32, header_word(L.H_ROTATING)) !== L.ROTATION_NONE; wait++) await sleep(2);
  await durable(wallet);
  return flipped;
}

/** `bodies` as new bets, each timed (two hrtime reads, ~60 ns, included): the
 *  median and the mean per bet. Then their wins, untimed. */
async function time_new_bets(wallet: Wallet, bodies: BetBody[], rng: Random, users: readonly string[]): Promise<{ p50_ns: number; mean_ns: number; slow: number; failed: number }> {
  // Every user in this thread's name -> slot cache (a fresh wallet's is empty: its first bet per user would look the name up).
  for (const user of users) balance(wallet, { user, request_uuid: '00000000-0000-4000-8000-000000000000' });
  await durable(wallet);
  await sleep(100); // workers that just started (a fresh wallet's flusher, rotator) are past their start-up
  const finds_before = retired_finds();
  const durations = new Float64Array(bodies.length);
  let failed = 0;
  for (let i = 0; i < bodies.length; i++) {
    const t0 = process.hrtime.bigint();
    const answer = bet(wallet, bodies[i]);
    durations[i] = Number(process.hrtime.bigint() - t0);
    if (answer.status !== RS_OK) failed++;
  }
  const slow = retired_finds() - finds_before;
  for (const placed of bodies) win(wallet, win_body(rng, placed));
  await durable(wallet);
  const summary = summarise_ns(durations);
  return { p50_ns: summary.p50_ns, mean_ns: summary.mean_ns, slow, failed };
}

async function new_bets(aged: AgedWallet, options: CostOptions, rng: Random): Promise<NewBetCost> {
  const layout = layout_of(aged.wallet);
  // From a fresh flip (fill ~0) these use 60 % of the generation: below the 75 % that asks for a rotation.
  const per_round = Math.floor((0.3 * layout.gen_budget));
  const aged_ns: number[] = [], aged_mean: number[] = [];
  const fresh_ns: number[] = [], fresh_mean: number[] = [];
  let slow = 0;
  let without_flip = 0;
  const aged_round = async () => {
    if (!(await advance_to_flip(aged.wallet, rng, aged.users, layout.gen_budget))) without_flip++;
    const aged_run = await time_new_bets(aged.wallet, Array.from({ length: per_round }, () => bet_body(rng, aged.users)), rng, aged.users);
    if (aged_run.failed > 0) throw new Error(`new bets on the aged wallet: ${aged_run.failed} not RS_OK`);
    aged_ns.push(aged_run.p50_ns);
    aged_mean.push(aged_run.mean_ns);
    slow += aged_run.slow;
  };
  const fresh_round = async () => {
    const dir = mkdtempSync(join(options.data_dir_parent, 'exwallet-forever-fresh-'));
    const fresh = start({
      dataDir: dir, maxTransactions: aged.window, maxUsers: users_max_for(aged.users.length), maxThreads: 16,
      initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY, prefault: true,
    });
    try {
      createUsers(fresh, aged.users);
      const fresh_run = await time_new_bets(fresh, Array.from({ length: per_round }, () => bet_body(rng, aged.users)), rng, aged.users);
      if (fresh_run.failed > 0) throw new Error(`new bets on a fresh wallet: ${fresh_run.failed} not RS_OK`);
      if (stats(fresh).rotations !== 0) throw new Error('the fresh wallet rotated during the measurement');
      fresh_ns.push(fresh_run.p50_ns);
      fresh_mean.push(fresh_run.mean_ns);
    } finally {
      await close(fresh);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  for (let round = 0; round < options.new_bet_rounds; round++) {
    // Alternate which goes first: a drift of the machine's load lands on both.
    if (round % 2 === 0) {
      await aged_round();
      await fresh_round();
    } else {
      await fresh_round();
      await aged_round();
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const s = stats(aged.wallet);
  return {
    bets_per_round: per_round, rounds: options.new_bet_rounds, aged_p50_ns: aged_ns, fresh_p50_ns: fresh_ns, aged_mean_ns: aged_mean, fresh_mean_ns: fresh_mean,
    aged_median_ns: median(aged_ns), fresh_median_ns: median(fresh_ns), difference_ns: median(aged_ns) - median(fresh_ns),
    aged_slow_path_calls: slow, rounds_without_flip: without_flip, aged_filter_keys: s.retiredFilterKeys, aged_retired_files: retired_file_count(aged.dir),
  };
}

// ---------------------------------------------------------------------------
// (d): the filter's false positives.

export interface FilterProbe {
  keys: number;
  capacity: number;
  load: number;
  probes: number;
  hits: number;
  measured_rate: number;
  /** stats().retiredFilterFalsePositiveRate. */
  estimated_rate: number;
  /** A blocked Bloom filter's rate (keys per 512-bit block ~ Poisson, 8 independent bits per key). */
  model_rate: number;
  /** The same filter simulated in JS with random 64-bit hashes: the core's derivation of block and bits
   *  (assembly/idempotency_table.ts filter_maybe), and 8 independent bits per key. Synthetic rows only. */
  simulated_core_rate?: number;
  simulated_independent_rate?: number;
}

export interface FilterCost {
  in_situ: FilterProbe & { ns_per_check: number; ns_per_parse: number; filter_bytes: number };
  /** The hits placed as new bets: each searched every retired file, then applied. */
  false_positive_bets: { calls: number; slow_path_calls: number; failed: number; retired_files: number; latency_us: ReturnType<typeof us_of> };
  synthetic: FilterProbe[];
}

/** A blocked Bloom filter (FILTER_PROBES bits in one of `blocks` 512-bit
 *  blocks per key): the chance that a key not in it finds its bits set. */
export function blocked_filter_rate(keys: number, blocks: number): number {
  if (keys === 0 || blocks === 0) return 0;
  const bits_per_block = L.FILTER_BLOCK_BYTES * 8;
  const lambda = keys / blocks;
  const spread = 12 * Math.sqrt(lambda) + 30;
  let rate = 0;
  for (let k = Math.max(0, Math.floor(lambda - spread)); k <= Math.ceil(lambda + spread); k++) {
    const poisson = Math.exp(-lambda + k * Math.log(lambda) - log_factorial(k)); // P(k keys in a block), in logs: no underflow
    rate += poisson * (1 - (1 - 1 / bits_per_block) ** (L.FILTER_PROBES * k)) ** L.FILTER_PROBES;
  }
  return Math.min(1, rate);
}

/** ln(k!): exact below 32, Stirling's series above (error < 1e-10). */
function log_factorial(k: number): number {
  if (k < 32) {
    let sum = 0;
    for (let i = 2; i <= k; i++) sum += Math.log(i);
    return sum;
  }
  return k * Math.log(k) - k + 0.5 * Math.log(2 * Math.PI * k) + 1 / (12 * k) - 1 / (360 * k ** 3);
}

/** `probes` uuid texts (made beforehand) through filter_knows(); the ones it knows. */
function probe_texts(wallet: Wallet, rng: Random, probes: number): { hits: string[]; ns_per_check: number; ns_per_parse: number } {
  const core = WalletImpl.core_of(wallet);
  const word = core.scratch_u32 + (L.S_UUID >>> 2);
  const hits: string[] = [];
  let check_ns = 0, parse_ns = 0;
  const batch = 100_000;
  for (let done = 0; done < probes; done += batch) {
    const texts = Array.from({ length: Math.min(batch, probes - done) }, () => uuid_v4(rng));
    let t0 = process.hrtime.bigint();
    for (const text of texts) parse_uuid(text, core.u32, word);
    parse_ns += Number(process.hrtime.bigint() - t0);
    t0 = process.hrtime.bigint();
    for (const text of texts) {
      parse_uuid(text, core.u32, word);
      if (core.exports.filter_knows()) hits.push(text);
    }
    check_ns += Number(process.hrtime.bigint() - t0);
  }
  return { hits, ns_per_check: round2(check_ns / probes), ns_per_parse: round2(parse_ns / probes) };
}

function probe_row(wallet: Wallet, probes: number, hits: number): FilterProbe {
  const s = stats(wallet);
  const layout = layout_of(wallet);
  return {
    keys: s.retiredFilterKeys, capacity: s.retiredFilterCapacity, load: round2(s.retiredFilterKeys / s.retiredFilterCapacity), probes, hits,
    measured_rate: hits / probes, estimated_rate: s.retiredFilterFalsePositiveRate, model_rate: blocked_filter_rate(s.retiredFilterKeys, layout.filter_blocks),
  };
}

async function filter_costs(aged: AgedWallet, options: CostOptions, rng: Random): Promise<FilterCost> {
  const probed = probe_texts(aged.wallet, rng, options.filter_probes);
  const layout = layout_of(aged.wallet);
  const in_situ = { ...probe_row(aged.wallet, options.filter_probes, probed.hits.length), ns_per_check: probed.ns_per_check, ns_per_parse: probed.ns_per_parse, filter_bytes: layout.filter_blocks * L.FILTER_BLOCK_BYTES };

  // The hits as new bets, right after a flip (they take budget; no rotation inside).
  await advance_to_flip(aged.wallet, rng, aged.users, layout.gen_budget);
  const count = Math.min(probed.hits.length, options.fp_bets_max, Math.floor(0.2 * layout.gen_budget));
  const bodies = probed.hits.slice(0, count).map((uuid) => ({ ...bet_body(rng, aged.users), transaction_uuid: uuid }));
  const durations = new Float64Array(count);
  let slow = 0, failed = 0;
  for (let i = 0; i < count; i++) {
    const finds_before = retired_finds();
    const t0 = process.hrtime.bigint();
    const answer = bet(aged.wallet, bodies[i]);
    durations[i] = Number(process.hrtime.bigint() - t0);
    if (retired_finds() > finds_before) slow++;
    if (answer.status !== RS_OK) failed++;
  }
  for (const placed of bodies) win(aged.wallet, win_body(rng, placed));
  await durable(aged.wallet);
  return {
    in_situ,
    false_positive_bets: { calls: count, slow_path_calls: slow, failed, retired_files: retired_file_count(aged.dir), latency_us: us_of(summarise_ns(durations)) },
    synthetic: [],
  };
}

/** The core's filter in JS, on random hashes: the split-block derivation of
 *  assembly/idempotency_table.ts since f79ec46 (the block is fast_range of
 *  the low 32 bits of the mix, probe i sets bit [6i, 6i + 6) of a second mix
 *  in word i of the block; the second mix is drawn as fresh random bits).
 *  `independent`: 8 bits anywhere in the 512-bit block instead (the
 *  classic blocked filter). */
export function simulate_filter(blocks: number, loads_keys: number[], probes: number, seed: number, independent: boolean): number[] {
  const words = new Uint32Array(blocks * 16);
  const rng = new Random(seed, independent ? 1501 : 1500);
  const bits = new Uint16Array(L.FILTER_PROBES);
  const draw = (): number => {
    const hi = rng.next_u32(), lo = rng.next_u32();
    if (independent) {
      for (let i = 0; i < L.FILTER_PROBES; i++) bits[i] = rng.below(512);
    } else {
      const a = rng.next_u32(), b = rng.next_u32();
      for (let i = 0; i < 5; i++) bits[i] = (i << 6) | ((a >>> (6 * i)) & 63);
      for (let i = 5; i < L.FILTER_PROBES; i++) bits[i] = (i << 6) | ((b >>> (6 * (i - 5))) & 63);
      return Math.floor((lo * blocks) / 4_294_967_296) * 16;
    }
    return Math.floor((hi * blocks) / 4_294_967_296) * 16;
  };
  const rates: number[] = [];
  let keys = 0;
  for (const target of loads_keys) {
    for (; keys < target; keys++) {
      const base = draw();
      for (let i = 0; i < L.FILTER_PROBES; i++) words[base + (bits[i] >>> 5)] |= 1 << (bits[i] & 31);
    }
    let hits = 0;
    for (let p = 0; p < probes; p++) {
      const base = draw();
      let all = true;
      for (let i = 0; i < L.FILTER_PROBES && all; i++) all = (words[base + (bits[i] >>> 5)] & (1 << (bits[i] & 31))) !== 0;
      if (all) hits++;
    }
    rates.push(hits / probes);
  }
  return rates;
}

/** A filter of `capacity` on a wallet of its own, filled to each load in turn, probed with random uuids. */
export async function synthetic_filter(capacity: number, loads: number[], probes: number, seed: number, parent: string): Promise<FilterProbe[]> {
  const dir = mkdtempSync(join(parent, 'exwallet-forever-filter-'));
  const wallet = start({ dataDir: dir, maxTransactions: 1024, maxUsers: 16, maxThreads: 4, retiredFilterCapacity: capacity });
  const rng = new Random(seed, 1300);
  const rows: FilterProbe[] = [];
  try {
    const core = WalletImpl.core_of(wallet);
    const word = core.scratch_u32 + (L.S_UUID >>> 2);
    let keys = 0;
    for (const load of loads) {
      const target = Math.round(load * capacity);
      const add = Buffer.alloc((target - keys) * 16);
      for (let at = 0; at < add.length; at += 4) add.writeUInt32LE(rng.next_u32(), at);
      add_uuids_to_filter(core, add);
      keys = target;
      let hits = 0;
      for (let i = 0; i < probes; i++) {
        core.u32[word] = rng.next_u32();
        core.u32[word + 1] = rng.next_u32();
        core.u32[word + 2] = rng.next_u32();
        core.u32[word + 3] = rng.next_u32();
        if (core.exports.filter_knows()) hits++;
      }
      rows.push(probe_row(wallet, probes, hits));
    }
    const blocks = layout_of(wallet).filter_blocks;
    const targets = loads.map((load) => Math.round(load * capacity));
    const core_rates = simulate_filter(blocks, targets, probes, seed, false);
    const independent_rates = simulate_filter(blocks, targets, probes, seed, true);
    rows.forEach((row, i) => {
      row.simulated_core_rate = core_rates[i];
      row.simulated_independent_rate = independent_rates[i];
    });
  } finally {
    await close(wallet);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

// ---------------------------------------------------------------------------
// Part 3: bytes.

export interface ByteFigures {
  layout: {
    memory_bytes: number;
    gen_budget: number;
    gen_entries: number;
    /** Transaction index + entries of both generations, per budget unit of maxTransactions. */
    window_bytes_per_unit: number;
    /** The same per transaction of this run (a bet and its win share a bet's 2 units: 1 unit per transaction). */
    window_bytes_per_tx: number;
    filter_bytes: number;
    filter_bytes_per_capacity_uuid: number;
    filter_bytes_per_retired_uuid: number;
    rings_bytes: number;
  };
  disk: {
    files: Record<string, number>;
    retired_files: number;
    retired_records: number;
    retired_bytes: number;
    retired_bytes_per_tx: number;
    records_per_retired_file: number;
    /** Sparse keys a thread holds once it searched every file. */
    sparse_index_bytes_per_tx: number;
    journal_bytes: number;
    journal_records: number;
    journal_bytes_per_tx: number | null;
    checkpoint_bytes: number;
    checkpoint_records: number;
  };
}

export function byte_figures(aged: AgedWallet): ByteFigures {
  const layout: Layout = layout_of(aged.wallet);
  const window_bytes = layout.tx_index_capacity * L.INDEX_WORD_BYTES + layout.tx_entries_max * L.ENTRY_SIZE_BYTES;
  const s = stats(aged.wallet);
  const filter_bytes = layout.filter_blocks * L.FILTER_BLOCK_BYTES;
  const store = new RetiredStore(aged.dir);
  store.find(Buffer.alloc(16)); // loads every file's sparse keys
  const retired_records = store.record_count_total();
  const retired_bytes = store.bytes_total();
  const index_bytes = store.index_bytes_total();
  const retired_files = store.files().length;
  store.close();
  const files = dir_files(aged.dir);
  let journal_bytes = 0, journal_records = 0;
  for (const name of Object.keys(files).filter((n) => /^journal-[0-9a-f]{16}\.log$/.test(n))) {
    const file = readFileSync(join(aged.dir, name));
    const scan = scan_journal(file, 0);
    for (const batch of scan.batches) journal_records += batch.record_count;
    journal_bytes += scan.valid_bytes;
  }
  let checkpoint_records = 0;
  if ((files['checkpoint.bin'] ?? 0) >= 64) checkpoint_records = readFileSync(join(aged.dir, 'checkpoint.bin')).readUInt32LE(16);
  return {
    layout: {
      memory_bytes: layout.memory_bytes, gen_budget: layout.gen_budget, gen_entries: layout.gen_entries,
      window_bytes_per_unit: round2(window_bytes / layout.tx_max), window_bytes_per_tx: round2(window_bytes / layout.tx_max),
      filter_bytes, filter_bytes_per_capacity_uuid: round2(filter_bytes / layout.filter_capacity),
      filter_bytes_per_retired_uuid: s.retiredFilterKeys > 0 ? round2(filter_bytes / s.retiredFilterKeys) : 0,
      rings_bytes: layout.threads_max * layout.ring_bytes,
    },
    disk: {
      files, retired_files, retired_records, retired_bytes, retired_bytes_per_tx: round2(retired_bytes / Math.max(1, retired_records)),
      records_per_retired_file: Math.round(retired_records / Math.max(1, retired_files)),
      sparse_index_bytes_per_tx: Math.round((index_bytes / Math.max(1, retired_records)) * 1000) / 1000,
      journal_bytes, journal_records, journal_bytes_per_tx: journal_records > 0 ? round2(journal_bytes / journal_records) : null,
      checkpoint_bytes: files['checkpoint.bin'] ?? 0, checkpoint_records,
    },
  };
}

/** The disk's part of a rotation: one retired file of `records` records written as the rotator does (sort, write, fsync, rename, fsync dir). */
export function retired_write_ms(records: number, parent: string, seed: number, rounds = 3): number[] {
  const dir = mkdtempSync(join(parent, 'exwallet-forever-write-'));
  const rng = new Random(seed, 1400);
  try {
    const out: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const buffer = random_journal_records(rng, records);
      const t0 = performance.now();
      write_retired_file(dir, round + 1, buffer, Date.now());
      out.push(round2(performance.now() - t0));
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A search of the retired files per file, where the store holds the file's
 *  descriptor (the newest RETIRED_FDS_HELD_MAX) and where it opens and closes
 *  the file for the read: absent uuids (every file searched) over that many
 *  small files, then over twice that many. */
export function per_file_search_us(parent: string, seed: number, searches = 200): { held_us: number; opened_us: number } {
  const dir = mkdtempSync(join(parent, 'exwallet-forever-files-'));
  const rng = new Random(seed, 1700);
  const absent_us = (files: number) => {
    const store = new RetiredStore(dir);
    store.find(random_uuid_bytes(rng)); // loads every file's sparse keys
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < searches; i++) store.find(random_uuid_bytes(rng));
    const us = Number(process.hrtime.bigint() - t0) / 1000 / searches;
    if (store.files().length !== files) throw new Error(`expected ${files} retired files, found ${store.files().length}`);
    store.close();
    return us;
  };
  try {
    let seq = 0;
    const add = (count: number) => {
      for (let i = 0; i < count; i++) write_retired_file(dir, ++seq, random_journal_records(rng, 512), Date.now());
    };
    add(RETIRED_FDS_HELD_MAX);
    const held = absent_us(RETIRED_FDS_HELD_MAX);
    add(RETIRED_FDS_HELD_MAX);
    const both = absent_us(2 * RETIRED_FDS_HELD_MAX);
    return { held_us: round2(held / RETIRED_FDS_HELD_MAX), opened_us: round2((both - held) / RETIRED_FDS_HELD_MAX) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// The 4-month table: what retention x rate costs, from this run's figures.

export interface MonthsRow {
  tx_per_s: number;
  transactions: number;
  /** Sized for every retired uuid of the retention (retiredFilterCapacity = transactions; the option allows at most 2^30). */
  filter_bytes: number;
  filter_capacity_allowed: boolean;
  /** The default capacity (64 x maxTransactions, at most 64M) at that many keys: its false-positive rate. */
  default_filter_capacity: number;
  default_filter_rate: number;
  /** Days until the default filter holds its capacity (the filter only forgets at a restart). */
  default_filter_full_days: number;
  retired_disk_bytes: number;
  journal_and_checkpoint_bytes: number;
  retired_files: number;
  sparse_index_bytes_per_thread: number;
  /** Replay of a retired uuid: half the files searched; a false positive: all of them. */
  replay_us: number;
  false_positive_us: number;
  /** What the false positives add to an average new bet at the end of the retention: with the filter
   *  sized for it (at capacity: `rate_at_capacity`, measured), and with the default capacity. */
  slow_path_us_per_bet_sized: number;
  slow_path_us_per_bet_default: number;
  /** Shared memory at the default options with the filter sized for the retention: fits in 4 GiB (and the option's 2^30)? */
  shared_bytes_default_options: number;
  fits_4_gib: boolean;
  /** The largest maxTransactions whose window still fits beside that filter (1024 thread slots; 16); 0: none. */
  max_window_1024_threads: number;
  max_window_16_threads: number;
}

const GIB4 = 4 * 2 ** 30;
const DEFAULT_TX = 4_194_304;
const DEFAULT_USERS = 1_048_576;

function shared_bytes(tx_max: number, threads_max: number, filter_capacity: number): number {
  return compute_layout({
    users_max: DEFAULT_USERS, tx_max, threads_max, ring_records: L.RING_RECORDS_DEFAULT, gen_count: L.GEN_COUNT_DURABLE, filter_capacity,
  }).memory_bytes;
}

function max_window(threads_max: number, filter_capacity: number): number {
  if (shared_bytes(2 * L.BET_UNITS, threads_max, filter_capacity) > GIB4) return 0;
  let low = 2 * L.BET_UNITS, high = 1 << 26;
  if (shared_bytes(high, threads_max, filter_capacity) <= GIB4) return high;
  while (high - low > 1024) {
    const mid = Math.floor((low + high) / 2);
    if (shared_bytes(mid, threads_max, filter_capacity) <= GIB4) low = mid;
    else high = mid;
  }
  return low;
}

/** `files` files searched newest first: the newest RETIRED_FDS_HELD_MAX at `held_us` each, the rest at `opened_us`. */
/** A replay of a uniformly old retired uuid: the mean over k = 1 .. files of searching k files. */
function mean_replay_us(files: number, held_us: number, opened_us: number): number {
  let sum = 0;
  for (let k = 1; k <= files; k++) sum += search_us(k, held_us, opened_us);
  return sum / Math.max(1, files);
}

function search_us(files: number, held_us: number, opened_us: number): number {
  const held = Math.min(files, RETIRED_FDS_HELD_MAX);
  return held * held_us + (files - held) * opened_us;
}

export function four_month_table(
  bytes: ByteFigures, per_file: { held_us: number; opened_us: number }, tx_per_file_per_unit: number, rate_at_capacity: number, retention_days = 120,
): MonthsRow[] {
  const seconds = retention_days * 86_400;
  const default_capacity = Math.min(L.FILTER_WINDOWS_DEFAULT * DEFAULT_TX, L.FILTER_CAPACITY_DEFAULT_MAX);
  const default_blocks = Math.ceil((default_capacity * L.FILTER_BITS_PER_KEY) / (L.FILTER_BLOCK_BYTES * 8));
  const tx_per_file = tx_per_file_per_unit * DEFAULT_TX;
  return [10, 100, 1000].map((rate) => {
    const transactions = rate * seconds;
    const filter_blocks = Math.ceil((transactions * L.FILTER_BITS_PER_KEY) / (L.FILTER_BLOCK_BYTES * 8));
    const files = Math.ceil(transactions / tx_per_file);
    const allowed = transactions <= 2 ** 30;
    const shared = shared_bytes(DEFAULT_TX, 1024, transactions);
    const false_positive_us = search_us(files, per_file.held_us, per_file.opened_us);
    const default_rate = blocked_filter_rate(transactions, default_blocks);
    return {
      tx_per_s: rate, transactions,
      filter_bytes: filter_blocks * L.FILTER_BLOCK_BYTES, filter_capacity_allowed: allowed,
      default_filter_capacity: default_capacity, default_filter_rate: default_rate,
      default_filter_full_days: round2(default_capacity / rate / 86_400),
      retired_disk_bytes: Math.round(transactions * bytes.disk.retired_bytes_per_tx),
      journal_and_checkpoint_bytes: (64 << 20) + DEFAULT_TX * L.JOURNAL_RECORD_BYTES,
      retired_files: files,
      sparse_index_bytes_per_thread: Math.round(transactions * bytes.disk.sparse_index_bytes_per_tx),
      replay_us: Math.round(mean_replay_us(files, per_file.held_us, per_file.opened_us)),
      false_positive_us: Math.round(false_positive_us),
      slow_path_us_per_bet_sized: round2(rate_at_capacity * false_positive_us),
      slow_path_us_per_bet_default: round2(default_rate * false_positive_us),
      shared_bytes_default_options: shared, fits_4_gib: allowed && shared <= GIB4,
      max_window_1024_threads: allowed ? max_window(1024, transactions) : 0, max_window_16_threads: allowed ? max_window(16, transactions) : 0,
    };
  });
}

// ---------------------------------------------------------------------------

export interface CostResult {
  window: number;
  replay_retired: ReplayCost;
  replay_in_memory: ReplayCost;
  retired_over_in_memory_p50: number;
  new_bets: NewBetCost;
  filter: FilterCost;
  bytes: ByteFigures;
  /** write_retired_file of one generation's records here (ms, 3 rounds): the disk's part of a rotation. */
  retired_write_ms: number[];
  retired_fds_held_max: number;
}

export async function measure_costs(aged: AgedWallet, options: CostOptions): Promise<CostResult> {
  install_find_counter();
  const rng = new Random(options.seed, 1200 + (aged.window % 1000));
  log(`forever W=${aged.window} costs: ${options.dup_calls.toLocaleString('en-US')} replays of retired uuids over ${retired_file_count(aged.dir)} files`);
  const replay_retired_cost = replay_retired(aged, options, rng);
  const replay_in_memory_cost = replay_in_memory(aged, options, rng);
  replay_retired_cost.us_per_file_searched = round2(
    (replay_retired_cost.latency_us.mean - replay_in_memory_cost.latency_us.mean) / (replay_retired_cost.mean_files_searched ?? 1),
  );
  log(`  replay: retired p50 ${replay_retired_cost.latency_us.p50} µs, in memory p50 ${replay_in_memory_cost.latency_us.p50} µs; new bets aged vs fresh (${options.new_bet_rounds} rounds)`);
  const bytes = byte_figures(aged); // before the rounds below add files
  const new_bet_cost = await new_bets(aged, options, rng);
  log(`  new bets: aged ${new_bet_cost.aged_median_ns} ns, fresh ${new_bet_cost.fresh_median_ns} ns; filter probes ${options.filter_probes.toLocaleString('en-US')}`);
  const filter = await filter_costs(aged, options, rng);
  const write_ms = retired_write_ms(bytes.disk.records_per_retired_file, options.data_dir_parent, options.seed);
  return {
    window: aged.window, replay_retired: replay_retired_cost, replay_in_memory: replay_in_memory_cost,
    retired_over_in_memory_p50: round2(replay_retired_cost.latency_us.p50 / replay_in_memory_cost.latency_us.p50),
    new_bets: new_bet_cost, filter, bytes, retired_write_ms: write_ms, retired_fds_held_max: RETIRED_FDS_HELD_MAX,
  };
}
