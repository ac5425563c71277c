// Reproduction (not a test: it fails while the limitation is there) of thread
// slots lost to dead threads. Run:
//   npm run build && node dist/tests/stress/repro_dead_thread_slot.js
//
// A worker that attaches takes a thread slot; a worker that is terminated (or
// dies) never gives it back — no detach() runs, its core's finalizer never
// runs, and audit() does not reclaim slots either. With maxThreads 3 (this
// thread + 2), the third worker ever started cannot attach although only
// this thread is alive: a service that replaces crashed workers runs out of
// slots after maxThreads deaths (and keeps them even after a clean audit).

import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { start, share, attach, audit, type WalletHandle } from 'exwallet';

if (isMainThread) {
  const wallet = start({ maxUsers: 10, maxTransactions: 100, maxThreads: 3 });
  const outcomes: string[] = [];
  for (let i = 0; i < 4; i++) {
    const worker = new Worker(new URL(import.meta.url), { workerData: share(wallet) });
    outcomes.push(`worker ${i}: ${await new Promise<string>((resolve) => worker.once('message', resolve))}`);
    await worker.terminate();
    if (i === 1) outcomes.push(`audit after two deaths: ok=${audit(wallet).ok}`);
  }
  console.log(outcomes.join('\n'));
  const refused = outcomes.some((line) => line.includes('RangeError'));
  console.log(refused ? 'LIMITATION: dead threads keep their slots' : 'OK: slots of dead threads were reclaimed');
  process.exitCode = refused ? 1 : 0;
} else {
  let outcome = 'attached';
  try {
    attach(workerData as WalletHandle);
  } catch (error) {
    outcome = String(error);
  }
  parentPort!.postMessage(outcome);
  setInterval(() => {}, 1_000); // alive until terminated
}
