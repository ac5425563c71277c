// Invariant (spec §8): a thread that dies mid-operation never makes another
// thread hang — a twin of its uuid answers RS_ERROR_UNKNOWN within about
// twinWaitMs — and leaves the wallet consistent: audit() decides each dead
// claim from the ledger, every RS_OK stays applied (its duplicate replays it),
// and money is conserved per user given the calls that were in flight.
// twinWaitMs is 50 in these tests.
//
// CRASH_TERMINATIONS=1000 node out/tests/crash.test.js runs a longer storm.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { start, createUsers, share, audit, RS_OK, RS_ERROR_UNKNOWN, type Wallet, type WalletResponse } from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import { L } from 'exwallet/internal/layout';
import { run_crash_storm } from './stress/crash.js';
import type { CrashWorkerData, CrashMessage } from './stress/crash_worker.js';
import type { Intent } from './stress/intents.js';
import { make_sync, W_PROGRESS } from '../tools/sync.js';

const TWIN_WAIT_MS = 50;
const TERMINATIONS = Number(process.env.CRASH_TERMINATIONS ?? 120);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);

test(`${TERMINATIONS} threads terminated at random moments under load: nobody hangs, audit ok, money conserved`, async () => {
  const report = await run_crash_storm({
    seed: SEED, terminations: TERMINATIONS, live: 6, survivors: 2, plan_length: 600, twin_wait_ms: TWIN_WAIT_MS,
    budget_ms: Math.max(120_000, TERMINATIONS * 500),
  });
  console.log(report.line);
  for (const violation of report.violations) console.log(`  VIOLATION ${violation}`);
  assert.equal(report.violations, [], `seed ${SEED}`);
  assert.ok(report.terminations >= TERMINATIONS);
  assert.ok(report.audit.ok && report.audit_after.ok);
  // The storm must have killed threads mid-call, or it proves little.
  assert.ok(report.killed_in_call > 0, 'no thread was terminated during a call');
});

test('threads terminated with no call in flight leave nothing for audit to resolve', async () => {
  const wallet = start({ maxUsers: 10, maxTransactions: 10_000, maxThreads: 16, twinWaitMs: TWIN_WAIT_MS, initialBalance: 1_000_000 });
  createUsers(wallet, ['ann', 'bob']);
  const intents: Intent[] = [];
  for (let i = 0; i < 400; i++) {
    intents.push({ op: 'bet', group: i, variant: 0, body: { user: i % 2 ? 'ann' : 'bob', transaction_uuid: U(10_000 + i), currency: 'USD', amount: 10 } });
  }
  const sync = make_sync(16);
  const workers = [0, 1, 2, 3].map((w) => {
    const data: CrashWorkerData = {
      mode: 'idle', handle: share(wallet), intents, sync, slot: w, budget_ms: 10_000, batch_max: 100, pause_ms: 0,
      plan: intents.map((_, i) => ({ intent: i, local: i, request_uuid: U(20_000 + w * 1_000 + (i % 1_000)) })),
      inflight_word: W_PROGRESS + w, started_word: W_PROGRESS + 8 + w,
    };
    return new Worker(new URL('./stress/crash_worker.js', import.meta.url), { workerData: data });
  });
  try {
    await Promise.all(workers.map((worker) => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('a worker did not finish its plan within 10 s')), 10_000);
      worker.on('message', (message: CrashMessage) => {
        if (message.kind === 'done') {
          clearTimeout(timer);
          resolve();
        } else if (message.kind === 'failed') reject(new Error(message.error));
      });
    })));
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  const report = audit(wallet);
  assert.ok(report.ok, JSON.stringify(report));
  assert.is(report.inFlightCommitted + report.inFlightReleased, 0);
  assert.is(report.committed, 400); // every bet once, whoever applied it
  assert.is(balance_of(wallet), 1_000_000 - 200 * 10);
});

// ---------------------------------------------------------------------------
// Dead claims made deterministically: a worker makes its call die at a fixed
// point of the core (src/testing.ts inject_crash), then blocks, holding the
// claim, until it is terminated. This thread then meets the dead claim.

const U = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const REQUEST_DEAD = 'dddddddd-0000-4000-8000-000000000000';
let request_counter = 0;
const request = () => `aaaaaaaa-0000-4000-8000-${(++request_counter).toString(16).padStart(12, '0')}`;

function fresh(): Wallet {
  const wallet = start({ maxUsers: 10, maxTransactions: 1_000, maxThreads: 16, twinWaitMs: TWIN_WAIT_MS, initialBalance: 1_000 });
  createUsers(wallet, ['ann']);
  return wallet;
}

/** Make a worker die at `crash_point` inside `intent`, then terminate it. */
async function die_in_worker(wallet: Wallet, intent: Intent, crash_point: number): Promise<void> {
  const sync = make_sync(2);
  const data: CrashWorkerData = {
    mode: 'die_at', handle: share(wallet), intents: [intent], plan: [{ intent: 0, local: 0, request_uuid: REQUEST_DEAD }], sync,
    inflight_word: W_PROGRESS, started_word: W_PROGRESS + 1, slot: 0, budget_ms: 10_000, batch_max: 1, pause_ms: 0,
    crash_point,
  };
  const worker = new Worker(new URL('./stress/crash_worker.js', import.meta.url), { workerData: data });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the worker did not reach its crash point within 10 s')), 10_000);
      worker.on('message', (message: CrashMessage) => {
        if (message.kind === 'crashed') {
          clearTimeout(timer);
          resolve();
        } else if (message.kind === 'failed') {
          clearTimeout(timer);
          reject(new Error(message.error));
        }
      });
      worker.on('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

/** A call that meets the dead claim: RS_ERROR_UNKNOWN after about twinWaitMs. */
function meets_dead_twin(make_call: () => WalletResponse): void {
  const started_ms = performance.now();
  const response = make_call();
  const waited_ms = performance.now() - started_ms;
  assert.is(response.status, RS_ERROR_UNKNOWN);
  assert.ok(waited_ms >= TWIN_WAIT_MS * 0.9 && waited_ms < TWIN_WAIT_MS + 1_500, `waited ${waited_ms} ms`);
}

const balance_of = (wallet: Wallet) => balance(wallet, { user: 'ann', request_uuid: request() }).balance;
const bet_intent = (uuid: string, amount: number): Intent =>
  ({ op: 'bet', group: 0, variant: 0, body: { user: 'ann', transaction_uuid: uuid, currency: 'USD', amount } });
const win_intent = (uuid: string, ref: string, amount: number): Intent =>
  ({ op: 'win', group: 1, variant: 0, body: { user: 'ann', transaction_uuid: uuid, reference_transaction_uuid: ref, currency: 'USD', amount } });

test('a thread terminated after claiming a bet: its twin gets RS_ERROR_UNKNOWN in ~twinWaitMs, audit releases, a retry applies', async () => {
  const wallet = fresh();
  const intent = bet_intent(U(1), 100);
  await die_in_worker(wallet, intent, L.CRASH_AFTER_CLAIM);
  meets_dead_twin(() => bet(wallet, { ...intent.body, request_uuid: request() }));
  assert.is(balance_of(wallet), 1_000);
  const report = audit(wallet);
  assert.ok(report.ok, JSON.stringify(report));
  assert.is(report.inFlightReleased, 1);
  assert.is(report.inFlightCommitted, 0);
  const retry = request();
  assert.equal(bet(wallet, { ...intent.body, request_uuid: retry }), { user: 'ann', status: RS_OK, request_uuid: retry, currency: 'USD', balance: 900 });
});

test('a thread terminated after moving the money: its twin gets RS_ERROR_UNKNOWN, audit commits, the duplicate replays the dead call', async () => {
  const wallet = fresh();
  const intent = bet_intent(U(2), 100);
  await die_in_worker(wallet, intent, L.CRASH_AFTER_BALANCE);
  meets_dead_twin(() => bet(wallet, { ...intent.body, request_uuid: request() }));
  assert.is(balance_of(wallet), 900);
  const report = audit(wallet);
  assert.ok(report.ok, JSON.stringify(report));
  assert.is(report.inFlightCommitted, 1);
  assert.equal(bet(wallet, { ...intent.body, request_uuid: request() }), { user: 'ann', status: RS_OK, request_uuid: REQUEST_DEAD, currency: 'USD', balance: 900 });
});

test('a thread terminated while settling a bet: the win twin and a rival rollback get RS_ERROR_UNKNOWN; after audit the rollback applies', async () => {
  const wallet = fresh();
  assert.is(bet(wallet, { ...bet_intent(U(3), 100).body, request_uuid: request() }).status, RS_OK);
  const intent = win_intent(U(4), U(3), 300);
  await die_in_worker(wallet, intent, L.CRASH_AFTER_SETTLE_BEGIN);
  meets_dead_twin(() => win(wallet, { ...intent.body, request_uuid: request() }));
  const rival = { user: 'ann', transaction_uuid: U(5), reference_transaction_uuid: U(3), request_uuid: request() };
  assert.is(rollback(wallet, rival).status, RS_ERROR_UNKNOWN); // the bet is being settled (by a dead thread)
  const report = audit(wallet);
  assert.ok(report.ok, JSON.stringify(report));
  assert.is(report.inFlightReleased, 1);
  assert.is(rollback(wallet, { ...rival, request_uuid: request() }).status, RS_OK);
  assert.is(balance_of(wallet), 1_000);
});

test('a thread terminated after committing a win, before closing the bet: the win replays; audit closes the bet as won', async () => {
  const wallet = fresh();
  assert.is(bet(wallet, { ...bet_intent(U(6), 100).body, request_uuid: request() }).status, RS_OK);
  const intent = win_intent(U(7), U(6), 300);
  await die_in_worker(wallet, intent, L.CRASH_AFTER_COMMIT);
  assert.equal(win(wallet, { ...intent.body, request_uuid: request() }), { user: 'ann', status: RS_OK, request_uuid: REQUEST_DEAD, currency: 'USD', balance: 1_200 });
  const report = audit(wallet);
  assert.ok(report.ok, JSON.stringify(report));
  const rival = { user: 'ann', transaction_uuid: U(8), reference_transaction_uuid: U(6), request_uuid: request() };
  assert.is(rollback(wallet, rival).status, RS_ERROR_UNKNOWN); // already won
  assert.is(balance_of(wallet), 1_200);
});

test.run();
