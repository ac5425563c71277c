// A process that runs a durable wallet under multi-worker load and reports
// every answer it acknowledged: an answer is printed (one JSON line on
// stdout, written synchronously) only after durable() resolved for it, as a
// service would send it only then. {"ready":true} comes first, once every
// worker is attached and calling. The test kills this process with SIGKILL
// at a random moment and checks that every printed answer was recovered.
//
//   node load_child.js <dataDir> <seed> <workers> [canary|acked] [window stall_ms]
//
// window: maxTransactions (default 2M: the window never rotates). A small
// one rotates all the time; the workers then settle most bets (open bets
// must fit the window) and the rotator lingers stall_ms between the steps of
// each retirement, so that the kill lands inside one.
//
// canary: print each batch BEFORE durable() resolved for it (a service that
// answers too early): a kill must then, sooner or later, lose an answer that
// was printed, and the crash checks must say so (npm run crash -- --canary).

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import { start, createUsers, share, attach, bet, win, rollback, durable, type WalletHandle } from 'exwallet';
import { set_rotation_stall } from 'exwallet/testing';
import { Random } from '../../tools/random.js';
import { USERS, INITIAL_UNITS, type Acked } from './load_shared.js';


const pause = new Int32Array(new SharedArrayBuffer(4));

/** Write all of `text` to `fd`, synchronously. A pipe to a parent that
 *  reads slower than the workers acknowledge is non-blocking here: writeSync
 *  throws EAGAIN when it is full, or writes part of the text. Wait and go on
 *  (a line the kill cuts short was never received: the parent drops it). */
function write_all(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(fd, bytes, at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

interface Job {
  handle: WalletHandle;
  seed: number;
  worker: number;
  canary: boolean;
  /** Of 10 calls on a user with an open bet, how many settle one. */
  settle_of_10: number;
}


async function work(job: Job): Promise<void> {
  const wallet = attach(job.handle);
  parentPort!.postMessage('started');
  const random = new Random(job.seed, job.worker + 1);
  const open: Array<{ user: string; uuid: string }> = [];
  for (let round = 0; ; round++) {
    const acked: Acked[] = [];
    for (let call = 0; call < 50; call++) {
      const user = USERS[random.next_u32() % USERS.length];
      const transaction_uuid = random.uuid();
      const request_uuid = random.uuid();
      const pick = random.next_u32() % 10;
      let kind: Acked['kind'] = 'bet';
      let body: Record<string, unknown>;
      const mine = open.findIndex((bet_of) => bet_of.user === user);
      if (pick < job.settle_of_10 && mine >= 0) {
        const [settled] = open.splice(mine, 1);
        kind = pick < job.settle_of_10 - 1 ? 'win' : 'rollback';
        body = kind === 'win'
          ? { user, transaction_uuid, request_uuid, currency: 'USD', amount: random.next_u32() % 300, reference_transaction_uuid: settled.uuid }
          : { user, transaction_uuid, request_uuid, reference_transaction_uuid: settled.uuid };
      } else {
        body = { user, transaction_uuid, request_uuid, currency: 'USD', amount: 1 + (random.next_u32() % 200), round: `r${round}` };
      }
      const call_of = kind === 'bet' ? bet : kind === 'win' ? win : rollback;
      const response = call_of(wallet, body as never);
      if (kind === 'bet' && response.status === 'RS_OK') open.push({ user, uuid: transaction_uuid });
      acked.push({ kind, transaction_uuid, body, response });
    }
    if (job.canary) parentPort!.postMessage(acked);
    await durable(wallet);
    if (!job.canary) parentPort!.postMessage(acked);
  }
}

if (!isMainThread) {
  void work(workerData as Job);
} else {
  const [dir, seed_text, workers_text, mode, window_text, stall_text] = process.argv.slice(2);
  const window = window_text === undefined ? 2_000_000 : Number(window_text);
  const wallet = start({ dataDir: dir, maxUsers: 64, maxTransactions: window, maxThreads: 16, initialBalance: INITIAL_UNITS });
  if (stall_text !== undefined) set_rotation_stall(wallet, Number(stall_text));
  createUsers(wallet, USERS);
  const handle = share(wallet);
  const workers = Number(workers_text);
  let started = 0;
  for (let worker = 0; worker < workers; worker++) {
    const thread = new Worker(new URL(import.meta.url), { workerData: { handle, seed: Number(seed_text), worker, canary: mode === 'canary', settle_of_10: window_text === undefined ? 3 : 7 } satisfies Job });
    thread.on('message', (acked: Acked[] | 'started') => {
      // Ready once every worker is attached and calling: the load is on.
      if (acked === 'started') {
        if (++started === workers) write_all(1, JSON.stringify({ ready: true }) + '\n');
        return;
      }
      write_all(1, acked.map((answer) => JSON.stringify(answer)).join('\n') + '\n');
    });
    thread.on('error', (error) => {
      writeSync(2, `worker failed: ${error.stack}\n`);
      process.exit(3);
    });
  }
}
