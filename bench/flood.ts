// Hash flooding: what crafted transaction uuids and user names cost the
// wallet, against random ones, in one run. See bench/README.md "Hash flooding".
//
//   node dist/bench/flood.js [--quick] [--seed n] [--rounds n] [--only bets,users,single]
//        [--out file.json] [--baseline before.json]
//
// The crafted sets (bench/flood_craft.ts) collide under the hash functions of
// the core BEFORE the keyed-hash change (f41a55c): 64-bit collisions for the
// idempotency table's uuid hash and for the user table's name hash. Against
// that build they cost quadratic probing; against a build whose hashes are
// keyed by a per-wallet random seed they must cost what random inputs cost.
//
//   (a) 60,000 new bets whose transaction_uuids all share one (old) hash, vs
//       60,000 with random uuids, each on a fresh wallet: total, ns/call, p99
//   (b) then 10,000 ordinary random bets (the same bodies) on each of the two
//       wallets: the flooded one vs the clean one (same occupancy)
//   (c) createUsers of 12,000 crafted names vs 12,000 random names (same
//       length, printable ASCII), each on a fresh wallet
//   (d) plain single-thread bet ns/op: 1M new bets, 10k users, best of 3
//
// Self-contained on purpose: it imports only the public API of 'exwallet'
// and ./flood_craft.js, so this same file runs on the baseline worktree and
// on the changed tree. Every wallet has prefault: true (no first-touch page
// faults inside a timed call). Per-call times are two performance.now()
// reads around the call (~40 ns, included). Output: a table on stdout,
// progress on stderr, JSON to bench/results/flood.json (--quick:
// bench/results/quick.tmp/flood.json). Exit code 2 if a check failed.

import { spawnSync, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync, readFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createHistogram } from 'node:perf_hooks';
import os from 'node:os';
import { start, createUsers, bet, balance, detach, RS_OK, type Wallet } from 'exwallet';
import {
  FloodRng, crafted_uuids, crafted_names, random_names, check_old_hash_vectors, old_hash_uuid, old_hash_name,
} from './flood_craft.js';

const SCHEMA = 'exwallet-flood/1';
const NODE_FLAGS = ['--expose-gc', '--max-old-space-size=4096'];

interface Sizes {
  /** Bets of (a), crafted and random each. */
  flood_bets: number;
  /** Ordinary bets of (b) on each wallet after the flood. */
  probe_bets: number;
  /** Users the bets of (a), (b), (d) are drawn from. */
  bettors: number;
  /** Names of (c), crafted and random each. */
  names: number;
  warmup_bets: number;
  warmup_names: number;
  single_calls: number;
  single_warmup: number;
  single_rounds: number;
}

const SIZES: Record<'full' | 'quick', Sizes> = {
  full: {
    flood_bets: 60_000, probe_bets: 10_000, bettors: 10_000, names: 12_000, warmup_bets: 20_000, warmup_names: 2_000,
    single_calls: 1_000_000, single_warmup: 50_000, single_rounds: 3,
  },
  quick: {
    flood_bets: 6_000, probe_bets: 2_000, bettors: 1_000, names: 1_200, warmup_bets: 5_000, warmup_names: 500,
    single_calls: 100_000, single_warmup: 10_000, single_rounds: 1,
  },
};

const SECTIONS = ['bets', 'users', 'single'] as const;
type Section = (typeof SECTIONS)[number];

interface Args {
  mode: 'full' | 'quick';
  seed: number;
  rounds: number;
  only: Section[];
  out: string | undefined;
  baseline: string | undefined;
}

function parse_args(argv: string[]): Args {
  const args: Args = { mode: 'full', seed: 1, rounds: 1, only: [...SECTIONS], out: undefined, baseline: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--quick') args.mode = 'quick';
    else if (arg === '--seed') args.seed = Number(value()) >>> 0;
    else if (arg === '--rounds') args.rounds = Math.max(1, Number(value()) | 0);
    else if (arg === '--only') {
      const names = value().split(',').map((s) => s.trim()).filter(Boolean);
      for (const name of names) if (!(SECTIONS as readonly string[]).includes(name)) throw new Error(`unknown section ${name}; sections: ${SECTIONS.join(' ')}`);
      args.only = names as Section[];
    } else if (arg === '--out') args.out = value();
    else if (arg === '--baseline') args.baseline = value();
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('node dist/bench/flood.js [--quick] [--seed n] [--rounds n] [--only bets,users,single] [--out file.json] [--baseline before.json]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}`);
  }
  return args;
}

// ---------------------------------------------------------------------------
// Helpers (copies of bench/lib.ts's, so that this file depends on nothing else).

const started_ms = performance.now();
function log(message: string): void {
  process.stderr.write(`[${((performance.now() - started_ms) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}

function collect_garbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run node with --expose-gc');
  gc();
  gc();
}

function load(): number[] {
  return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

interface PerCall {
  calls: number;
  ok: number;
  first_failure: string;
  total_ms: number;
  ns_per_call: number;
  mean_ns: number;
  p50_ns: number;
  p99_ns: number;
  p999_ns: number;
  max_ns: number;
  loadavg: number[];
}

function summarise(durations_ms: Float64Array, count: number): Pick<PerCall, 'mean_ns' | 'p50_ns' | 'p99_ns' | 'p999_ns' | 'max_ns'> {
  const histogram = createHistogram({ lowest: 1, highest: 60_000_000_000, figures: 3 });
  for (let i = 0; i < count; i++) histogram.record(Math.max(1, Math.round(durations_ms[i] * 1e6)));
  return {
    mean_ns: Math.round(histogram.mean), p50_ns: histogram.percentile(50), p99_ns: histogram.percentile(99),
    p999_ns: histogram.percentile(99.9), max_ns: histogram.max,
  };
}

// ---------------------------------------------------------------------------
// Bodies: the 7-field Hub88 bet of bench/bodies.ts (same literal, same key
// order), from FloodRng, flat strings.

const CURRENCY = 'USD';
const INITIAL_BALANCE_UNITS = 1_000_000_000_000;
const HEX = '0123456789abcdef';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const GAME_CODES = [
  'clt_dragonrising', 'clt_cashwizard', 'evo_lightningroulette', 'evo_crazytime', 'pgp_sweetbonanza',
  'pgp_gatesofolympus', 'npl_deadoralive2', 'net_starburst', 'hab_hotpot', 'rel_moneytrain2',
  'btg_bonanza', 'yld_vikingsgoberzerk', 'pus_jammin', 'nlc_mental', 'hac_wantedead', 'rtg_cleopatra',
];
const text_buffer = Buffer.alloc(64);

// A type alias, not an interface: assignable to a request type with an index
// signature ([field: string]: unknown), which some versions of the API have.
type BetBody = {
  user: string;
  currency: string;
  amount: number;
  transaction_uuid: string;
  request_uuid: string;
  game_code: string;
  round: string;
};

function uuid_v4(rng: FloodRng): string {
  let at = 0;
  for (let word = 0; word < 4; word++) {
    let bits = rng.next_u32();
    if (word === 1) bits = (bits & 0xffff0fff) | 0x00004000;
    if (word === 2) bits = (bits & 0x3fffffff) | 0x80000000;
    for (let k = 0; k < 8; k++) {
      if (at === 8 || at === 13 || at === 18 || at === 23) text_buffer[at++] = 45;
      text_buffer[at++] = HEX.charCodeAt((bits >>> (28 - 4 * k)) & 15);
    }
  }
  return text_buffer.toString('latin1', 0, 36);
}

function round_id(rng: FloodRng): string {
  for (let i = 0; i < 16; i++) text_buffer[i] = ALNUM.charCodeAt(rng.below(ALNUM.length));
  return text_buffer.toString('latin1', 0, 16);
}

/** `count` bets; transaction_uuid from `uuids` when given, else random. */
function bet_bodies(rng: FloodRng, users: readonly string[], count: number, uuids?: readonly string[]): BetBody[] {
  const bodies = new Array<BetBody>(count);
  for (let i = 0; i < count; i++) {
    bodies[i] = {
      user: users[rng.below(users.length)],
      currency: CURRENCY,
      amount: 1 + rng.below(1000),
      transaction_uuid: uuids ? uuids[i] : uuid_v4(rng),
      request_uuid: uuid_v4(rng),
      game_code: GAME_CODES[rng.below(GAME_CODES.length)],
      round: round_id(rng),
    };
  }
  return bodies;
}

function player_names(count: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i++) names.push(Buffer.from(`player_${String(i).padStart(6, '0')}`, 'latin1').toString('latin1'));
  return names;
}

function users_max_for(user_count: number): number {
  return Math.max(16, Math.ceil(user_count * 1.25)); // as bench/throughput.ts sizes the user table
}

/** maxTransactions for a wallet that must apply `bets` new bets, in both
 *  trees: since layout v2 (fa9f28b) maxTransactions is a budget in which an
 *  open bet holds 2 units (itself and its settlement's reserve); before, 1.
 *  The same options everywhere, so both runs have the same index size. */
function tx_max_for(bets: number): number {
  return 2 * bets + 1024;
}

function fresh_wallet(users: readonly string[], users_max: number, tx_max: number): Wallet {
  const wallet = start({ maxUsers: users_max, maxTransactions: tx_max, initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY, prefault: true });
  if (users.length > 0) createUsers(wallet, [...users]);
  return wallet;
}

// ---------------------------------------------------------------------------
// Loops. One per purpose, so no call site goes polymorphic.

/** Every call timed on its own. */
function timed_bets(wallet: Wallet, bodies: BetBody[], durations: Float64Array): PerCall {
  let ok = 0;
  let first_failure = '';
  const count = bodies.length;
  const begin = performance.now();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const response = bet(wallet, bodies[i]);
    durations[i] = performance.now() - t0;
    if (response.status === RS_OK) ok++;
    else if (first_failure === '') first_failure = response.status;
  }
  const total_ms = performance.now() - begin;
  return {
    calls: count, ok, first_failure, total_ms: round3(total_ms), ns_per_call: Math.round((total_ms * 1e6) / count),
    ...summarise(durations, count), loadavg: load(),
  };
}

/** Plain throughput loop for (d), as bench/throughput.ts's loop_exwallet. */
function plain_bets(wallet: Wallet, bodies: BetBody[], from: number, to: number): { ok: number; first_failure: string; elapsed_ms: number } {
  let ok = 0;
  let first_failure = '';
  const begin = performance.now();
  for (let i = from; i < to; i++) {
    const response = bet(wallet, bodies[i]);
    if (response.status === RS_OK) ok++;
    else if (first_failure === '') first_failure = response.status;
  }
  return { ok, first_failure, elapsed_ms: performance.now() - begin };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The round with the median total (of `key`). */
function median_round<T>(rounds: T[], key: (round: T) => number): T {
  const m = median(rounds.map(key));
  return rounds.reduce((best, r) => (Math.abs(key(r) - m) < Math.abs(key(best) - m) ? r : best));
}

// ---------------------------------------------------------------------------
// Sections.

interface BetsRound {
  random: PerCall;
  crafted: PerCall;
  after_flood: { clean: PerCall; flooded: PerCall };
}

function run_bets(sizes: Sizes, seed: number, rounds: number, uuids: string[], problems: string[]): { rounds: BetsRound[]; median: BetsRound } {
  const users = player_names(sizes.bettors);
  const users_max = users_max_for(users.length);
  const tx_max = tx_max_for(sizes.flood_bets + sizes.probe_bets);
  const durations = new Float64Array(Math.max(sizes.flood_bets, sizes.probe_bets, sizes.warmup_bets));
  const expect = (what: string, r: PerCall) => {
    if (r.ok !== r.calls) problems.push(`${what}: ${r.calls - r.ok} of ${r.calls} calls not RS_OK (first: ${r.first_failure})`);
  };

  log(`bets: warm-up, ${sizes.warmup_bets.toLocaleString('en-US')} random bets on a throwaway wallet`);
  {
    const wallet = fresh_wallet(users, users_max, tx_max_for(sizes.warmup_bets));
    expect('warm-up', timed_bets(wallet, bet_bodies(new FloodRng(seed, 0x3a), users, sizes.warmup_bets), durations));
    detach(wallet);
  }
  const all: BetsRound[] = [];
  for (let round = 0; round < rounds; round++) {
    const random_bodies = bet_bodies(new FloodRng(seed, 0x100 + round), users, sizes.flood_bets);
    const crafted_bodies = bet_bodies(new FloodRng(seed, 0x200 + round), users, sizes.flood_bets, uuids);
    const probe_bodies = bet_bodies(new FloodRng(seed, 0x300 + round), users, sizes.probe_bets);
    const clean = fresh_wallet(users, users_max, tx_max);
    const flooded = fresh_wallet(users, users_max, tx_max);

    collect_garbage();
    log(`bets round ${round + 1}: ${sizes.flood_bets.toLocaleString('en-US')} bets with random uuids (load ${load().join(' ')})`);
    const random = timed_bets(clean, random_bodies, durations);
    expect('random bets', random);
    collect_garbage();
    log(`bets round ${round + 1}: ${sizes.flood_bets.toLocaleString('en-US')} bets with crafted uuids (load ${load().join(' ')})`);
    const crafted = timed_bets(flooded, crafted_bodies, durations);
    expect('crafted bets', crafted);
    collect_garbage();
    log(`bets round ${round + 1}: ${sizes.probe_bets.toLocaleString('en-US')} random bets on each wallet after the flood`);
    const after_clean = timed_bets(clean, probe_bodies, durations);
    expect('random bets after, clean wallet', after_clean);
    const after_flooded = timed_bets(flooded, probe_bodies, durations);
    expect('random bets after, flooded wallet', after_flooded);
    detach(clean);
    detach(flooded);
    all.push({ random, crafted, after_flood: { clean: after_clean, flooded: after_flooded } });
    log(`  random ${random.total_ms.toFixed(1)} ms, crafted ${crafted.total_ms.toFixed(1)} ms; after: p99 ${after_clean.p99_ns} ns clean, ${after_flooded.p99_ns} ns flooded`);
  }
  return { rounds: all, median: median_round(all, (r) => r.crafted.total_ms) };
}

interface CreateUsersRun {
  names: number;
  ms: number;
  ns_per_name: number;
  loadavg: number[];
}

interface UsersRound {
  random: CreateUsersRun;
  crafted: CreateUsersRun;
}

function create_users_timed(names: string[], users_max: number, problems: string[], what: string): CreateUsersRun {
  const wallet = fresh_wallet([], users_max, 1024);
  collect_garbage();
  const begin = performance.now();
  createUsers(wallet, names);
  const ms = performance.now() - begin;
  // Every name exists with the initial balance (and, in the crafted set, is its own user).
  const step = Math.max(1, Math.floor(names.length / 64));
  for (let i = 0; i < names.length; i += step) {
    const response = balance(wallet, { user: names[i], request_uuid: '00000000-0000-4000-8000-000000000000' });
    if (response.status !== RS_OK || response.balance !== INITIAL_BALANCE_UNITS) {
      problems.push(`${what}: balance of ${JSON.stringify(names[i])} answered ${JSON.stringify(response)}`);
      break;
    }
  }
  detach(wallet);
  return { names: names.length, ms: round3(ms), ns_per_name: Math.round((ms * 1e6) / names.length), loadavg: load() };
}

function run_users(sizes: Sizes, seed: number, rounds: number, crafted: string[], problems: string[]): { rounds: UsersRound[]; median: UsersRound; users_max: number } {
  const users_max = users_max_for(sizes.names);
  const random = random_names(sizes.names, seed);
  log(`users: warm-up, createUsers of ${sizes.warmup_names.toLocaleString('en-US')} random names`);
  create_users_timed(random_names(sizes.warmup_names, seed + 0x5eed), users_max, problems, 'warm-up');
  const all: UsersRound[] = [];
  for (let round = 0; round < rounds; round++) {
    log(`users round ${round + 1}: createUsers of ${sizes.names.toLocaleString('en-US')} random names, then crafted ones (load ${load().join(' ')})`);
    const r = create_users_timed(random, users_max, problems, 'random names');
    const c = create_users_timed(crafted, users_max, problems, 'crafted names');
    all.push({ random: r, crafted: c });
    log(`  random ${r.ms.toFixed(1)} ms, crafted ${c.ms.toFixed(1)} ms`);
  }
  return { rounds: all, median: median_round(all, (r) => r.crafted.ms), users_max };
}

interface SingleResult {
  calls: number;
  users: number;
  best_ns_per_bet: number;
  best_bets_per_s: number;
  rounds_ns_per_bet: number[];
  loadavg: number[];
}

function run_single(sizes: Sizes, seed: number, problems: string[]): SingleResult {
  const users = player_names(sizes.bettors);
  const total = sizes.single_warmup + sizes.single_calls;
  const rounds: number[] = [];
  for (let round = 0; round < sizes.single_rounds; round++) {
    let bodies: BetBody[] | undefined = bet_bodies(new FloodRng(seed, 0x400 + round), users, total);
    collect_garbage();
    const wallet = fresh_wallet(users, users_max_for(users.length), tx_max_for(total));
    plain_bets(wallet, bodies, 0, sizes.single_warmup);
    log(`single round ${round + 1}: ${sizes.single_calls.toLocaleString('en-US')} bets (load ${load().join(' ')})`);
    const r = plain_bets(wallet, bodies, sizes.single_warmup, total);
    if (r.ok !== sizes.single_calls) problems.push(`single round ${round + 1}: ${sizes.single_calls - r.ok} calls not RS_OK (first: ${r.first_failure})`);
    const ns = Math.round((r.elapsed_ms * 1e6) / sizes.single_calls);
    rounds.push(ns);
    log(`  ${ns} ns/bet`);
    detach(wallet);
    bodies = undefined;
  }
  const best = Math.min(...rounds);
  return { calls: sizes.single_calls, users: users.length, best_ns_per_bet: best, best_bets_per_s: Math.round(1e9 / best), rounds_ns_per_bet: rounds, loadavg: load() };
}

// ---------------------------------------------------------------------------
// Report.

function fmt_ms(ms: number): string {
  return ms >= 100 ? `${Math.round(ms).toLocaleString('en-US')} ms` : `${ms.toFixed(1)} ms`;
}

function fmt_ns(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e4) return `${(ns / 1e3).toFixed(0)} µs`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns} ns`;
}

function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

interface Results {
  schema: string;
  mode: string;
  command: string;
  started_at: string;
  duration_s: number;
  seed: number;
  rounds: number;
  git: { rev: string; dirty_core: boolean | null };
  machine: { node: string; cpu_count: number; cpu_model: string; loadavg_before: number[]; loadavg_after: number[] };
  sizes: Sizes;
  crafted: Record<string, unknown>;
  bets?: { tx_max: number; users: number; rounds: BetsRound[]; median: BetsRound };
  users?: { users_max: number; rounds: UsersRound[]; median: UsersRound };
  single?: SingleResult;
  ratios: Record<string, number>;
  verdict: string[];
  problems: string[];
}

function compute_ratios(results: Results): Record<string, number> {
  const ratios: Record<string, number> = {};
  if (results.bets) {
    const m = results.bets.median;
    ratios.bets_crafted_over_random_total = ratio(m.crafted.total_ms, m.random.total_ms);
    ratios.bets_crafted_over_random_p99 = ratio(m.crafted.p99_ns, m.random.p99_ns);
    ratios.after_flood_p99_flooded_over_clean = ratio(m.after_flood.flooded.p99_ns, m.after_flood.clean.p99_ns);
    ratios.after_flood_mean_flooded_over_clean = ratio(m.after_flood.flooded.mean_ns, m.after_flood.clean.mean_ns);
  }
  if (results.users) {
    const m = results.users.median;
    ratios.create_users_crafted_over_random = ratio(m.crafted.ms, m.random.ms);
  }
  return ratios;
}

/** Below 1.5× the crafted set is as cheap as random (noise is ~±20% on this box); above 3× it floods. */
function verdicts(ratios: Record<string, number>): string[] {
  const lines: string[] = [];
  const judge = (what: string, r: number | undefined) => {
    if (r === undefined) return;
    if (r < 1.5) lines.push(`${what}: ${r}× random — flood-resistant`);
    else if (r > 3) lines.push(`${what}: ${r}× random — FLOODS (the crafted inputs collide in this build)`);
    else lines.push(`${what}: ${r}× random — unclear, re-run on a quiet machine`);
  };
  judge('crafted uuids (a)', ratios.bets_crafted_over_random_total);
  judge('bets after the flood, p99 (b)', ratios.after_flood_p99_flooded_over_clean);
  judge('crafted names (c)', ratios.create_users_crafted_over_random);
  return lines;
}

function render(results: Results): string {
  const out: string[] = [];
  const n = (x: number) => x.toLocaleString('en-US');
  out.push(`exwallet hash flooding (${results.mode}), seed ${results.seed}, git ${results.git.rev}${results.git.dirty_core ? ' + uncommitted src/assembly changes' : ''}`);
  out.push(`node ${results.machine.node}, ${results.machine.cpu_count} cpus, load ${results.machine.loadavg_before.join(' ')} -> ${results.machine.loadavg_after.join(' ')}`);
  out.push('');
  const row = (cells: string[], widths: number[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const widths = [44, 14, 14, 10, 16];
  out.push(row(['', 'random', 'crafted', 'ratio', 'load (1 min)'], widths));
  if (results.bets) {
    const m = results.bets.median;
    const b = results.sizes.flood_bets;
    out.push(row([`(a) ${n(b)} new bets: total`, fmt_ms(m.random.total_ms), fmt_ms(m.crafted.total_ms), `${ratio(m.crafted.total_ms, m.random.total_ms)}×`, `${m.random.loadavg[0]} / ${m.crafted.loadavg[0]}`], widths));
    out.push(row(['    ns per call', n(m.random.ns_per_call), n(m.crafted.ns_per_call), `${ratio(m.crafted.ns_per_call, m.random.ns_per_call)}×`, ''], widths));
    out.push(row(['    p50 / call', fmt_ns(m.random.p50_ns), fmt_ns(m.crafted.p50_ns), `${ratio(m.crafted.p50_ns, m.random.p50_ns)}×`, ''], widths));
    out.push(row(['    p99 / call', fmt_ns(m.random.p99_ns), fmt_ns(m.crafted.p99_ns), `${ratio(m.crafted.p99_ns, m.random.p99_ns)}×`, ''], widths));
    out.push(row(['    max / call', fmt_ns(m.random.max_ns), fmt_ns(m.crafted.max_ns), '', ''], widths));
    const a = m.after_flood;
    out.push(row([`(b) then ${n(results.sizes.probe_bets)} random bets: p99`, fmt_ns(a.clean.p99_ns), fmt_ns(a.flooded.p99_ns), `${ratio(a.flooded.p99_ns, a.clean.p99_ns)}×`, `${a.clean.loadavg[0]} / ${a.flooded.loadavg[0]}`], widths));
    out.push(row(['    (clean wallet vs flooded wallet) mean', fmt_ns(a.clean.mean_ns), fmt_ns(a.flooded.mean_ns), `${ratio(a.flooded.mean_ns, a.clean.mean_ns)}×`, ''], widths));
    out.push(row(['    p50', fmt_ns(a.clean.p50_ns), fmt_ns(a.flooded.p50_ns), `${ratio(a.flooded.p50_ns, a.clean.p50_ns)}×`, ''], widths));
    out.push(row(['    max', fmt_ns(a.clean.max_ns), fmt_ns(a.flooded.max_ns), '', ''], widths));
    if (results.bets.rounds.length > 1) {
      out.push(`    rounds (a) crafted: ${results.bets.rounds.map((r) => fmt_ms(r.crafted.total_ms)).join(', ')}; random: ${results.bets.rounds.map((r) => fmt_ms(r.random.total_ms)).join(', ')} (median shown)`);
    }
  }
  if (results.users) {
    const m = results.users.median;
    out.push(row([`(c) createUsers of ${n(results.sizes.names)} names`, fmt_ms(m.random.ms), fmt_ms(m.crafted.ms), `${ratio(m.crafted.ms, m.random.ms)}×`, `${m.random.loadavg[0]} / ${m.crafted.loadavg[0]}`], widths));
    out.push(row(['    ns per name', n(m.random.ns_per_name), n(m.crafted.ns_per_name), '', ''], widths));
    if (results.users.rounds.length > 1) {
      out.push(`    rounds crafted: ${results.users.rounds.map((r) => fmt_ms(r.crafted.ms)).join(', ')}; random: ${results.users.rounds.map((r) => fmt_ms(r.random.ms)).join(', ')} (median shown)`);
    }
  }
  if (results.single) {
    const s = results.single;
    out.push('');
    out.push(`(d) bet, 1 thread: ${s.best_ns_per_bet} ns/op (${n(s.best_bets_per_s)} bets/s), best of ${s.rounds_ns_per_bet.length}: ${s.rounds_ns_per_bet.join(', ')} ns; ${n(s.calls)} new bets, ${n(s.users)} users; load ${s.loadavg[0]}`);
  }
  out.push('');
  for (const line of results.verdict) out.push(`  ${line}`);
  if (results.problems.length > 0) {
    out.push('');
    out.push('CHECKS FAILED (these figures do not measure what they claim):');
    for (const p of results.problems) out.push(`  - ${p}`);
  }
  return out.join('\n');
}

/** Before/after lines against an earlier flood.json (the baseline build). */
function render_baseline(results: Results, before: Results): string {
  const out: string[] = ['', `against ${before.git.rev} (${before.started_at}, load ${before.machine.loadavg_before.join(' ')}):`];
  const line = (what: string, b: number | undefined, a: number | undefined, unit: (x: number) => string) => {
    if (b === undefined || a === undefined) return;
    out.push(`  ${what.padEnd(40)} before ${unit(b).padStart(10)}   after ${unit(a).padStart(10)}   after/before ${ratio(a, b)}×`);
  };
  const bm = before.bets?.median, am = results.bets?.median;
  line('(a) crafted bets, total', bm?.crafted.total_ms, am?.crafted.total_ms, fmt_ms);
  line('(a) random bets, total', bm?.random.total_ms, am?.random.total_ms, fmt_ms);
  line('(a) crafted bets, p99', bm?.crafted.p99_ns, am?.crafted.p99_ns, fmt_ns);
  line('(a) random bets, p99', bm?.random.p99_ns, am?.random.p99_ns, fmt_ns);
  line('(b) after the flood, flooded wallet, p99', bm?.after_flood.flooded.p99_ns, am?.after_flood.flooded.p99_ns, fmt_ns);
  line('(b) after the flood, clean wallet, p99', bm?.after_flood.clean.p99_ns, am?.after_flood.clean.p99_ns, fmt_ns);
  line('(c) createUsers, crafted names', before.users?.median.crafted.ms, results.users?.median.crafted.ms, fmt_ms);
  line('(c) createUsers, random names', before.users?.median.random.ms, results.users?.median.random.ms, fmt_ms);
  line('(d) bet ns/op, 1 thread, best of 3', before.single?.best_ns_per_bet, results.single?.best_ns_per_bet, (x) => `${x} ns`);
  return out.join('\n');
}

function git_state(root: string): { rev: string; dirty_core: boolean | null } {
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src', 'assembly'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return { rev, dirty_core: status.trim().length > 0 };
  } catch {
    return { rev: 'unknown', dirty_core: null };
  }
}

// ---------------------------------------------------------------------------

function main(): void {
  const args = parse_args(process.argv.slice(2));
  const sizes = SIZES[args.mode];
  const started = new Date();
  const root = fileURLToPath(new URL('../../', import.meta.url)); // dist/bench/ (or out/bench/) -> repo root
  const loadavg_before = load();
  if (loadavg_before[0] > 0.5) log(`warning: load average ${loadavg_before[0]} before the run; figures will be noisy`);
  const problems: string[] = [];

  log(`exwallet flood bench, ${args.mode}, seed ${args.seed}, sections: ${args.only.join(' ')}`);
  const vectors = check_old_hash_vectors();
  const generate_begin = performance.now();
  const uuids = crafted_uuids(sizes.flood_bets, args.seed);
  const uuids_ms = performance.now() - generate_begin;
  const names_begin = performance.now();
  const names = args.only.includes('users') ? crafted_names(sizes.names, args.seed) : undefined;
  const names_ms = performance.now() - names_begin;
  // Self-check: the crafted sets collide under the OLD formulas (spot check every 97th).
  for (let i = 0; i < uuids.uuids.length; i += 97) if (old_hash_uuid(uuids.uuids[i]) !== uuids.hash) problems.push(`crafted uuid ${uuids.uuids[i]} does not collide`);
  if (names) for (let i = 0; i < names.names.length; i += 97) if (old_hash_name(names.names[i]) !== names.hash) problems.push(`crafted name ${JSON.stringify(names.names[i])} does not collide`);
  log(`crafted ${uuids.uuids.length.toLocaleString('en-US')} uuids (old hash 0x${uuids.hash.toString(16)}) in ${uuids_ms.toFixed(0)} ms` +
    (names ? `, ${names.names.length.toLocaleString('en-US')} names (old hash 0x${names.hash.toString(16)}, ${names.tries.toLocaleString('en-US')} tries) in ${names_ms.toFixed(0)} ms` : ''));

  const results: Results = {
    schema: SCHEMA, mode: args.mode,
    command: `node ${process.execArgv.join(' ')} ${process.argv.slice(1).join(' ')}`.replace(/\s+/g, ' '),
    started_at: started.toISOString(), duration_s: 0, seed: args.seed, rounds: args.rounds,
    git: git_state(root),
    machine: { node: process.versions.node, cpu_count: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', loadavg_before, loadavg_after: [] },
    sizes: { ...sizes },
    crafted: {
      against: 'f41a55c assembly/hash.ts (unkeyed): hash_uuid and hash_bytes(name, NAME_SEED)',
      old_hash_vectors_checked: vectors,
      uuids: uuids.uuids.length, uuid_old_hash: `0x${uuids.hash.toString(16)}`, uuids_generate_ms: Math.round(uuids_ms), uuid_sample: uuids.uuids.slice(0, 3),
      ...(names ? { names: names.names.length, name_old_hash: `0x${names.hash.toString(16)}`, name_tries: names.tries, names_generate_ms: Math.round(names_ms), name_sample: names.names.slice(0, 3) } : {}),
    },
    ratios: {}, verdict: [], problems,
  };

  if (args.only.includes('bets')) {
    const bets = run_bets(sizes, args.seed, args.rounds, uuids.uuids, problems);
    results.bets = { tx_max: tx_max_for(sizes.flood_bets + sizes.probe_bets), users: sizes.bettors, ...bets };
    collect_garbage();
  }
  if (args.only.includes('users') && names) {
    results.users = run_users(sizes, args.seed, args.rounds, names.names, problems);
    collect_garbage();
  }
  if (args.only.includes('single')) {
    results.single = run_single(sizes, args.seed, problems);
  }

  results.machine.loadavg_after = load();
  results.duration_s = Math.round((Date.now() - started.getTime()) / 100) / 10;
  results.ratios = compute_ratios(results);
  results.verdict = verdicts(results.ratios);

  const out_path = args.out ?? join(root, 'bench', 'results', ...(args.mode === 'full' ? [] : ['quick.tmp']), 'flood.json');
  mkdirSync(dirname(out_path), { recursive: true });
  writeFileSync(`${out_path}.tmp`, JSON.stringify(results, null, 2) + '\n');
  renameSync(`${out_path}.tmp`, out_path);
  let table = render(results);
  if (args.baseline) table += '\n' + render_baseline(results, JSON.parse(readFileSync(args.baseline, 'utf8')) as Results);
  process.stdout.write(table + '\n');
  log(`wrote ${out_path} (${results.duration_s} s)`);
  if (problems.length > 0) process.exitCode = 2;
}

const has_gc = typeof (globalThis as { gc?: unknown }).gc === 'function';
if (!has_gc) {
  const child = spawnSync(process.execPath, [...NODE_FLAGS, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
} else {
  try {
    main();
  } catch (error) {
    log(`flood bench failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  }
}
