// One stress worker: attach to the shared wallet, wait at the gate, send its
// plan phase by phase (a barrier between phases), and post every (intent,
// response) pair back to the parent in batches. Each send gets a fresh
// request_uuid, so a replayed original response is recognisable.

import { parentPort, workerData } from 'node:worker_threads';
import { attach, detach, createUsers, type WalletHandle, type WalletResponse } from 'exwallet';
import { bet, win, rollback, balance } from '../../tools/untyped.js';
import type { Intent } from './intents.js';
import { Random } from '../../tools/random.js';
import { wait_gate, arrive_and_wait, tick, W_PROGRESS } from '../../tools/sync.js';

export interface StressWorkerData {
  handle: WalletHandle;
  intents: Intent[];
  plan: number[][];
  sync: SharedArrayBuffer;
  worker: number;
  workers: number;
  seed: number;
  /** Everything this worker does must end within this budget. */
  budget_ms: number;
  /** Post sends in batches of this many. */
  batch_max?: number;
  /** All workers meet at a barrier every this many sends (0: never), within
   *  the first common_lengths[phase] sends of each phase. Threads given CPU
   *  time unevenly drift apart; meeting often keeps every worker near the
   *  same uuids, so that their duplicates really overlap. */
  barrier_every: number;
  common_lengths: number[];
}

/** What createUsers did, in the place of a wallet response. */
export interface CreateOutcome {
  status: 'created' | 'threw';
  error?: string;
}

export interface Sent {
  worker: number;
  phase: number;
  intent: number;
  request_uuid: string;
  response: WalletResponse | CreateOutcome;
  /** Logical clock ticks (sync.ts) taken just before the call and just after. */
  invoke: number;
  ret: number;
}

export type WorkerMessage =
  | { kind: 'ready'; worker: number }
  | { kind: 'sent'; worker: number; items: Sent[] }
  | { kind: 'done'; worker: number; calls: number }
  | { kind: 'failed'; worker: number; error: string };

const data = workerData as StressWorkerData;
const port = parentPort!;
const sync = new Int32Array(data.sync);
const deadline_ms = performance.now() + data.budget_ms;
const rng = new Random(data.seed);
const batch_max = data.batch_max ?? 512;

function post(message: WorkerMessage): void {
  port.postMessage(message);
}

try {
  const wallet = attach(data.handle);
  post({ kind: 'ready', worker: data.worker });
  wait_gate(sync, deadline_ms);
  let batch: Sent[] = [];
  let calls = 0;
  const progress_word = W_PROGRESS + data.worker;
  for (let phase = 0; phase < data.plan.length; phase++) {
    const order = data.plan[phase]!;
    const common_length = data.common_lengths[phase]!;
    for (let position = 0; position < order.length; position++) {
      if (data.barrier_every > 0 && position > 0 && position < common_length && position % data.barrier_every === 0) {
        arrive_and_wait(sync, data.workers, deadline_ms);
      }
      if ((position & 63) === 0 && performance.now() > deadline_ms) throw new Error(`over budget at phase ${phase} position ${position}`);
      const index = order[position]!;
      const intent = data.intents[index]!;
      const request_uuid = rng.uuid();
      Atomics.store(sync, progress_word, position);
      let response: WalletResponse | CreateOutcome;
      const invoke = tick(sync);
      switch (intent.op) {
        case 'bet': response = bet(wallet, { ...intent.body, request_uuid }); break;
        case 'win': response = win(wallet, { ...intent.body, request_uuid }); break;
        case 'rollback': response = rollback(wallet, { ...intent.body, request_uuid }); break;
        case 'balance': response = balance(wallet, { ...intent.body, request_uuid }); break;
        case 'create':
          try {
            createUsers(wallet, intent.names!);
            response = { status: 'created' };
          } catch (error) {
            response = { status: 'threw', error: `${(error as Error).name}: ${(error as Error).message}` };
          }
          break;
      }
      const ret = tick(sync);
      Atomics.store(sync, progress_word, -1);
      calls++;
      batch.push({ worker: data.worker, phase, intent: index, request_uuid, response, invoke, ret });
      if (batch.length >= batch_max) {
        post({ kind: 'sent', worker: data.worker, items: batch });
        batch = [];
      }
    }
    if (data.plan.length > 1) arrive_and_wait(sync, data.workers, deadline_ms);
  }
  if (batch.length > 0) post({ kind: 'sent', worker: data.worker, items: batch });
  detach(wallet);
  post({ kind: 'done', worker: data.worker, calls });
} catch (error) {
  post({ kind: 'failed', worker: data.worker, error: String((error as Error).stack ?? error) });
}
