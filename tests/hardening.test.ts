// Hardening (issue 9): each rule here once gave a wrong answer; each test
// failed before its fix. Rules are named after docs/contract.md.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import {
  start, createUsers, share, attach, detach, close, audit, stats, lookup,
  RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_WRONG_TYPES, RS_ERROR_WRONG_CURRENCY, RS_ERROR_NOT_ENOUGH_MONEY,
  type Wallet, type WalletHandle, type WalletResponse,
} from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import { home_position, user_home_position, longest_probe_run, longest_user_probe_run, set_hash_key } from 'exwallet/testing';
import { Random } from '../tools/random.js';
import { Uuids, betBody, winBody, rollbackBody, okResponse, errorResponse, type Body } from './bodies.js';
import { thrown } from './bodies.js';

const WORKER_DEADLINE_MS = 60_000;

/** Run `source` (an ES module that may import 'exwallet') in a worker with
 *  `data`; resolve with the messages it posted once it exits with code 0. */
function run_worker<T>(source: string, data: unknown): Promise<T[]> {
  const worker = new Worker(source, { eval: true, workerData: data });
  const messages: T[] = [];
  worker.on('message', (message: T) => messages.push(message));
  return new Promise<T[]>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`worker did not exit within ${WORKER_DEADLINE_MS} ms`)), WORKER_DEADLINE_MS);
    worker.once('error', reject);
    worker.once('exit', (code) => {
      clearTimeout(deadline);
      if (code === 0) resolve(messages);
      else reject(new Error(`worker exited with ${code}`));
    });
  }).finally(() => worker.terminate());
}


// C1.2 Every size that fits 4 GiB works ------------------------------------------

/** A bet, its replay, a win and an audit, from this thread and from a worker:
 *  every byte offset of the worker's scratch region is past 2 GiB. */
async function exercise_large_wallet(max_transactions: number): Promise<void> {
  const wallet = start({ maxUsers: 1024, maxTransactions: max_transactions, maxThreads: 4, initialBalance: 1_000 });
  try {
    createUsers(wallet, ['alice', 'bob']);
    const ids = new Uuids();
    const req = ids.req();
    const placed = betBody('alice', ids.tx(), 100, req);
    assert.equal(bet(wallet, placed), okResponse('alice', req, 900));
    assert.equal(bet(wallet, { ...placed, request_uuid: ids.req() }), okResponse('alice', req, 900), 'a replay');
    const wreq = ids.req();
    assert.equal(win(wallet, winBody('alice', ids.tx(), placed.transaction_uuid, 50, wreq)), okResponse('alice', wreq, 950));
    const source = `
      import { parentPort, workerData } from 'node:worker_threads';
      import { attach, bet, win, detach } from 'exwallet';
      const wallet = attach(workerData.handle);
      const answers = [];
      for (const body of workerData.bodies) answers.push((body.reference_transaction_uuid ? win : bet)(wallet, body));
      detach(wallet);
      parentPort.postMessage(answers);`;
    const bob_bet = betBody('bob', ids.tx(), 300, ids.req());
    const bodies = [bob_bet, { ...bob_bet, request_uuid: ids.req() }, winBody('bob', ids.tx(), bob_bet.transaction_uuid, 1, ids.req())];
    const [answers] = await run_worker<WalletResponse[]>(source, { handle: share(wallet), bodies });
    assert.equal(answers, [
      okResponse('bob', bob_bet.request_uuid as string, 700),
      okResponse('bob', bob_bet.request_uuid as string, 700),
      okResponse('bob', bodies[2].request_uuid as string, 701),
    ]);
    assert.equal(balance(wallet, { user: 'bob', request_uuid: 'r' }), okResponse('bob', 'r', 701), 'the worker\'s bets are visible here');
    const report = audit(wallet);
    assert.ok(report.ok, report.findings.join('; '));
    assert.is(report.committed, 4);
  } finally {
    await close(wallet);
  }
}

test('C1.2 a 2.1 GiB wallet (reserved, not prefaulted) bets, wins, replays and audits correctly from the main thread and a worker', async () => {
  await exercise_large_wallet(25_000_000);
});

test('C1.2 a 3.7 GiB wallet does too', async () => {
  await exercise_large_wallet(38_000_000);
});

// C8.6 Hashing is keyed: a crafted flood costs what random keys cost -------------------

const FLOOD_SIZE = 1_500;
const WINDOW_WORDS = 32;

/** `count` canonical uuids whose home position under `wallet`'s key falls in
 *  [0, WINDOW_WORDS): what an attacker who knew the key would send. */
function aimed_uuids(wallet: Wallet, count: number, seed: number): string[] {
  const random = new Random(seed);
  const aimed: string[] = [];
  for (let tries = 0; aimed.length < count; tries++) {
    if (tries > count * 200_000) throw new Error('could not aim uuids (is the index much larger than expected?)');
    const uuid = random.uuid();
    if (home_position(wallet, uuid) < WINDOW_WORDS) aimed.push(uuid);
  }
  return aimed;
}

function aimed_names(wallet: Wallet, count: number, seed: number): string[] {
  const random = new Random(seed);
  const aimed: string[] = [];
  for (let tries = 0; aimed.length < count; tries++) {
    if (tries > count * 200_000) throw new Error('could not aim names');
    const name = `player-${random.next_u32().toString(36)}-${tries}`;
    if (user_home_position(wallet, name) < WINDOW_WORDS) aimed.push(name);
  }
  return aimed;
}

const FLOOD_OPTIONS = { maxUsers: 4_096, maxTransactions: 8_192, maxThreads: 2, initialBalance: 1_000_000 } as const;
const KNOWN_KEY = [0x0123456789abcdefn, 0xfedcba9876543210n] as const;

function bet_all(wallet: Wallet, uuids: string[]): void {
  const req = new Uuids().req();
  for (const uuid of uuids) assert.is(bet(wallet, betBody('alice', uuid, 1, req)).status, RS_OK);
}

test('C8.6 uuids aimed at one probe run under a known key make one long run there (the canary), and stay scattered under the wallet\'s own random key', () => {
  const known = start(FLOOD_OPTIONS);
  set_hash_key(known, KNOWN_KEY);
  createUsers(known, ['alice']);
  const aimed = aimed_uuids(known, FLOOD_SIZE, 7);
  bet_all(known, aimed);
  const aimed_run = longest_probe_run(known);
  assert.ok(aimed_run >= FLOOD_SIZE, `the canary: ${FLOOD_SIZE} aimed uuids make one run of ${aimed_run} words`);

  const random_key = start(FLOOD_OPTIONS);
  createUsers(random_key, ['alice']);
  bet_all(random_key, aimed);
  const flooded_run = longest_probe_run(random_key);

  const baseline = start(FLOOD_OPTIONS);
  createUsers(baseline, ['alice']);
  const random = new Random(8);
  bet_all(baseline, Array.from({ length: FLOOD_SIZE }, () => random.uuid()));
  const random_run = longest_probe_run(baseline);
  assert.ok(flooded_run <= Math.max(3 * random_run, 24), `aimed uuids under a random key: longest run ${flooded_run}, random uuids: ${random_run}`);
  void Promise.all([close(known), close(random_key), close(baseline)]);
});

test('C8.6 user names aimed at one probe run under a known key make one long run, and stay scattered under the wallet\'s key', () => {
  const known = start(FLOOD_OPTIONS);
  set_hash_key(known, KNOWN_KEY);
  const aimed = aimed_names(known, FLOOD_SIZE, 9);
  createUsers(known, aimed);
  assert.ok(longest_user_probe_run(known) >= FLOOD_SIZE, 'the canary: aimed names pile up');
  const random_key = start(FLOOD_OPTIONS);
  createUsers(random_key, aimed);
  const baseline = start(FLOOD_OPTIONS);
  createUsers(baseline, Array.from({ length: FLOOD_SIZE }, (_, i) => `random-player-${i}`));
  const flooded_run = longest_user_probe_run(random_key);
  const random_run = longest_user_probe_run(baseline);
  assert.ok(flooded_run <= Math.max(3 * random_run, 24), `aimed names under a random key: longest run ${flooded_run}, random names: ${random_run}`);
  void Promise.all([close(known), close(random_key), close(baseline)]);
});

// C12 Capacity: failed requests use none, exactly, also under racing workers ----------

test('C12 failures after a claim (racing bets on one user running out of money) give their budget back: the rest of the budget still fits exactly', async () => {
  const BUDGET = 4_000;
  const MONEY = 300;
  const WORKERS = 6;
  const wallet = start({ maxUsers: 16, maxTransactions: BUDGET, maxThreads: WORKERS + 2, initialBalance: MONEY, twinWaitMs: 5_000 });
  createUsers(wallet, ['hot', { user: 'rich', balance: 1_000_000 }]);
  const source = `
    import { parentPort, workerData } from 'node:worker_threads';
    import { attach, bet, detach } from 'exwallet';
    const wallet = attach(workerData.handle);
    const counts = {};
    for (let i = 0; i < workerData.bets; i++) {
      const n = (workerData.worker * 1_000_000 + i).toString(16).padStart(12, '0');
      const status = bet(wallet, { user: 'hot', transaction_uuid: '10000000-0000-4000-8000-' + n, request_uuid: '20000000-0000-4000-8000-' + n, currency: 'USD', amount: 1 }).status;
      counts[status] = (counts[status] ?? 0) + 1;
    }
    detach(wallet);
    parentPort.postMessage(counts);`;
  const handle = share(wallet);
  const results = await Promise.all(Array.from({ length: WORKERS }, (_, worker) => run_worker<Record<string, number>>(source, { handle, worker, bets: 200 })));
  const applied = results.reduce((sum, [counts]) => sum + (counts[RS_OK] ?? 0), 0);
  const poor = results.reduce((sum, [counts]) => sum + (counts[RS_ERROR_NOT_ENOUGH_MONEY] ?? 0), 0);
  assert.is(applied, MONEY, 'every unit of money was bet once');
  assert.is(applied + poor, WORKERS * 200);
  // The rest of the budget: open bets hold two units each.
  const ids = new Uuids();
  let more = 0;
  while (bet(wallet, betBody('rich', ids.tx(), 1, ids.req())).status === RS_OK) more++;
  assert.is(2 * (applied + more), BUDGET, `${applied} + ${more} open bets fill the budget of ${BUDGET} exactly (${stats(wallet).releasedAfterClaim} failures after a claim)`);
  assert.ok(audit(wallet).ok);
});

// C11 deadThreadIds cannot silently free nothing ----------------------------------------

test('C11 audit refuses deadThreadIds of -1 (worker.threadId after exit) with EXWALLET_BAD_THREAD_ID; the id captured at start frees the slot', async () => {
  const wallet = start({ maxUsers: 4, maxTransactions: 100, maxThreads: 2 });
  const handle = share(wallet);
  const source = `
    import { parentPort, workerData } from 'node:worker_threads';
    import { attach } from 'exwallet';
    attach(workerData);
    parentPort.postMessage('attached');
    setInterval(() => {}, 1000);`;
  const worker = new Worker(source, { eval: true, workerData: handle });
  const thread_id = worker.threadId; // captured while it runs
  await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  await worker.terminate();
  assert.is(worker.threadId, -1, 'Node forgets the id after exit');
  for (const bad of [worker.threadId, 0, 1.5, '3'] as unknown[]) {
    const error = thrown(() => audit(wallet, { deadThreadIds: [bad as number] }));
    assert.instance(error, TypeError);
    assert.is(error.code, 'EXWALLET_BAD_THREAD_ID');
    assert.match(error.message, /capture it when the worker starts/);
  }
  assert.is(stats(wallet).threadSlotsInUse, 2, 'the dead worker still holds its slot');
  assert.is(audit(wallet, { deadThreadIds: [thread_id] }).threadSlotsFreed, 1);
  assert.is(stats(wallet).threadSlotsInUse, 1);
  const [answer] = await run_worker<string>(`
    import { parentPort, workerData } from 'node:worker_threads';
    import { attach, detach } from 'exwallet';
    detach(attach(workerData)); parentPort.postMessage('ok');`, handle);
  assert.is(answer, 'ok', 'a new worker gets the freed slot');
});

// C11 audit is exact, and true while calls are in flight -------------------------------

test('C11 audit sums exactly: 40 bets and wins of 2^52+1 on a balance of 2^52+1 audit clean', () => {
  const BIG = 2 ** 52 + 1;
  const wallet = start({ maxUsers: 4, maxTransactions: 200, initialBalance: BIG });
  createUsers(wallet, ['whale']);
  const ids = new Uuids();
  for (let round = 0; round < 40; round++) {
    const placed = betBody('whale', ids.tx(), BIG, ids.req());
    assert.is(bet(wallet, placed).balance, 0);
    assert.is(win(wallet, winBody('whale', ids.tx(), placed.transaction_uuid, BIG, ids.req())).balance, BIG);
  }
  const report = audit(wallet);
  assert.ok(report.ok, report.findings.join('; '));
  assert.is(report.committed, 80);
});

test('C11 audit while a worker is betting: every report is true (ok), and every call of the worker is answered as usual', async () => {
  const wallet = start({ maxUsers: 16, maxTransactions: 400_000, maxThreads: 4, initialBalance: 1_000_000_000 });
  createUsers(wallet, ['alice', 'bob']);
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const source = `
    import { parentPort, workerData } from 'node:worker_threads';
    import { attach, bet, detach } from 'exwallet';
    const wallet = attach(workerData.handle);
    const counts = {};
    for (let i = 0; Atomics.load(workerData.flag, 0) === 0 && i < 150_000; i++) {
      const n = i.toString(16).padStart(12, '0');
      const status = bet(wallet, { user: i % 2 ? 'alice' : 'bob', transaction_uuid: '30000000-0000-4000-8000-' + n, request_uuid: '40000000-0000-4000-8000-' + n, currency: 'USD', amount: 3 }).status;
      counts[status] = (counts[status] ?? 0) + 1;
      if (i === 100) parentPort.postMessage('running');
    }
    detach(wallet);
    parentPort.postMessage(counts);`;
  const worker = new Worker(source, { eval: true, workerData: { handle: share(wallet), flag } });
  const messages: unknown[] = [];
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', (message) => { messages.push(message); if (typeof message === 'object') resolve(); });
    worker.once('error', reject);
  });
  await new Promise<void>((resolve) => worker.once('message', () => resolve()));
  for (let round = 0; round < 10; round++) {
    const report = audit(wallet);
    assert.ok(report.ok, `audit ${round} under load: ${report.findings.join('; ')}`);
    assert.equal(report.presumedDeadThreadIds, []);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  Atomics.store(flag, 0, 1);
  await done;
  await worker.terminate();
  const counts = messages.find((message) => typeof message === 'object') as Record<string, number>;
  assert.equal(Object.keys(counts), [RS_OK], 'the worker\'s calls all succeeded');
  assert.is(stats(wallet).bets, counts[RS_OK]);
  assert.ok(audit(wallet).ok);
});

// C8.9 Re-entrancy cannot be bypassed by detach and attach ----------------------------

test('C8.9 a getter that detaches, re-attaches and bets: the outer bet is RS_ERROR_WRONG_TYPES, the inner one applies once, a retry of the outer debits once', () => {
  let wallet = start({ maxUsers: 4, maxTransactions: 100, initialBalance: 1_000 });
  createUsers(wallet, ['alice']);
  const handle: WalletHandle = share(wallet);
  const ids = new Uuids();
  const inner = betBody('alice', ids.tx(), 10, ids.req());
  const outer_req = ids.req();
  const outer: Body = betBody('alice', ids.tx(), 100, outer_req);
  let reentered = false;
  Object.defineProperty(outer, 'round', {
    enumerable: true,
    get() {
      if (!reentered) {
        reentered = true;
        detach(wallet);
        wallet = attach(handle);
        assert.is(bet(wallet, inner).status, RS_OK);
      }
      return 'r-1';
    },
  });
  assert.equal(bet(wallet, outer), errorResponse('alice', RS_ERROR_WRONG_TYPES, outer_req));
  assert.is(balance(wallet, { user: 'alice', request_uuid: 'r' }).balance, 990, 'only the inner bet moved money');
  const retry = { ...betBody('alice', outer.transaction_uuid, 100, outer_req), round: 'r-1' };
  assert.equal(bet(wallet, retry), okResponse('alice', outer_req, 890));
  assert.equal(bet(wallet, { ...retry, request_uuid: ids.req() }), okResponse('alice', outer_req, 890), 'and it replays');
  assert.equal(bet(wallet, { ...inner, request_uuid: ids.req() }).balance, 990, 'the inner bet replays its own answer');
  assert.ok(audit(wallet).ok);
});

// C4.6 / C4.2 Currencies of any length ------------------------------------------------

test('C4.6 a bet or win whose currency (40,000 characters) is not the user\'s is RS_ERROR_WRONG_CURRENCY; C4.2 a rollback\'s currency is not compared, whatever its length', () => {
  const wallet = start({ maxUsers: 4, maxTransactions: 100, initialBalance: 1_000 });
  createUsers(wallet, ['alice']);
  const ids = new Uuids();
  const long = 'X'.repeat(40_000);
  const req = ids.req();
  assert.equal(bet(wallet, betBody('alice', ids.tx(), 1, req, long)), errorResponse('alice', RS_ERROR_WRONG_CURRENCY, req));
  const placed = betBody('alice', ids.tx(), 5, ids.req());
  assert.is(bet(wallet, placed).status, RS_OK);
  assert.equal(win(wallet, winBody('alice', ids.tx(), placed.transaction_uuid, 1, req, long)), errorResponse('alice', RS_ERROR_WRONG_CURRENCY, req));
  const refund = { ...rollbackBody('alice', ids.tx(), placed.transaction_uuid, req), currency: long };
  assert.equal(rollback(wallet, refund), okResponse('alice', req, 1_000));
  assert.equal(rollback(wallet, { ...refund, request_uuid: ids.req() }), okResponse('alice', req, 1_000), 'replayed with the same long currency');
  assert.is(rollback(wallet, { ...refund, currency: long + 'Y', request_uuid: ids.req() }).status, 'RS_ERROR_DUPLICATE_TRANSACTION');
  const big_extra = { ...betBody('alice', ids.tx(), 1, ids.req()), meta: 'm'.repeat(60_000) };
  assert.is(bet(wallet, big_extra).status, RS_OK, 'an extra field of 60,000 characters fits');
  assert.is(bet(wallet, { ...big_extra, meta: 'm'.repeat(59_999) + 'n', request_uuid: ids.req() }).status, 'RS_ERROR_DUPLICATE_TRANSACTION');
});

// C2 Per-user currency ---------------------------------------------------------------

test('C2.3 users of 300 distinct currencies: every check and every response uses the user\'s own currency and starting balance', () => {
  const wallet = start({ maxUsers: 400, maxTransactions: 2_000, initialBalance: 1_000 });
  const currency_of = (i: number) => `C${i.toString().padStart(3, '0')}`;
  createUsers(wallet, Array.from({ length: 300 }, (_, i) => ({ user: `u${i}`, currency: currency_of(i), balance: 500 + i })));
  createUsers(wallet, ['plain', { user: 'u7', currency: 'EUR', balance: 1 }]); // an existing user is left as it was
  assert.is(stats(wallet).currencies, 301);
  const ids = new Uuids();
  for (const i of [0, 7, 128, 254, 255, 299]) {
    const user = `u${i}`;
    const currency = currency_of(i);
    assert.equal(balance(wallet, { user, request_uuid: 'r' }), okResponse(user, 'r', 500 + i, currency));
    const req = ids.req();
    assert.equal(bet(wallet, betBody(user, ids.tx(), 1, req, 'USD')), errorResponse(user, RS_ERROR_WRONG_CURRENCY, req));
    const placed = betBody(user, ids.tx(), 10, ids.req(), currency);
    assert.equal(bet(wallet, placed), okResponse(user, placed.request_uuid as string, 490 + i, currency));
    const rreq = ids.req();
    assert.equal(rollback(wallet, rollbackBody(user, ids.tx(), placed.transaction_uuid, rreq)), okResponse(user, rreq, 500 + i, currency));
    const poor = ids.req();
    assert.equal(bet(wallet, betBody(user, ids.tx(), 10_000, poor, currency)), {
      user, status: RS_ERROR_NOT_ENOUGH_MONEY, request_uuid: poor, currency, balance: 500 + i,
    });
    assert.is(lookup(wallet, placed.transaction_uuid as string)?.currency, currency);
  }
  assert.equal(balance(wallet, { user: 'plain', request_uuid: 'r' }), okResponse('plain', 'r', 1_000, 'USD'));
  assert.ok(audit(wallet).ok, 'audit starts each user from its own balance');
});

test('C2.4 a bad user entry is a TypeError naming it (code EXWALLET_BAD_USER_ENTRY), and nothing of the call is created', () => {
  const wallet = start({ maxUsers: 10, maxTransactions: 10 });
  const bad: unknown[] = [
    { user: 'a', currency: '' }, { user: 'a', currency: 'X'.repeat(17) }, { user: 'a', currency: 5 }, { user: 'a', balance: -1 },
    { user: 'a', balance: 1.5 }, { user: 'a', balance: '5' }, { user: 5 }, {}, null, 7, ['a'],
  ];
  for (const entry of bad) {
    const error = thrown(() => createUsers(wallet, ['fine', entry as string]));
    assert.instance(error, TypeError);
    assert.is(error.code, 'EXWALLET_BAD_USER_ENTRY');
    assert.match(error.message, /entry 1/);
  }
  assert.is(balance(wallet, { user: 'fine', request_uuid: 'r' }).status, RS_ERROR_UNKNOWN, 'nothing was created');
  assert.is(stats(wallet).users, 0);
});

// C11 stats and lookup ----------------------------------------------------------------

test('C11 stats counts what the responses said, from another thread too; lookup finds every recorded transaction', async () => {
  const wallet = start({ maxUsers: 10, maxTransactions: 100, initialBalance: 1_000, maxThreads: 4 });
  createUsers(wallet, ['alice', 'bob']);
  const ids = new Uuids();
  const b1 = betBody('alice', ids.tx(), 100, ids.req());
  const b2 = betBody('bob', ids.tx(), 200, ids.req());
  const b3 = betBody('bob', ids.tx(), 1, ids.req());
  for (const body of [b1, b2, b3]) assert.is(bet(wallet, body).status, RS_OK);
  const w1 = winBody('alice', ids.tx(), b1.transaction_uuid, 50, ids.req());
  const r2 = rollbackBody('bob', ids.tx(), b2.transaction_uuid, ids.req());
  assert.is(win(wallet, w1).status, RS_OK);
  assert.is(rollback(wallet, r2).status, RS_OK);
  assert.is(bet(wallet, betBody('alice', ids.tx(), 1_000_000, ids.req())).status, RS_ERROR_NOT_ENOUGH_MONEY);
  const expected = {
    users: 2, transactions: 5, bets: 3, wins: 1, rollbacks: 1, openBets: 1, inMemory: 5, budget: 100, budgetUsed: 6,
    reserveHeld: 1, tableFill: 0.06, threadSlotsInUse: 1,
  };
  const here = stats(wallet);
  for (const [key, value] of Object.entries(expected)) assert.is(here[key as keyof typeof here], value, key);
  const [there] = await run_worker<Record<string, number>>(`
    import { parentPort, workerData } from 'node:worker_threads';
    import { attach, stats, detach } from 'exwallet';
    const wallet = attach(workerData); const figures = stats(wallet); detach(wallet); parentPort.postMessage(figures);`, share(wallet));
  assert.is(there.transactions, 5);
  assert.is(there.threadSlotsInUse, 2, 'the worker counts itself');
  assert.equal(lookup(wallet, b1.transaction_uuid as string), {
    transactionUuid: b1.transaction_uuid, kind: 'bet', user: 'alice', amount: 100, currency: 'USD', balanceAfter: 900,
    requestUuid: b1.request_uuid, settlement: 'won',
  });
  assert.equal(lookup(wallet, r2.transaction_uuid as string), {
    transactionUuid: r2.transaction_uuid, kind: 'rollback', user: 'bob', amount: 200, currency: 'USD', balanceAfter: 999,
    requestUuid: r2.request_uuid, referenceTransactionUuid: b2.transaction_uuid,
  });
  assert.is(lookup(wallet, b3.transaction_uuid as string)?.settlement, 'open');
  assert.is(lookup(wallet, ids.tx()), undefined, 'never applied');
  assert.is(lookup(wallet, 'not-a-uuid'), undefined);
});

// C1.7 close ------------------------------------------------------------------------

test('C1.7 close: every later call on the wallet throws EXWALLET_CLOSED, in this thread and in a worker that had attached', async () => {
  const wallet = start({ maxUsers: 4, maxTransactions: 10, maxThreads: 4 });
  createUsers(wallet, ['alice']);
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const source = `
    import { parentPort, workerData } from 'node:worker_threads';
    import { attach, bet, balance } from 'exwallet';
    const wallet = attach(workerData.handle);
    parentPort.postMessage('attached');
    Atomics.wait(workerData.flag, 0, 0, 10_000);
    const codes = [];
    for (const call of [() => bet(wallet, {}), () => balance(wallet, { user: 'alice', request_uuid: 'r' })]) {
      try { call(); codes.push('no throw'); } catch (error) { codes.push(error.code); }
    }
    parentPort.postMessage(codes);`;
  const worker = new Worker(source, { eval: true, workerData: { handle: share(wallet), flag } });
  const messages: unknown[] = [];
  const finished = new Promise<void>((resolve, reject) => {
    worker.on('message', (message) => { messages.push(message); if (Array.isArray(message)) resolve(); });
    worker.once('error', reject);
  });
  await new Promise<void>((resolve) => worker.once('message', () => resolve()));
  await close(wallet);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  await finished;
  await worker.terminate();
  assert.equal(messages[1], ['EXWALLET_CLOSED', 'EXWALLET_CLOSED']);
  for (const call of [() => bet(wallet, {}), () => stats(wallet), () => createUsers(wallet, ['b']), () => audit(wallet)]) {
    const error = thrown(call);
    assert.instance(error, TypeError);
    assert.is(error.code, 'EXWALLET_CLOSED');
  }
  const disposed = start({ maxUsers: 1, maxTransactions: 1 });
  disposed[Symbol.dispose]();
  assert.is(thrown(() => stats(disposed)).code, 'EXWALLET_CLOSED', 'Symbol.dispose closes it');
});

test('C1.7 closing what one starts keeps a process flat: 150 prefaulted 11 MiB wallets started and closed in turn add less than 150 MiB of RSS', async () => {
  const options = { maxUsers: 1_000, maxTransactions: 100_000, maxThreads: 8, prefault: true };
  const first = start(options);
  await close(first);
  const rss_before = process.memoryUsage.rss();
  for (let round = 0; round < 150; round++) {
    const wallet = start(options);
    createUsers(wallet, ['alice']);
    assert.is(bet(wallet, betBody('alice', '00000000-0000-4000-8000-000000000001', 1, '00000000-0000-4000-8000-000000000002')).status, RS_OK);
    await close(wallet);
  }
  const grown_mib = (process.memoryUsage.rss() - rss_before) / 2 ** 20;
  assert.ok(grown_mib < 150, `RSS grew by ${grown_mib.toFixed(0)} MiB`);
});

// C1.3 Errors carry a stable code -----------------------------------------------------

test('C1.3 thrown errors carry a stable code', () => {
  assert.is(thrown(() => start({ maxUsers: 0 })).code, 'EXWALLET_BAD_OPTION');
  assert.is(thrown(() => start({ maxTransactions: 2 ** 26, maxUsers: 2 ** 26 })).code, 'EXWALLET_NO_MEMORY');
  assert.is(thrown(() => start({ dataDir: '' })).code, 'EXWALLET_BAD_OPTION');
  assert.is(thrown(() => bet({} as Wallet, {})).code, 'EXWALLET_NOT_A_WALLET');
  assert.is(thrown(() => attach({} as WalletHandle)).code, 'EXWALLET_BAD_HANDLE');
  const full = start({ maxUsers: 1, maxTransactions: 1 });
  createUsers(full, ['a']);
  assert.is(thrown(() => createUsers(full, ['b'])).code, 'EXWALLET_USER_TABLE_FULL');
  const detached = start({ maxUsers: 1, maxTransactions: 1 });
  detach(detached);
  assert.is(thrown(() => stats(detached)).code, 'EXWALLET_DETACHED');
});

test.run();
