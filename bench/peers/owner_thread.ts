// Peer (b): the original's architecture ported to Node. One owner worker
// thread holds a MapWallet (peer a); client workers send each request by
// postMessage and await the reply, `inflight` (64) outstanding per client.
// Aggregate calls/s = all replies / the slowest client's loop time.

import { MessageChannel } from 'node:worker_threads';
import { make_sync } from '../../tools/sync.js';
import { run_gated_workers, start_service_worker, summarise_loops } from '../lib.js';

export interface OwnerThreadOptions {
  clients: number;
  users: string[];
  calls_per_client: number;
  warmup_calls: number;
  inflight: number;
  initial_balance_units: number;
  seed: number;
  deadline_ms: number;
}

export interface OwnerThreadResult {
  clients: number;
  inflight: number;
  calls: number;
  ok: number;
  elapsed_ms: number;
  calls_per_s: number;
  per_client: Array<{ calls: number; ok: number; elapsed_ms: number; calls_per_s: number; first_failure: string }>;
}

const WORKER_URL = new URL('./owner_thread_worker.js', import.meta.url);

export async function run_owner_thread(options: OwnerThreadOptions): Promise<OwnerThreadResult> {
  const tx_max = options.clients * (options.calls_per_client + options.warmup_calls) + 1024;
  const owner = await start_service_worker(
    WORKER_URL,
    { role: 'owner', users: options.users, initial_balance_units: options.initial_balance_units, tx_max },
    options.deadline_ms,
  );
  try {
    const gate = new Int32Array(make_sync(0));
    const specs = [];
    for (let client = 0; client < options.clients; client++) {
      const { port1, port2 } = new MessageChannel();
      owner.postMessage({ port: port1 }, [port1]);
      specs.push({
        url: WORKER_URL,
        workerData: {
          role: 'client', port: port2, users: options.users, seed: options.seed, stream: 1000 + client,
          calls: options.calls_per_client, warmup_calls: options.warmup_calls, inflight: options.inflight,
          gate, gate_wait_ms_max: options.deadline_ms,
        },
        transferList: [port2],
      });
    }
    const results = await run_gated_workers(specs, gate, options.deadline_ms);
    const { loops: per_client, calls, ok, elapsed_ms, calls_per_s } = summarise_loops(results);
    return { clients: options.clients, inflight: options.inflight, calls, ok, elapsed_ms, calls_per_s, per_client };
  } finally {
    await owner.terminate();
  }
}
