// Runs workers against one wallet and collects every (intent, response) pair
// they sent back. Every wait has a deadline: a worker that hangs, fails or
// exits early makes the run fail with a message, never hang.

import { Worker } from 'node:worker_threads';
import { share, type Wallet } from 'exwallet';
import type { Intent } from './intents.js';
import type { Sent, StressWorkerData, WorkerMessage } from './stress_worker.js';
import { make_sync, open_gate, W_ABORTED } from '../../tools/sync.js';
import { derive_seed } from '../../tools/random.js';

export interface WorkersRun {
  sends: Sent[];
  calls: number;
  elapsed_ms: number;
}

export interface RunWorkersOptions {
  intents: Intent[];
  /** plans[worker][phase]: intent indices. */
  plans: number[][][];
  seed: number;
  /** The whole run (spawn, attach, send, exit) must end within this. */
  budget_ms: number;
  /** Barrier among the workers every this many sends (default 0: none). */
  barrier_every?: number;
  /** Worker seeds start at this stream index (distinct request_uuids across runs). */
  seed_offset?: number;
}

/** Spawn one worker per plan over `wallet`, start them together at the
 *  gate, and wait for every one to finish and exit. Rejects on any failure
 *  or past the budget (after terminating every worker it started). */
export async function run_workers(wallet: Wallet, options: RunWorkersOptions): Promise<WorkersRun> {
  const handle = share(wallet);
  const workers_count = options.plans.length;
  const sync_buffer = make_sync(workers_count);
  const sync = new Int32Array(sync_buffer);
  const sends: Sent[] = [];
  const phases = Math.max(...options.plans.map((plan) => plan.length));
  const common_lengths = Array.from({ length: phases }, (_, phase) =>
    Math.min(...options.plans.map((plan) => plan[phase]?.length ?? 0)));
  const workers: Worker[] = [];
  let calls = 0;
  let ready = 0;
  let done = 0;
  let exited = 0;
  let started_ms = 0;

  return await new Promise<WorkersRun>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        Atomics.store(sync, W_ABORTED, 1);
        for (const worker of workers) void worker.terminate();
        reject(error);
      } else {
        resolve({ sends, calls, elapsed_ms: performance.now() - started_ms });
      }
    };
    const timer = setTimeout(() => {
      finish(new Error(
        `workers over budget (${options.budget_ms} ms): ready ${ready}, done ${done}, exited ${exited} of ${workers_count}`,
      ));
    }, options.budget_ms);

    for (let w = 0; w < workers_count; w++) {
      const data: StressWorkerData = {
        handle, intents: options.intents, plan: options.plans[w]!, sync: sync_buffer, worker: w, workers: workers_count,
        seed: derive_seed(options.seed, 10_000 + (options.seed_offset ?? 0) + w), budget_ms: options.budget_ms,
        barrier_every: options.barrier_every ?? 0, common_lengths,
      };
      const worker = new Worker(new URL('./stress_worker.js', import.meta.url), { workerData: data });
      workers.push(worker);
      worker.on('message', (message: WorkerMessage) => {
        switch (message.kind) {
          case 'ready':
            if (++ready === workers_count) {
              started_ms = performance.now();
              open_gate(sync);
            }
            break;
          case 'sent':
            for (const item of message.items) sends.push(item);
            break;
          case 'done':
            calls += message.calls;
            done++;
            break;
          case 'failed':
            finish(new Error(`worker ${message.worker} failed: ${message.error}`));
            break;
        }
      });
      worker.on('error', (error) => finish(new Error(`worker ${w} threw: ${error.stack ?? error}`)));
      worker.on('exit', (code) => {
        exited++;
        if (code !== 0 && !settled) finish(new Error(`worker ${w} exited with code ${code}`));
        else if (exited === workers_count) {
          if (done === workers_count) finish();
          else finish(new Error(`workers exited with only ${done} of ${workers_count} done`));
        }
      });
    }
  });
}
