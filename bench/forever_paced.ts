// Rotations at a service's pace: the flat run plays as fast as one thread
// can, which is faster than the rotator can retire (bets then wait for room:
// forever_flat.ts measures that). Here the aged durable wallet takes bet+win
// pairs at a fixed rate below that, open loop, for a few rotations, and each
// call's latency is counted from when it was DUE, not from when it started:
// a call held up behind a slow one (a pause, a bet waiting for room) is
// charged its wait too (no coordinated omission). Per rotation (the observer
// thread's phases): the slowest call from the ask to just after the flip,
// and the calls over 1 ms; against the same figures away from rotations.
//
// Between due times the loop turns the event loop (setImmediate), and it
// takes durable() every 1,000 calls without awaiting it, as a server
// answering in groups does; the flusher and the rotator run on the other core.

import { start, createUsers, close, bet, win, durable, stats, RS_OK, type Wallet } from 'exwallet';
import { Random } from '../tools/random.js';
import { bet_body, win_body, type BetBody, type WinBody } from './bodies.js';
import { start_observer, summarise_phases, type PhaseSummary } from './forever_observer.js';
import { summarise_ns, type LatencyRow } from './forever_histogram.js';
import { budget_for_bets, log } from './lib.js';
import { users_max_for } from './throughput.js';
import { CURRENCY, INITIAL_BALANCE_UNITS } from './bodies.js';

export interface PacedResult {
  window: number;
  rate_target: number;
  rate_achieved: number;
  calls: number;
  ok: number;
  rotations: number;
  /** Every call, due → answered. */
  latency: LatencyRow;
  /** Calls due from an ask until the backlog is worked off after its flip, and all the others. */
  in_rotations: LatencyRow & { over_1ms: number };
  elsewhere: LatencyRow & { over_1ms: number };
  /** Per rotation: the slowest call in its window (µs), and its calls over 1 ms. */
  per_rotation: Array<{ slowest_us: number; over_1ms: number; asked_to_flip_ms: number; paused_ms: number }>;
  phases: PhaseSummary | null;
  /** The control: the same calls at the same pace on a fresh memory-only wallet (no rotation, no journal). */
  memory: LatencyRow & { over_1ms: number };
}

const next_turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** A call answered within this of its due time: no backlog left. */
const CAUGHT_UP_NS = 100_000;
const BATCH_MAX = 64;

export async function run_paced(wallet: Wallet, window: number, rate: number, rotations_wanted: number, users: readonly string[], seed: number): Promise<PacedResult> {
  // A rotation every 0.75 x W/2 units when nothing waits for room, 2 units per pair: 0.1875 W pairs.
  const pairs = Math.ceil((rotations_wanted + 0.5) * 0.1875 * window);
  const rng = new Random(seed, 1600 + (window % 1000));
  const bets: BetBody[] = new Array(pairs);
  const wins: WinBody[] = new Array(pairs);
  for (let i = 0; i < pairs; i++) {
    bets[i] = bet_body(rng, users);
    wins[i] = win_body(rng, bets[i]);
  }
  const calls = 2 * pairs;
  log(`forever W=${window} paced: ${calls.toLocaleString('en-US')} calls at ${rate.toLocaleString('en-US')}/s (~${rotations_wanted} rotations), then the same on a memory wallet`);
  const observer = start_observer(wallet);
  const rotations_before = stats(wallet).rotations;
  const { due_ms, latency_ns, ok, elapsed_ms } = await paced_loop(wallet, bets, wins, rate);
  const phases = await observer.stop();
  const rotations = stats(wallet).rotations - rotations_before;

  const control = start({
    maxTransactions: budget_for_bets(pairs), maxUsers: users_max_for(users.length), maxThreads: 16,
    initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY, prefault: true,
  });
  let control_latency_ns: Float64Array;
  try {
    createUsers(control, users);
    control_latency_ns = (await paced_loop(control, bets, wins, rate)).latency_ns;
  } finally {
    await close(control);
  }

  // Windows of the rotations, in the observer's clock (performance.timeOrigin + now).
  const windows = phases_windows(phases);
  const inside: number[] = [], outside: number[] = [];
  const per_rotation = windows.map((w) => ({ slowest_us: 0, over_1ms: 0, asked_to_flip_ms: w.asked_to_flip_ms, paused_ms: w.paused_ms }));
  // A rotation's window: from its ask until the backlog it caused is worked off
  // (the first call after its flip answered within CAUGHT_UP_NS of being due).
  let k = 0;
  let caught_up = false;
  for (let call = 0; call < calls; call++) {
    const t = due_ms[call];
    while (k < windows.length && t > windows[k].flip && caught_up) {
      k++;
      caught_up = false;
    }
    const w = windows[k];
    if (w !== undefined && t > w.flip && latency_ns[call] < CAUGHT_UP_NS) caught_up = true;
    if (w !== undefined && t >= w.from && !caught_up) {
      inside.push(latency_ns[call]);
      const r = per_rotation[k];
      r.slowest_us = Math.max(r.slowest_us, Math.round(latency_ns[call] / 1000));
      if (latency_ns[call] > 1e6) r.over_1ms++;
    } else {
      outside.push(latency_ns[call]);
    }
  }
  const with_over = (list: ArrayLike<number>) => ({ ...summarise_ns(list), over_1ms: Array.prototype.filter.call(list, (ns: number) => ns > 1e6).length });
  return {
    window, rate_target: rate, rate_achieved: Math.round((calls / elapsed_ms) * 1000), calls, ok, rotations,
    latency: summarise_ns(latency_ns), in_rotations: with_over(inside), elsewhere: with_over(outside), per_rotation,
    phases: summarise_phases(phases), memory: with_over(control_latency_ns),
  };
}

/** The calls of `bets`/`wins` (bet p, then its win) at `rate` per second, open loop. */
async function paced_loop(wallet: Wallet, bets: BetBody[], wins: WinBody[], rate: number) {
  const calls = 2 * bets.length;
  const due_ms = new Float64Array(calls);
  const latency_ns = new Float64Array(calls);
  const origin_ms = performance.timeOrigin;
  const interval_ms = 1000 / rate;
  let ok = 0;
  const started_ms = performance.now();
  for (let call = 0; call < calls;) {
    const now = performance.now();
    const due_count = Math.min(calls, Math.floor((now - started_ms) / interval_ms) + 1);
    if (due_count <= call) {
      // Idle until the next call is due: turn the event loop, as an idle server does (durable()'s watch runs
      // there and wakes the flusher; a loop that never yields gets a flush only when its journal ring is full).
      await next_turn();
      continue;
    }
    const end = Math.min(due_count, call + BATCH_MAX);
    for (; call < end; call++) {
      const due = started_ms + call * interval_ms;
      const pair = call >>> 1;
      const answer = (call & 1) === 0 ? bet(wallet, bets[pair]) : win(wallet, wins[pair]);
      latency_ns[call] = (performance.now() - due) * 1e6;
      due_ms[call] = origin_ms + due;
      if (answer.status === RS_OK) ok++;
      if (call % 1000 === 999) void durable(wallet);
    }
  }
  const elapsed_ms = performance.now() - started_ms;
  await durable(wallet);
  return { due_ms, latency_ns, ok, elapsed_ms };
}

function phases_windows(phases: Awaited<ReturnType<ReturnType<typeof start_observer>['stop']>>) {
  return phases
    .filter((p) => p.retired_ms >= 0)
    .map((p) => ({ from: p.asked_at, flip: p.asked_at + p.flip_ms, asked_to_flip_ms: p.flip_ms, paused_ms: p.paused_ms }));
}
