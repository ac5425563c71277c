// Latency of one bet with many transactions already stored, and the GC
// pauses seen meanwhile, for exwallet and peer (a).
//
// Each call is timed by a pair of performance.now() reads around it (a
// double in ms with sub-microsecond resolution, no allocation; a
// process.hrtime.bigint() pair allocates two BigInts per call). The pair's
// own cost is measured the same way around nothing and reported beside the
// figures (it is included in them, not subtracted).

import { bet, detach, share, RS_OK, type Wallet } from 'exwallet';
import { MapWallet } from './peers/map_wallet.js';
import { Random } from '../tools/random.js';
import { bet_bodies, type BetBody } from './bodies.js';
import { exwallet_for, map_wallet_for } from './throughput.js';
import { GcWatch, summarise_durations, collect_garbage, log, check_fill_batch, type LatencySummary, type GcSummary } from './lib.js';

export interface LatencyOptions {
  users: string[];
  stored_levels: number[];
  calls: number;
  seed: number;
}

export interface LatencyLevel extends LatencySummary {
  /** 'exwallet' (started with prefault: true, as a latency-critical service would) or 'map_wallet'. */
  impl: string;
  stored: number;
  ok: number;
  prefill_s: number;
  gc: GcSummary;
}

export interface TimerOverhead {
  method: string;
  performance_now_pair: LatencySummary;
  hrtime_bigint_pair: LatencySummary;
}

const PREFILL_BATCH = 50_000;

export function measure_timer_overhead(calls: number): TimerOverhead {
  const durations = new Float64Array(calls);
  for (let round = 0; round < 2; round++) { // the first round warms up
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      const t1 = performance.now();
      durations[i] = t1 - t0;
    }
  }
  const performance_now_pair = summarise_durations(durations, calls);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < calls; i++) {
      const t0 = process.hrtime.bigint();
      const t1 = process.hrtime.bigint();
      durations[i] = Number(t1 - t0) / 1e6;
    }
  }
  const hrtime_bigint_pair = summarise_durations(durations, calls);
  return { method: 'performance.now() pair around each call', performance_now_pair, hrtime_bigint_pair };
}

function timed_exwallet(wallet: Wallet, bodies: BetBody[], durations: Float64Array): number {
  let ok = 0;
  for (let i = 0; i < bodies.length; i++) {
    const body = bodies[i];
    const t0 = performance.now();
    const response = bet(wallet, body);
    const t1 = performance.now();
    durations[i] = t1 - t0;
    if (response.status === RS_OK) ok++;
  }
  return ok;
}

function timed_map(wallet: MapWallet, bodies: BetBody[], durations: Float64Array): number {
  let ok = 0;
  for (let i = 0; i < bodies.length; i++) {
    const body = bodies[i];
    const t0 = performance.now();
    const response = wallet.bet(body);
    const t1 = performance.now();
    durations[i] = t1 - t0;
    if (response.status === RS_OK) ok++;
  }
  return ok;
}

function fill_exwallet(wallet: Wallet, bodies: BetBody[]): number {
  let ok = 0;
  for (let i = 0; i < bodies.length; i++) if (bet(wallet, bodies[i]).status === RS_OK) ok++;
  return ok;
}

function fill_map(wallet: MapWallet, bodies: BetBody[]): number {
  let ok = 0;
  for (let i = 0; i < bodies.length; i++) if (wallet.bet(bodies[i]).status === RS_OK) ok++;
  return ok;
}

function log_level(l: LatencyLevel): void {
  log(`  latency ${l.impl.padEnd(10)} stored ${String(l.stored).padStart(8)}: p50 ${l.p50_ns} ns, p99 ${l.p99_ns} ns, ` +
    `p99.9 ${l.p999_ns} ns, max ${l.max_ns} ns; ok ${l.ok}/${l.calls}; ` +
    `gc ${l.gc.count} pauses, ${l.gc.total_ms} ms total, max ${l.gc.max_ms} ms (prefill ${l.prefill_s.toFixed(1)} s)`);
}

export async function run_latency(impl: 'exwallet' | 'map_wallet', options: LatencyOptions): Promise<LatencyLevel[]> {
  const levels = [...options.stored_levels].sort((a, b) => a - b);
  // Bets stored at the end: the deepest level's prefill plus every level's
  // timed bets (one level's more, as margin). exwallet's budget is 2 units
  // per bet (throughput.ts exwallet_for); (a) stores one entry per bet.
  const bets = levels[levels.length - 1] + (levels.length + 1) * options.calls;
  const ours = impl === 'exwallet' ? exwallet_for(options.users, { bets }) : undefined;
  const peer = impl === 'map_wallet' ? map_wallet_for(options.users, bets + 1024) : undefined;
  const rng = new Random(options.seed, 3); // the same bodies for both wallets
  const durations = new Float64Array(options.calls);
  const watch = new GcWatch();
  const results: LatencyLevel[] = [];
  let stored = 0;
  try {
    for (const level of levels) {
      const prefill_started_ms = performance.now();
      while (stored < level) {
        const batch = bet_bodies(rng, options.users, Math.min(PREFILL_BATCH, level - stored));
        const ok = ours ? fill_exwallet(ours, batch) : fill_map(peer!, batch);
        check_fill_batch(`latency prefill ${impl}`, ok, batch.length, stored, level, `sized for ${bets} bets`);
        stored += ok;
      }
      const prefill_s = (performance.now() - prefill_started_ms) / 1000;
      const bodies = bet_bodies(rng, options.users, options.calls);
      collect_garbage(); // start the window without the prefill's garbage
      const from_ms = performance.now();
      const ok = ours ? timed_exwallet(ours, bodies, durations) : timed_map(peer!, bodies, durations);
      const to_ms = performance.now();
      await watch.flush();
      stored += ok;
      const level_result: LatencyLevel = {
        impl, stored: level, ok, prefill_s: Math.round(prefill_s * 10) / 10,
        ...summarise_durations(durations, options.calls), gc: watch.summary(from_ms, to_ms),
      };
      results.push(level_result);
      log_level(level_result);
    }
  } finally {
    watch.stop();
    if (ours) detach(ours);
  }
  return results;
}
