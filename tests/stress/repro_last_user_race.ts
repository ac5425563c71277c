// Reproduction (not a test: it fails while the bug is there) of a
// non-linearizable createUsers. Run:
//   npm run build && node dist/tests/stress/repro_last_user_race.js
//
// Two threads call createUsers(wallet, ['x']) at the same moment on a wallet
// with room for exactly one more user. Any sequential order of the two calls
// succeeds twice (the second finds 'x' and ignores it, spec §2), yet one call
// can throw "user table full": thread B looks 'x' up (absent: A has taken its
// ticket but not yet published), then sees the ticket count at maxUsers — A's
// in-flight creation of that very name — and throws, from src/users.ts's room
// check ("room for 0") or from the core's ticket (user_create → USER_TABLE_FULL,
// "while creating"). Neither path looks for the name again. Seen in 1–5% of
// rounds on the 2-core machine (342 of 30_000; 926 of 20_000), and at the
// last name of a 2_000-name lockstep fill.

import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { start, share, attach, detach, createUsers, balance, type WalletHandle } from 'exwallet';
import { arrive_and_wait, make_sync } from './sync.js';

const ROUNDS = Number(process.env.ROUNDS ?? 20_000);

if (isMainThread) {
  const sync = make_sync(0);
  const workers = [0, 1].map(() => new Worker(new URL(import.meta.url), { workerData: sync }));
  let refused = 0;
  let example = '';
  for (let round = 0; round < ROUNDS; round++) {
    const wallet = start({ maxUsers: 1, maxTransactions: 1, maxThreads: 3 });
    const handle = share(wallet);
    const outcomes = await Promise.all(workers.map((worker) => new Promise<string>((resolve) => {
      worker.once('message', resolve);
      worker.postMessage(handle);
    })));
    const exists = balance(wallet, { user: 'x', request_uuid: 'r' }).status === 'RS_OK';
    const bad = outcomes.filter((outcome) => outcome !== 'created');
    if (bad.length > 0 && exists) {
      refused++;
      example ||= `round ${round}: ${bad[0]} (and 'x' exists)`;
    }
  }
  await Promise.all(workers.map((worker) => worker.terminate()));
  console.log(`${refused} of ${ROUNDS} rounds: one createUsers(['x']) threw although the other created 'x'${example ? `; e.g. ${example}` : ''}`);
  process.exitCode = refused === 0 ? 0 : 1;
} else {
  const words = new Int32Array(workerData as SharedArrayBuffer);
  parentPort!.on('message', (handle: WalletHandle) => {
    const wallet = attach(handle);
    arrive_and_wait(words, 2, performance.now() + 10_000);
    let outcome = 'created';
    try {
      createUsers(wallet, ['x']);
    } catch (error) {
      outcome = String(error);
    }
    detach(wallet);
    parentPort!.postMessage(outcome);
  });
}
