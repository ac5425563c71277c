// warmup() (src/warmup.ts): it tiers up this thread's code on scratch wallets
// of its own. Invariant: it leaves no trace in any wallet of the caller —
// stats, balances, recorded transactions, thread slots, audit all as before —
// it never sends or changes a sample, and every call afterwards answers
// exactly what the contract says. Nothing here asserts a time.
//
// This file is also the worker of the attached-thread test: loaded in a
// worker with workerData.role === WARMUP_ROLE, it runs that side only.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  start, share, attach, detach, close, createUsers, stats, lookup, audit, warmup,
  RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_DUPLICATE_TRANSACTION, RS_ERROR_WRONG_CURRENCY, RS_ERROR_TRANSACTION_DOES_NOT_EXIST,
  type Wallet, type WalletHandle, type WarmupReport,
} from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import { Uuids, betBody, winBody, rollbackBody, okResponse, notEnoughMoney, errorResponse, thrown } from './bodies.js';

const WARMUP_ROLE = 'exwallet.warmup.attached';
const WORKER_DEADLINE_MS = 30_000;
/** Enough for two generations of scratch wallets: the tests check behaviour, not how warm it got. */
const QUICK = { callsMax: 10_000 } as const;

/** Everything of `wallet` a trace could show up in. */
function snapshot(wallet: Wallet, users: readonly string[], uuids: readonly string[]) {
  const report = audit(wallet);
  return {
    stats: stats(wallet),
    balances: users.map((user) => balance(wallet, { user, request_uuid: 'probe' })),
    records: uuids.map((uuid) => lookup(wallet, uuid)),
    audit: { ok: report.ok, committed: report.committed, balanceMismatches: report.balanceMismatches, findings: report.findings },
  };
}

/** A wallet with a small history: a bet won, a bet rolled back, an open bet. */
function walletWithHistory() {
  const wallet = start({ maxUsers: 64, maxTransactions: 1_024, maxThreads: 4, initialBalance: 1_000 });
  const users = ['alice', 'bob'];
  createUsers(wallet, users);
  const ids = new Uuids();
  const uuids = [ids.tx(), ids.tx(), ids.tx(), ids.tx(), ids.tx()];
  assert.is(bet(wallet, betBody('alice', uuids[0], 100, ids.req())).status, RS_OK);
  assert.is(win(wallet, winBody('alice', uuids[1], uuids[0], 250, ids.req())).status, RS_OK);
  assert.is(bet(wallet, betBody('bob', uuids[2], 40, ids.req())).status, RS_OK);
  assert.is(rollback(wallet, rollbackBody('bob', uuids[3], uuids[2], ids.req())).status, RS_OK);
  assert.is(bet(wallet, betBody('bob', uuids[4], 7, ids.req())).status, RS_OK);
  return { wallet, users, uuids, ids };
}

function checkReport(report: WarmupReport, calls_max: number): void {
  assert.ok(report.calls > 0 && report.calls <= calls_max, `calls ${report.calls} within (0, ${calls_max}]`);
  assert.ok(report.wallets >= 2 && report.wallets % 2 === 0, 'scratch wallets come in pairs');
  assert.is(report.generationNsPerCall.length, report.wallets / 2, 'one figure per generation');
  assert.ok(report.generationNsPerCall.every((ns) => Number.isFinite(ns) && ns > 0));
  assert.ok(report.ms > 0);
  assert.type(report.settled, 'boolean');
}

test('warmup leaves no trace in the caller\'s wallet: stats, balances, records and audit are as before', async () => {
  const { wallet, users, uuids } = walletWithHistory();
  const before = snapshot(wallet, users, uuids);
  checkReport(warmup(QUICK), QUICK.callsMax);
  assert.equal(snapshot(wallet, users, uuids), before);
  await close(wallet);
});

test('canary: the snapshot does see a trace (one bet of someone else\'s)', async () => {
  const { wallet, users, uuids, ids } = walletWithHistory();
  const before = snapshot(wallet, users, uuids);
  assert.is(bet(wallet, betBody('alice', ids.tx(), 1, ids.req())).status, RS_OK);
  assert.not.equal(snapshot(wallet, users, uuids), before);
  await close(wallet);
});

test('warmup with its defaults returns, within its bounds, and leaves the wallet alone', async () => {
  const { wallet, users, uuids } = walletWithHistory();
  const before = snapshot(wallet, users, uuids);
  const report = warmup();
  checkReport(report, 100_000);
  assert.equal(snapshot(wallet, users, uuids), before);
  await close(wallet);
});

test('after warmup every path still answers exactly what the contract says', async () => {
  const { wallet, ids } = walletWithHistory(); // alice 1150, bob 993 (an open bet of 7)
  warmup(QUICK);
  const [t1, t2, t3, t4, t5, t6] = [ids.tx(), ids.tx(), ids.tx(), ids.tx(), ids.tx(), ids.tx()];
  const r = Array.from({ length: 11 }, () => ids.req());
  assert.equal(bet(wallet, betBody('alice', t1, 150, r[1])), okResponse('alice', r[1], 1_000));
  assert.equal(bet(wallet, betBody('alice', t1, 150, r[2])), okResponse('alice', r[1], 1_000), 'a replay answers the original');
  assert.equal(bet(wallet, betBody('alice', t1, 151, r[3])), errorResponse('alice', RS_ERROR_DUPLICATE_TRANSACTION, r[3]));
  assert.equal(win(wallet, winBody('alice', t2, t1, 500, r[4])), okResponse('alice', r[4], 1_500));
  assert.equal(win(wallet, winBody('alice', t3, t1, 500, r[5])), errorResponse('alice', RS_ERROR_UNKNOWN, r[5]), 'a won bet is settled');
  assert.equal(bet(wallet, betBody('bob', t4, 994, r[6])), notEnoughMoney('bob', r[6], 993));
  assert.equal(bet(wallet, betBody('bob', t4, 1, r[7], 'EUR')), errorResponse('bob', RS_ERROR_WRONG_CURRENCY, r[7]));
  assert.equal(rollback(wallet, rollbackBody('bob', t5, t6, r[8])), errorResponse('bob', RS_ERROR_TRANSACTION_DOES_NOT_EXIST, r[8]));
  assert.equal(bet(wallet, betBody('carol', t6, 1, r[9])), errorResponse('carol', RS_ERROR_UNKNOWN, r[9]));
  assert.equal(balance(wallet, { user: 'bob', request_uuid: r[10] }), okResponse('bob', r[10], 993));
  assert.is(audit(wallet).ok, true);
  await close(wallet);
});

test('warmup never sends a sample and never changes one', async () => {
  const wallet = start({ maxUsers: 16, maxTransactions: 64, maxThreads: 2, initialBalance: 1_000, currency: 'EUR' });
  createUsers(wallet, ['alice']);
  const sample = {
    user: 'alice', transaction_uuid: '6f1c4a52-9a3e-4d8e-b1f4-0c2e6d7a9b10', request_uuid: 'c4f8e2a1-3b5d-4c6e-8f9a-1b2c3d4e5f60',
    round: 'r-1', game_code: 'sweet_bonanza', currency: 'EUR', amount: 500, meta: { odds: 2.5 },
  };
  const copy = structuredClone(sample);
  warmup({ ...QUICK, samples: { bet: sample } });
  assert.equal(sample, copy, 'the sample is unchanged');
  assert.is(lookup(wallet, sample.transaction_uuid), undefined, 'its uuid is free in the caller\'s wallet');
  assert.equal(bet(wallet, sample), okResponse('alice', sample.request_uuid, 500, 'EUR'), 'so the sample itself applies once, here');
  await close(wallet);
});

test('bad options and samples are a RangeError (EXWALLET_BAD_OPTION) and touch nothing', () => {
  for (const options of [null, { callsMax: 9_999 }, { callsMax: 1.5 }, { timeMaxMs: 0 }, { samples: { bet: { user: 'u', request_uuid: 'q', amount: 1, currency: 'USD' } } },
    { samples: { win: { user: 'u', transaction_uuid: 't', request_uuid: 'q', amount: 1, currency: 'USD' } } },
    { samples: { bet: { user: 'u', transaction_uuid: 't', request_uuid: 'q', amount: 1n, currency: 'USD' } } },
    { samples: { bet: { user: 'u', transaction_uuid: 't', request_uuid: 'q', amount: 1, currency: '' } } },
  ]) {
    const error = thrown(() => warmup(options as never));
    assert.instance(error, RangeError, JSON.stringify(options, (_, v) => (typeof v === 'bigint' ? `${v}n` : v)));
    assert.is(error.code, 'EXWALLET_BAD_OPTION');
  }
});

test('warmup in a worker attached to a shared wallet leaves it alone; the main thread still answers exactly', async () => {
  const { wallet, users, uuids, ids } = walletWithHistory();
  const before = snapshot(wallet, users, uuids);
  const worker = new Worker(new URL(import.meta.url), { workerData: { role: WARMUP_ROLE, handle: share(wallet) } });
  const report = await new Promise<WarmupReport & { answer: unknown }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the worker did not answer in time')), WORKER_DEADLINE_MS);
    worker.once('message', (message) => { clearTimeout(timer); resolve(message); });
    worker.once('error', (error) => { clearTimeout(timer); reject(error); });
  });
  await worker.terminate();
  checkReport(report, QUICK.callsMax);
  assert.equal(report.answer, okResponse('bob', 'w1', 993), 'the worker reads the wallet exactly after its warm-up');
  assert.equal(snapshot(wallet, users, uuids), before, 'the worker detached: its slot is back, nothing else changed');
  const [tx, request] = [ids.tx(), ids.req()];
  assert.equal(bet(wallet, betBody('bob', tx, 3, request)), okResponse('bob', request, 990));
  await close(wallet);
});

if (isMainThread) {
  test.run();
} else if ((workerData as { role?: string }).role === WARMUP_ROLE) {
  const attached = attach((workerData as { handle: WalletHandle }).handle);
  const report = warmup(QUICK);
  const answer = balance(attached, { user: 'bob', request_uuid: 'w1' });
  detach(attached);
  parentPort!.postMessage({ ...report, answer });
}
