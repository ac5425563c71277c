// Throughput of new bets: exwallet and peer (a) in this thread on the same
// pre-built bodies, and exwallet with 1..8 workers attached to one wallet.

import { start, createUsers, bet, share, detach, RS_OK, type Wallet } from 'exwallet';
import { MapWallet } from './peers/map_wallet.js';
import { Random } from '../tools/random.js';
import { bet_bodies, type BetBody, CURRENCY, INITIAL_BALANCE_UNITS } from './bodies.js';
import { make_sync } from '../tools/sync.js';
import { run_gated_workers, per_second, summarise_loops, collect_garbage, budget_for_bets } from './lib.js';
import type { WorkerMode } from './exwallet_worker.js';

export interface LoopResult {
  impl: string;
  calls: number;
  ok: number;
  first_failure: string;
  elapsed_ms: number;
  calls_per_s: number;
}

/** Users per wallet in every suite: the user table is sized a little above. */
export function users_max_for(user_count: number): number {
  return Math.max(16, Math.ceil(user_count * 1.25));
}

/** What a suite's wallet will store. exwallet's maxTransactions is a budget
 *  (lib.ts, "Table sizing"): `bets` new bets take 2 units each, their wins or
 *  rollbacks none more. Given as an object so that a bare transaction count
 *  (the old "one unit per bet" sizing) does not compile. */
export interface ExwalletSizing {
  bets: number;
}

export function exwallet_for(users: string[], sizing: ExwalletSizing, prefault = true): Wallet {
  const wallet = start({
    maxUsers: users_max_for(users.length), maxTransactions: budget_for_bets(sizing.bets), initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY, prefault,
  });
  createUsers(wallet, users);
  return wallet;
}

/** Peer (a) counts stored transactions (one per bet, win or rollback), not a budget. */
export function map_wallet_for(users: string[], tx_max: number): MapWallet {
  const wallet = new MapWallet({ maxTransactions: tx_max, initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY });
  wallet.createUsers(users);
  return wallet;
}

// One loop per implementation (not one generic loop taking a function): a
// shared call site would go polymorphic and tax whichever ran second.

function loop_exwallet(wallet: Wallet, bodies: BetBody[], from: number, to: number): LoopResult {
  let ok = 0;
  let first_failure = '';
  const started_ms = performance.now();
  for (let i = from; i < to; i++) {
    const response = bet(wallet, bodies[i]);
    if (response.status === RS_OK) ok++;
    else if (first_failure === '') first_failure = response.status;
  }
  const elapsed_ms = performance.now() - started_ms;
  return { impl: 'exwallet', calls: to - from, ok, first_failure, elapsed_ms, calls_per_s: per_second(ok, elapsed_ms) };
}

function loop_map(wallet: MapWallet, bodies: BetBody[], from: number, to: number): LoopResult {
  let ok = 0;
  let first_failure = '';
  const started_ms = performance.now();
  for (let i = from; i < to; i++) {
    const response = wallet.bet(bodies[i]);
    if (response.status === RS_OK) ok++;
    else if (first_failure === '') first_failure = response.status;
  }
  const elapsed_ms = performance.now() - started_ms;
  return { impl: 'map_wallet', calls: to - from, ok, first_failure, elapsed_ms, calls_per_s: per_second(ok, elapsed_ms) };
}

export interface SingleOptions {
  users: string[];
  calls: number;
  warmup_calls: number;
  /** Rounds, each on fresh wallets and fresh bodies; the best round is the figure. */
  rounds: number;
  seed: number;
}

export interface SingleResult {
  exwallet: LoopResult;
  map_wallet: LoopResult;
  /** calls/s of every round, in order: the spread shows the noise. */
  rounds: Array<{ exwallet: number; map_wallet: number }>;
}

/** Both wallets, fresh, on the same bodies: warm up on the first
 *  `warmup_calls`, then time the next `calls`. Best of `rounds`. */
export function run_single(options: SingleOptions): SingleResult {
  const total = options.warmup_calls + options.calls;
  let best: SingleResult | undefined;
  const rounds: SingleResult['rounds'] = [];
  for (let round = 0; round < options.rounds; round++) {
    const bodies = bet_bodies(new Random(options.seed, 1 + round), options.users, total);
    collect_garbage();

    const wallet = exwallet_for(options.users, { bets: total });
    loop_exwallet(wallet, bodies, 0, options.warmup_calls);
    const exwallet = loop_exwallet(wallet, bodies, options.warmup_calls, total);
    detach(wallet);
    collect_garbage();

    const peer = map_wallet_for(options.users, total + 1024);
    loop_map(peer, bodies, 0, options.warmup_calls);
    const map_wallet = loop_map(peer, bodies, options.warmup_calls, total);

    rounds.push({ exwallet: exwallet.calls_per_s, map_wallet: map_wallet.calls_per_s });
    if (!best || exwallet.calls_per_s > best.exwallet.calls_per_s) best = { exwallet, map_wallet: best?.map_wallet ?? map_wallet, rounds };
    if (map_wallet.calls_per_s > best.map_wallet.calls_per_s) best.map_wallet = map_wallet;
  }
  return { exwallet: best!.exwallet, map_wallet: best!.map_wallet, rounds };
}

export interface WorkersOptions {
  /** 'shared' is the real figure; 'private' and 'js' are controls (see exwallet_worker.ts). */
  mode?: WorkerMode;
  workers: number;
  users: string[];
  total_calls: number;
  warmup_calls: number;
  seed: number;
  deadline_ms: number;
}

export interface WorkersResult {
  mode: WorkerMode;
  workers: number;
  calls: number;
  ok: number;
  elapsed_ms: number;
  calls_per_s: number;
  per_worker: Array<{ calls: number; ok: number; elapsed_ms: number; calls_per_s: number; first_failure: string }>;
  /** Aggregate calls/s of every round when the suite ran several (the figure is the best). */
  rounds_calls_per_s?: number[];
}

const WORKER_URL = new URL('./exwallet_worker.js', import.meta.url);

/** `workers` threads on one fresh wallet, each with its own slice of
 *  total_calls / workers bodies; aggregate = all RS_OK / slowest loop. */
export async function run_exwallet_workers(options: WorkersOptions): Promise<WorkersResult> {
  const mode = options.mode ?? 'shared';
  const calls = Math.ceil(options.total_calls / options.workers);
  const wallet = mode === 'shared' ? exwallet_for(options.users, { bets: options.workers * (calls + options.warmup_calls) }) : undefined;
  const handle = wallet ? share(wallet) : undefined;
  const gate = new Int32Array(make_sync(0));
  const specs = [];
  for (let index = 0; index < options.workers; index++) {
    specs.push({
      url: WORKER_URL,
      workerData: {
        mode, handle, users_max: users_max_for(options.users.length), users: options.users, seed: options.seed, stream: 100 + index,
        calls, warmup_calls: options.warmup_calls, gate, gate_wait_ms_max: options.deadline_ms,
      },
    });
  }
  try {
    const results = await run_gated_workers(specs, gate, options.deadline_ms);
    const { loops: per_worker, calls, ok, elapsed_ms, calls_per_s } = summarise_loops(results);
    return { mode, workers: options.workers, calls, ok, elapsed_ms, calls_per_s, per_worker };
  } finally {
    if (wallet) detach(wallet);
  }
}
