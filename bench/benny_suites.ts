// benny (benchmark.js) suites, single thread: exwallet vs peer (a) on bet,
// win, duplicate bet (replay), conflicting bet, rollback and balance.
//
// benchmark.js calls the function as often as it likes. Calls that must be
// new transactions (bet, win, rollback) each consume a pre-built body with a
// fresh uuid; the pool is sized from a short timed pre-run (rate x time
// budget x margin) and the wallet from the pool. A call past the end of the
// pool would replay an applied uuid and measure the wrong thing: the cursor
// counts wraps and the case is reported `fresh: false` if one happened.
// Every call's status is checked against the expected one (a string compare,
// the same cost for both wallets); the counts and a sample are reported.

import { add, suite } from 'benny';
import { detach, RS_OK, RS_ERROR_DUPLICATE_TRANSACTION, type Wallet, type WalletResponse } from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import { MapWallet } from './peers/map_wallet.js';
import { Random } from '../tools/random.js';
import { uuid_v4, bet_bodies, win_body, rollback_body, replay_body, conflicting_body, type BetBody,
} from './bodies.js';
import { exwallet_for, map_wallet_for } from './throughput.js';
import { collect_garbage, log } from './lib.js';

export interface BennyOptions {
  users: string[];
  seed: number;
  /** benchmark.js maxTime per case, seconds. */
  max_time_s: number;
  /** benchmark.js minTime (s, per cycle) and minSamples; undefined minTime = its default. */
  min_time_s: number | undefined;
  min_samples: number;
  /** Single-use pools are sized within [pool_min, pool_max] (memory); past the end a case may wrap. */
  pool_max: number;
  pool_min: number;
  /** Calls of the timed pre-run (after as many to warm up) that sizes each single-use pool. */
  estimate_calls: number;
  /** Applied bets that replay / conflict / balance cases cycle through. */
  cycle_pool: number;
}

export interface BennyCase {
  op: string;
  impl: 'exwallet' | 'map_wallet';
  ops_per_s: number;
  margin_pct: number;
  samples: number;
  calls: number;
  pool: number;
  fresh: boolean;
  expected_status: string;
  unexpected_statuses: number;
  status_sample: string[];
}

type Impl = 'exwallet' | 'map_wallet';
type Call = (body: unknown) => WalletResponse;

interface Fixture {
  bodies: unknown[];
  call: Call;
  /** What the benchmarked function calls: the wallet and the method. */
  target: { ours?: Wallet; peer?: MapWallet; method: 'bet' | 'win' | 'rollback' | 'balance' };
  expected: string;
  /** Pool is of single-use bodies (new transactions). */
  single_use: boolean;
  dispose(): void;
}

/** Bets applied to `call_bet` beforehand, returned for building wins etc. */
function apply_bets(call_bet: Call, bets: BetBody[]): void {
  for (const body of bets) {
    const status = call_bet(body).status;
    if (status !== RS_OK) throw new Error(`setup bet failed: ${status}`);
  }
}

/** A fresh wallet for `bets` new bets of which `settlements` get a win or
 *  rollback: exwallet's budget is 2 units per bet (the settlement uses the
 *  bet's reserve, throughput.ts exwallet_for), peer (a) stores one entry per
 *  transaction. */
function make_wallet(impl: Impl, users: string[], bets: number, settlements = 0): { ours?: Wallet; peer?: MapWallet; dispose(): void } {
  if (impl === 'exwallet') {
    const ours = exwallet_for(users, { bets });
    return { ours, dispose: () => detach(ours) };
  }
  return { peer: map_wallet_for(users, bets + settlements + 1024), dispose: () => {} };
}

function caller(impl: Impl, op: 'bet' | 'win' | 'rollback' | 'balance', w: { ours?: Wallet; peer?: MapWallet }): Call {
  if (impl === 'exwallet') {
    const ours = w.ours!;
    switch (op) {
      case 'bet': return (body) => bet(ours, body);
      case 'win': return (body) => win(ours, body);
      case 'rollback': return (body) => rollback(ours, body);
      default: return (body) => balance(ours, body);
    }
  }
  const peer = w.peer!;
  switch (op) {
    case 'bet': return (body) => peer.bet(body);
    case 'win': return (body) => peer.win(body);
    case 'rollback': return (body) => peer.rollback(body);
    default: return (body) => peer.balance(body);
  }
}

/** Build the fixture of one case with a pool of `pool` bodies. */
function fixture(op: string, impl: Impl, users: string[], pool: number, rng: Random): Fixture {
  switch (op) {
    case 'bet': {
      const w = make_wallet(impl, users, pool);
      return { bodies: bet_bodies(rng, users, pool), call: caller(impl, 'bet', w), target: { ...w, method: 'bet' }, expected: RS_OK, single_use: true, dispose: w.dispose };
    }
    case 'win':
    case 'rollback': {
      const w = make_wallet(impl, users, pool, pool);
      const bets = bet_bodies(rng, users, pool);
      apply_bets(caller(impl, 'bet', w), bets);
      const bodies = bets.map((b) => (op === 'win' ? win_body(rng, b) : rollback_body(rng, b)));
      return { bodies, call: caller(impl, op, w), target: { ...w, method: op }, expected: RS_OK, single_use: true, dispose: w.dispose };
    }
    case 'replay':
    case 'conflict': {
      const w = make_wallet(impl, users, pool);
      const bets = bet_bodies(rng, users, pool);
      apply_bets(caller(impl, 'bet', w), bets);
      const bodies = bets.map((b) => (op === 'replay' ? replay_body(rng, b) : conflicting_body(rng, b)));
      const expected = op === 'replay' ? RS_OK : RS_ERROR_DUPLICATE_TRANSACTION;
      return { bodies, call: caller(impl, 'bet', w), target: { ...w, method: 'bet' }, expected, single_use: false, dispose: w.dispose };
    }
    case 'balance': {
      const w = make_wallet(impl, users, 0);
      const bodies = Array.from({ length: pool }, () => ({ user: users[rng.below(users.length)], request_uuid: uuid_v4(rng) }));
      return { bodies, call: caller(impl, 'balance', w), target: { ...w, method: 'balance' }, expected: RS_OK, single_use: false, dispose: w.dispose };
    }
    default:
      throw new Error(`unknown op ${op}`);
  }
}

/** Calls per second of a plain timed loop over a small fixture (the first
 *  half warms the JIT, the second half is timed): sizes the pool. */
function estimate_rate(op: string, impl: Impl, users: string[], rng: Random, calls: number): number {
  const f = fixture(op, impl, users, 2 * calls, rng);
  try {
    for (let i = 0; i < calls; i++) f.call(f.bodies[i]);
    const started_ms = performance.now();
    for (let i = calls; i < 2 * calls; i++) f.call(f.bodies[i]);
    return (calls / (performance.now() - started_ms)) * 1000;
  } finally {
    f.dispose();
  }
}

interface CaseStats { calls: number; wraps: number; unexpected: number; sample: string[] }

/** The function benchmark.js times, compiled afresh for each case: closures
 *  made from one function literal share their type feedback in V8, so a
 *  shared literal would turn the wallet call polymorphic and tax whichever
 *  case ran later. */
function case_function(f: Fixture, stats: CaseStats): () => void {
  const call = f.target.ours ? `method(ours, bodies[cursor])` : `peer.${f.target.method}(bodies[cursor])`;
  const factory = new Function('api', 'ours', 'peer', 'bodies', 'expected', 'stats', `
    const method = api[${JSON.stringify(f.target.method)}];
    const size = bodies.length;
    let cursor = 0;
    return function bench_case() {
      const response = ${call};
      if (response.status !== expected) stats.unexpected++;
      if ((stats.calls++ & 0xfffff) === 0 && stats.sample.length < 8) stats.sample.push(response.status);
      if (++cursor === size) {
        cursor = 0;
        stats.wraps++;
      }
    };
  `) as (...args: unknown[]) => () => void;
  return factory({ bet, win, rollback, balance }, f.target.ours, f.target.peer, f.bodies, f.expected, stats);
}

export const BENNY_OPS = ['bet', 'win', 'replay', 'conflict', 'rollback', 'balance'] as const;

export async function run_benny(options: BennyOptions, ops: readonly string[] = BENNY_OPS): Promise<BennyCase[]> {
  const cases: BennyCase[] = [];
  const rng = new Random(options.seed, 7);
  for (const op of ops) {
    for (const impl of ['exwallet', 'map_wallet'] as const) {
      let pool = options.cycle_pool;
      if (op === 'bet' || op === 'win' || op === 'rollback') {
        // benchmark.js runs ~maxTime plus its calibration cycles, and the
        // case can run faster than the short pre-run: a generous margin, and
        // one rerun below if the pool still wrapped.
        const rate = estimate_rate(op, impl, options.users, rng, options.estimate_calls);
        pool = Math.min(options.pool_max, Math.max(options.pool_min, Math.ceil(rate * (options.max_time_s + 0.5) * 2)));
      }
      // A pool that wrapped measured replays: size it again from the calls
      // benchmark.js actually made, and run the case once more.
      let f: Fixture;
      let stats: CaseStats;
      let summary: Awaited<ReturnType<typeof suite>>;
      for (let attempt = 0; ; attempt++) {
        f = fixture(op, impl, options.users, pool, rng);
        collect_garbage();
        stats = { calls: 0, wraps: 0, unexpected: 0, sample: [] };
        const console_log = console.log; // benny reports progress there; keep stdout for the table
        console.log = (...parts: unknown[]) => log(parts.join(' '));
        try {
          summary = await suite(
            `${op}`,
            add(`${op} ${impl}`, case_function(f, stats), {
              maxTime: options.max_time_s, minSamples: options.min_samples, ...(options.min_time_s === undefined ? {} : { minTime: options.min_time_s }),
            }),
          );
        } finally {
          console.log = console_log;
        }
        if (!f.single_use || stats.wraps === 0 || attempt === 1 || pool >= options.pool_max) break;
        log(`  benny ${op} ${impl}: pool of ${pool} wrapped after ${stats.calls} calls; again with a bigger pool`);
        f.dispose();
        pool = Math.min(options.pool_max, Math.ceil(stats.calls * 1.5));
      }
      const size = f.bodies.length;
      const { calls, wraps, unexpected, sample } = stats;
      const result = summary.results[0];
      const fresh = !f.single_use || wraps === 0;
      cases.push({
        op, impl, ops_per_s: Math.round(result.ops), margin_pct: result.margin, samples: result.samples,
        calls, pool: size, fresh, expected_status: f.expected, unexpected_statuses: unexpected, status_sample: sample,
      });
      log(`  benny ${op.padEnd(8)} ${impl.padEnd(10)} ${Math.round(result.ops).toLocaleString('en-US').padStart(12)} ops/s ±${result.margin}%` +
        `  calls ${calls} pool ${size}${fresh ? '' : ' WRAPPED'} unexpected ${unexpected} sample ${sample.join(',')}`);
      f.dispose();
    }
  }
  return cases;
}
