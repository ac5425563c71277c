// Invariant (spec §1, §8): a wallet shared with worker threads is one wallet —
// 4 workers attached through share()/attach() bet concurrently on the same
// users, and every final balance equals the initial balance minus the bets
// that were applied (here: all of them, as each user's balance covers them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { start, createUsers, balance, audit, RS_OK, type WalletResponse } from 'exwallet';
import type { Intent } from './stress/intents.js';
import { run_workers } from './stress/harness.js';
import { Random } from '../tools/random.js';

const WORKERS = 4;
const BETS_PER_WORKER = 500;
const USERS = ['ann', 'bob', 'cy'];
const INITIAL_BALANCE = 1_000_000;

test(`${WORKERS} workers betting on shared users: final balances = initial − applied bets`, async () => {
  const rng = new Random(Number(process.env.WORKERS_SEED ?? 4));
  const wallet = start({ maxUsers: 10, maxTransactions: 10_000, initialBalance: INITIAL_BALANCE });
  createUsers(wallet, USERS);
  // Each worker sends its own bets (own uuids) on the shared users, 1..100
  // units each: 3 users x 1_000_000 cover the 2_000 bets whatever the order.
  const intents: Intent[] = [];
  const plans = Array.from({ length: WORKERS }, () => [Array.from({ length: BETS_PER_WORKER }, () => intents.push({
    op: 'bet', group: intents.length, variant: 0,
    body: { user: rng.pick(USERS), transaction_uuid: rng.uuid(), currency: 'USD', amount: rng.between(1, 100), game_code: 'slots' },
  }) - 1)]);
  const run = await run_workers(wallet, { intents, plans, seed: 4, budget_ms: 30_000, barrier_every: 25 });

  assert.is(run.sends.length, WORKERS * BETS_PER_WORKER);
  const expected = new Map(USERS.map((user) => [user, INITIAL_BALANCE]));
  for (const sent of run.sends) {
    const response = sent.response as WalletResponse;
    const body = intents[sent.intent]!.body;
    assert.is(response.status, RS_OK, JSON.stringify(response));
    assert.is(response.request_uuid, sent.request_uuid);
    expected.set(body.user as string, expected.get(body.user as string)! - (body.amount as number));
  }
  for (const user of USERS) {
    assert.is(balance(wallet, { user, request_uuid: rng.uuid() }).balance, expected.get(user), user);
  }
  // Every worker saw the others' effects: per user, the RS_OK balances are
  // all distinct (each bet moved the shared balance; none saw a stale copy).
  for (const user of USERS) {
    const seen = run.sends.filter((sent) => intents[sent.intent]!.body.user === user).map((sent) => (sent.response as WalletResponse).balance);
    assert.is(new Set(seen).size, seen.length, `two bets on ${user} answered the same balance`);
  }
  assert.ok(audit(wallet).ok);
});

test.run();
