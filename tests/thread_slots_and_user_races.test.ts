// Two concurrency rules that only show between threads:
//  - createUsers is linearizable at the last free place of the user table:
//    two threads creating the same name there both succeed (in any sequential
//    order the second finds the name and ignores it).
//  - a thread that died keeps its registry slot until audit() is told it is
//    dead (deadThreadIds); then the slot is free again for a new attach.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { start, share, attach, detach, audit, createUsers, balance, type WalletHandle } from 'exwallet';
import { arrive_and_wait, make_sync } from '../tools/sync.js';

const DEADLINE_MS = 10_000;
const RACE_ROUNDS = Number(process.env.USER_RACE_ROUNDS ?? 2_000);

type Role = { role: 'race'; sync: SharedArrayBuffer } | { role: 'idle' };

function with_deadline<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

if (isMainThread) {
  test(`two threads creating the same last user both succeed (${RACE_ROUNDS} rounds)`, async () => {
    const sync = make_sync(0);
    const workers = [0, 1].map(() => new Worker(new URL(import.meta.url), { workerData: { role: 'race', sync } satisfies Role }));
    try {
      let refused = 0;
      let example = '';
      for (let round = 0; round < RACE_ROUNDS; round++) {
        const wallet = start({ maxUsers: 1, maxTransactions: 1, maxThreads: 3 });
        const handle = share(wallet);
        const outcomes = await with_deadline(Promise.all(workers.map((worker) => new Promise<string>((resolve) => {
          worker.once('message', resolve);
          worker.postMessage(handle);
        }))), `round ${round}`);
        assert.is(balance(wallet, { user: 'x', request_uuid: 'r' }).status, 'RS_OK', "'x' exists");
        const bad = outcomes.filter((outcome) => outcome !== 'created');
        if (bad.length > 0) {
          refused++;
          example ||= bad[0];
        }
      }
      assert.is(refused, 0, `${refused} rounds refused a call although 'x' was created: ${example}`);
    } finally {
      await Promise.all(workers.map((worker) => worker.terminate()));
    }
  });

  test('a dead thread keeps its slot until audit({ deadThreadIds }) frees it', async () => {
    const wallet = start({ maxUsers: 10, maxTransactions: 100, maxThreads: 2 }); // this thread + 1
    const attach_once = async () => {
      const worker = new Worker(new URL(import.meta.url), { workerData: { role: 'idle' } satisfies Role });
      worker.postMessage(share(wallet));
      const outcome = await with_deadline(new Promise<string>((resolve) => worker.once('message', resolve)), 'attach');
      return { worker, outcome };
    };
    const first = await attach_once();
    assert.is(first.outcome, 'attached');
    const dead_thread_id = first.worker.threadId;
    await first.worker.terminate(); // no JS runs in it: its slot stays taken
    const second = await attach_once();
    await second.worker.terminate();
    assert.match(second.outcome, /RangeError: exwallet: all 2 thread slots are taken/);
    const report = audit(wallet, { deadThreadIds: [dead_thread_id] });
    assert.ok(report.ok);
    assert.is(report.threadSlotsFreed, 1);
    const third = await attach_once();
    await third.worker.terminate();
    assert.is(third.outcome, 'attached');
  });

  test.run();
} else {
  const role = workerData as Role;
  parentPort!.on('message', (handle: WalletHandle) => {
    if (role.role === 'idle') {
      let outcome = 'attached';
      try {
        attach(handle);
      } catch (error) {
        outcome = String(error);
      }
      parentPort!.postMessage(outcome);
      return; // stays alive (the parent port keeps it) until terminated
    }
    const wallet = attach(handle);
    arrive_and_wait(new Int32Array(role.sync), 2, performance.now() + DEADLINE_MS);
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
