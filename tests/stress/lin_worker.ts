// A worker that records histories for the linearizability checker: for each
// job it attaches to the job's wallet, waits at the gate with the others,
// makes its calls (a barrier every few calls keeps the threads overlapping),
// ticking the shared clock at invoke and at return, then posts the calls.

import { parentPort } from 'node:worker_threads';
import { attach, detach, type WalletHandle, type WalletResponse } from 'exwallet';
import { bet, win, rollback, balance } from '../../tools/untyped.js';
import { wait_gate, arrive_and_wait, tick } from '../../tools/sync.js';
import type { LinOp } from './linearizability.js';

export interface LinJob {
  handle: WalletHandle;
  sync: SharedArrayBuffer;
  threads: number;
  calls: { op: LinOp; body: Record<string, unknown> }[];
  barrier_every: number;
  /** Barriers only before this call index: every thread has that many calls. */
  barrier_until: number;
  budget_ms: number;
}

export type LinMessage =
  | { kind: 'ready' }
  | { kind: 'recorded'; responses: WalletResponse[]; invokes: number[]; rets: number[] }
  | { kind: 'failed'; error: string };

const port = parentPort!;

port.on('message', (job: LinJob) => {
  try {
    const deadline_ms = performance.now() + job.budget_ms;
    const sync = new Int32Array(job.sync);
    const wallet = attach(job.handle);
    port.postMessage({ kind: 'ready' } satisfies LinMessage);
    wait_gate(sync, deadline_ms);
    const responses: WalletResponse[] = [];
    const invokes: number[] = [];
    const rets: number[] = [];
    for (let i = 0; i < job.calls.length; i++) {
      if (i > 0 && i < job.barrier_until && i % job.barrier_every === 0) arrive_and_wait(sync, job.threads, deadline_ms);
      const { op, body } = job.calls[i]!;
      invokes.push(tick(sync));
      const response =
        op === 'bet' ? bet(wallet, body) : op === 'win' ? win(wallet, body) : op === 'rollback' ? rollback(wallet, body) : balance(wallet, body);
      rets.push(tick(sync));
      responses.push(response);
    }
    detach(wallet);
    port.postMessage({ kind: 'recorded', responses, invokes, rets } satisfies LinMessage);
  } catch (error) {
    port.postMessage({ kind: 'failed', error: String((error as Error).stack ?? error) } satisfies LinMessage);
  }
});
