// A worker made to be killed: it sends its plan (requests made by the
// parent, request_uuids included, so the parent knows every request even if
// the response dies with the thread) and marks in shared words how far it
// got, so that after terminate() the parent knows which calls are uncertain.
//
// Modes:
//   'plan'      send the plan over and over (bounded) until the parent raises
//               the stop word, posting responses in small batches; then detach
//               and post 'done'. Positions count across repetitions: position p
//               sends plan[p % plan.length].
//   'idle'      send the plan once, post everything, post 'done', then block
//               (holding its thread slot, no call in flight) until terminated.
//   'die_at'    inject a crash point (src/testing.ts) into the next call, make
//               it (the core traps there, as a thread dying at that instruction
//               would), post 'crashed', then block on a word nobody notifies
//               until the parent terminates it (bounded by the budget).

import { parentPort, workerData } from 'node:worker_threads';
import { attach, detach, type WalletHandle, type WalletResponse } from 'exwallet';
import { bet, win, rollback } from '../../tools/untyped.js';
import { inject_crash } from 'exwallet/testing';
import type { Intent } from './intents.js';
import type { Sent } from './stress_worker.js';
import { tick, W_STOP, W_ABORTED } from '../../tools/sync.js';
import { pass_request_uuid } from '../../tools/random.js';

export interface PlannedSend {
  /** Index in the run's whole pool (what the parent's checks use). */
  intent: number;
  /** Index in this worker's `intents` (only the intents of its plan are
   *  cloned into a worker: the whole pool, per spawn, would cost more than
   *  the storm). */
  local: number;
  request_uuid: string;
}

export interface CrashWorkerData {
  mode: 'plan' | 'idle' | 'die_at';
  handle: WalletHandle;
  intents: Intent[];
  plan: PlannedSend[];
  sync: SharedArrayBuffer;
  /** This worker's words: in-flight position at sync[inflight_word], calls
   *  started at sync[started_word]. */
  inflight_word: number;
  started_word: number;
  slot: number;
  budget_ms: number;
  batch_max: number;
  /** Pause after each pass over the plan (keeps the volume of responses
   *  the parent must take in bounded; the calls themselves are not slowed). */
  pause_ms: number;
  /** die_at: the crash point (L.CRASH_*). */
  crash_point?: number;
}

export type CrashMessage =
  | { kind: 'ready'; slot: number }
  | { kind: 'sent'; slot: number; items: Sent[] }
  | { kind: 'crashed'; slot: number; error: string }
  | { kind: 'done'; slot: number; calls: number }
  | { kind: 'failed'; slot: number; error: string };

const data = workerData as CrashWorkerData;
const port = parentPort!;
const sync = new Int32Array(data.sync);
const deadline_ms = performance.now() + data.budget_ms;
/** Bound on the repetitions of the plan (the budget bounds it too). */
const REPEATS_MAX = 1_000;

function send(wallet: ReturnType<typeof attach>, planned: PlannedSend): WalletResponse {
  const intent = data.intents[planned.local]!;
  const body = { ...intent.body, request_uuid: planned.request_uuid };
  switch (intent.op) {
    case 'bet': return bet(wallet, body);
    case 'win': return win(wallet, body);
    case 'rollback': return rollback(wallet, body);
    default: throw new Error(`crash workers send bets, wins and rollbacks, not ${intent.op}`);
  }
}

/** Block (bounded all the same) until the parent terminates this thread. */
function block_until_terminated(): never {
  while (performance.now() < deadline_ms && Atomics.load(sync, W_ABORTED) === 0) {
    Atomics.wait(sync, W_STOP, Atomics.load(sync, W_STOP), 50);
  }
  throw new Error(`${data.mode} worker was never terminated`);
}

try {
  const wallet = attach(data.handle);
  port.postMessage({ kind: 'ready', slot: data.slot } satisfies CrashMessage);
  if (data.mode === 'die_at') {
    inject_crash(wallet, data.crash_point!);
    try {
      send(wallet, data.plan[0]!);
      throw new Error(`crash point ${data.crash_point} was not reached`);
    } catch (error) {
      if (!(error instanceof WebAssembly.RuntimeError)) throw error;
      port.postMessage({ kind: 'crashed', slot: data.slot, error: String(error) } satisfies CrashMessage);
    }
    block_until_terminated(); // holding the dead claim
  }
  let batch: Sent[] = [];
  let calls = 0;
  const positions_max = data.mode === 'idle' ? data.plan.length : data.plan.length * REPEATS_MAX;
  for (let position = 0; position < positions_max; position++) {
    if (Atomics.load(sync, W_STOP) !== 0) break;
    if (position > 0 && position % data.plan.length === 0) Atomics.wait(sync, W_STOP, 0, data.pause_ms);
    if ((position & 31) === 0 && performance.now() > deadline_ms) throw new Error(`over budget at position ${position}`);
    Atomics.store(sync, data.inflight_word, position);
    Atomics.store(sync, data.started_word, position + 1);
    const invoke = tick(sync);
    const pass = Math.floor(position / data.plan.length);
    const base = data.plan[position % data.plan.length]!;
    const planned = { ...base, request_uuid: pass_request_uuid(base.request_uuid, pass) };
    const response = send(wallet, planned);
    const ret = tick(sync);
    Atomics.store(sync, data.inflight_word, -1);
    calls++;
    batch.push({ worker: data.slot, phase: 0, intent: planned.intent, request_uuid: planned.request_uuid, response, invoke, ret });
    if (batch.length >= data.batch_max) {
      port.postMessage({ kind: 'sent', slot: data.slot, items: batch } satisfies CrashMessage);
      batch = [];
    }
  }
  if (batch.length > 0) port.postMessage({ kind: 'sent', slot: data.slot, items: batch } satisfies CrashMessage);
  if (data.mode === 'idle') {
    port.postMessage({ kind: 'done', slot: data.slot, calls } satisfies CrashMessage);
    block_until_terminated();
  }
  detach(wallet);
  port.postMessage({ kind: 'done', slot: data.slot, calls } satisfies CrashMessage);
} catch (error) {
  port.postMessage({ kind: 'failed', slot: data.slot, error: String((error as Error).stack ?? error) } satisfies CrashMessage);
}
