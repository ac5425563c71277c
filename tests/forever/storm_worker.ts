// One worker of the twin storm (tests/running_forever.test.ts): attach the
// wallet, optionally arm the flip canary in this thread, wait at the gate,
// then send every body of the shared plan in order — the same plan, so
// every other worker sends the same uuids at about the same moment, across
// the many flips of a small window — and hand back every answer.

import { workerData, parentPort } from 'node:worker_threads';
import { attach, type WalletHandle, type WalletResponse } from 'exwallet';
import { set_flip_canary } from 'exwallet/testing';
import { bet, win } from '../../tools/untyped.js';
import { wait_gate, W_ABORTED } from '../../tools/sync.js';

export interface StormJob {
  handle: WalletHandle;
  sync: SharedArrayBuffer;
  /** [kind, body] in order: 'bet' or 'win'. */
  plan: Array<['bet' | 'win', Record<string, unknown>]>;
  canary: boolean;
}

/** A call slower than this means the storm broke the wallet (the canary's
 *  trapped calls stay "in flight" and stall the rotations): stop them all. */
const CALL_SLOW_MS = 1_000;

const job = workerData as StormJob;
const sync = new Int32Array(job.sync);
const wallet = attach(job.handle);
if (job.canary) set_flip_canary(wallet, true);
wait_gate(sync, performance.now() + 30_000);
const answers: Array<WalletResponse | string> = [];
for (const [kind, body] of job.plan) {
  if (Atomics.load(sync, W_ABORTED) !== 0) break;
  const began_ms = performance.now();
  try {
    answers.push(kind === 'bet' ? bet(wallet, body) : win(wallet, body));
  } catch (error) {
    answers.push(`threw: ${(error as Error).message}`); // a broken invariant traps in the core
    Atomics.store(sync, W_ABORTED, 1);
  }
  if (performance.now() - began_ms > CALL_SLOW_MS) {
    answers[answers.length - 1] = `took ${Math.round(performance.now() - began_ms)} ms: ${JSON.stringify(answers[answers.length - 1])}`;
    Atomics.store(sync, W_ABORTED, 1);
  }
}
parentPort!.postMessage(answers);
