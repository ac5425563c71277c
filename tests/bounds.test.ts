// Bounds (spec §1–§3, §8): every table and option has a limit, and what
// happens at the limit is defined — a full idempotency table refuses new
// transactions (RS_ERROR_UNKNOWN) but keeps replaying the recorded ones, a
// full user table throws RangeError and leaves existing users intact, bad
// options are a RangeError from start, a credit past MAX_SAFE_INTEGER is
// refused, and a full thread registry refuses a new thread until a slot is
// given back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { isDeepStrictEqual } from 'node:util';
import { start, createUsers, share, audit, RS_OK, RS_ERROR_UNKNOWN, type Wallet, type WalletOptions, type WalletResponse } from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import { L } from 'exwallet/internal/layout';
import { build_workload, type Intent } from './stress/intents.js';
import { run_workers } from './stress/harness.js';
import { check_run } from './stress/checks.js';
import { Random } from '../tools/random.js';
import type { AttachCommand, AttachReply } from './stress/attach_worker.js';

const SEED = Number(process.env.BOUNDS_SEED ?? Date.now() % 100_000);
const WORKERS = 6;
const rng = new Random(SEED);
const request = () => rng.uuid();

function balance_of(wallet: Wallet, user: string): number | undefined {
  return balance(wallet, { user, request_uuid: request() }).balance;
}

test('a full idempotency table under concurrent load: new uuids get RS_ERROR_UNKNOWN, recorded ones replay, nothing is lost', async () => {
  // 6 workers send 3 x maxTransactions new bets (every uuid from every
  // worker), then all of them again.
  const workload = build_workload('table_full', { workers: WORKERS, groups: 1_000, seed: SEED });
  const max = workload.options.maxTransactions!;
  const wallet = start(workload.options);
  createUsers(wallet, workload.users);
  const run = await run_workers(wallet, { intents: workload.intents, plans: workload.plans, seed: SEED, budget_ms: 30_000, barrier_every: 16 });
  const final_balances = new Map(workload.users.map((user) => [user, balance(wallet, { user, request_uuid: request() })]));
  const report = audit(wallet);
  const checked = check_run({
    intents: workload.intents, sends: run.sends, initial_balance: workload.options.initialBalance,
    currency: workload.options.currency, final_balances, expected_users: workload.users, audit: report,
  });
  assert.equal(checked.violations, []);
  const applied = checked.figures.applied;
  // Every bet here stays open, so each holds two budget units (its entry and
  // its settlement's reserve). Units are handed to threads in chunks of at
  // most BUDGET_CHUNK_MAX (shrinking to what one bet needs as the budget runs
  // out), so units reserved by a thread that then only met duplicates can
  // stay unused: at most one partial chunk per thread. Failed requests give
  // their units back.
  const slack_max = (WORKERS + 1) * L.BUDGET_CHUNK_MAX;
  console.log(`bounds: ${applied} open bets in a budget of ${max}, audit committed ${report.committed}, released ${report.released}, slack allowed ${slack_max}`);
  assert.ok(2 * applied <= max, `${applied} open bets hold more than the budget ${max}`);
  assert.ok(2 * applied >= max - slack_max, `only ${applied} open bets in a budget of ${max}`);
  assert.is(report.committed, applied, 'audit and responses disagree on what is recorded');
  // Every failure was the full table (or a twin's wait), never another status.
  for (const sent of run.sends) assert.ok(sent.response.status === RS_OK || sent.response.status === RS_ERROR_UNKNOWN, sent.response.status);

  // Afterwards, from a new thread: recorded uuids still replay their
  // original response, and new ones fit only within the budget's leftover
  // (units the exited workers held are adopted, so a few may still fit).
  const originals = new Map<string, { intent: number; response: WalletResponse }>();
  for (const sent of run.sends) {
    if (sent.response.status === RS_OK) originals.set(workload.intents[sent.intent]!.body.transaction_uuid as string, { intent: sent.intent, response: sent.response as WalletResponse });
  }
  const intents: Intent[] = [...workload.intents];
  const fresh_start = intents.length;
  for (let i = 0; i < 50; i++) {
    intents.push({ op: 'bet', group: -1, variant: 0, body: { user: workload.users[0]!, transaction_uuid: rng.uuid(), currency: 'USD', amount: 1 } });
  }
  const recorded = [...originals.values()].slice(0, 50);
  const plan = [[...recorded.map((o) => o.intent), ...Array.from({ length: 50 }, (_, i) => fresh_start + i)]];
  const late = await run_workers(wallet, { intents, plans: [plan], seed: SEED, seed_offset: 1_000, budget_ms: 30_000 });
  let late_applied = 0;
  for (const sent of late.sends) {
    if (sent.intent >= fresh_start) {
      assert.ok(sent.response.status === RS_OK || sent.response.status === RS_ERROR_UNKNOWN, sent.response.status);
      if (sent.response.status === RS_OK) late_applied++;
    } else {
      const original = originals.get(intents[sent.intent]!.body.transaction_uuid as string)!;
      assert.ok(isDeepStrictEqual(sent.response, original.response), `replay ${JSON.stringify(sent.response)} != ${JSON.stringify(original.response)}`);
    }
  }
  assert.is(late.sends.length, 100);
  assert.ok(2 * (applied + late_applied) <= max, `${applied} + ${late_applied} open bets passed the budget ${max}`);
  // Until the budget is spent for good, from this thread too.
  let more = 0;
  while (bet(wallet, { ...intents[fresh_start]!.body, transaction_uuid: rng.uuid(), request_uuid: request() }).status === RS_OK) more++;
  assert.is(2 * (applied + late_applied + more), max - (max % 2), 'every unit of the budget was used, none twice');
  assert.is(bet(wallet, { ...intents[fresh_start]!.body, transaction_uuid: rng.uuid(), request_uuid: request() }).status, RS_ERROR_UNKNOWN);
  assert.ok(audit(wallet).ok);
});

test('a full user table throws RangeError, creates nothing from that call, and leaves existing users intact', () => {
  const wallet = start({ maxUsers: 5, maxTransactions: 100 });
  createUsers(wallet, ['ann', 'bob', 'cy']);
  assert.is(bet(wallet, { user: 'ann', transaction_uuid: rng.uuid(), request_uuid: request(), currency: 'USD', amount: 10 }).status, RS_OK);
  assert.throws(() => createUsers(wallet, ['dee', 'eve', 'fay']), (error: unknown) => error instanceof RangeError);
  assert.is(balance(wallet, { user: 'dee', request_uuid: request() }).status, RS_ERROR_UNKNOWN, 'a name of the refused call was created');
  assert.is(balance_of(wallet, 'ann'), 99_990);
  assert.is(balance_of(wallet, 'bob'), 100_000);
  createUsers(wallet, ['dee', 'eve', 'ann', '']); // exactly fills the table: existing and "" are ignored
  assert.throws(() => createUsers(wallet, ['fay']), (error: unknown) => error instanceof RangeError && /full/.test(error.message));
  createUsers(wallet, ['ann', 'eve']); // nothing new: no error
  const report = audit(wallet);
  assert.ok(report.ok);
  assert.is(report.users, 5);
});

test('workers filling the user table concurrently: exactly maxUsers users, each once, the others refused with RangeError', async () => {
  // Every worker creates 40 names one call at a time (half shared with the
  // others, half its own) into a table of 64.
  const max_users = 64;
  const wallet = start({ maxUsers: max_users, maxTransactions: 100 });
  const intents: Intent[] = [];
  const plans: number[][][] = [];
  const names = new Set<string>();
  for (let w = 0; w < WORKERS; w++) {
    const own = Array.from({ length: 20 }, (_, i) => `own-${w}-${i}`);
    const shared = Array.from({ length: 20 }, (_, i) => `shared-${i}`);
    const order = rng.shuffle([...own, ...shared]);
    for (const name of order) names.add(name);
    plans.push([order.map((name) => intents.push({ op: 'create', group: -1, variant: 0, body: {}, names: [name] }) - 1)]);
  }
  const run = await run_workers(wallet, { intents, plans, seed: SEED, budget_ms: 30_000, barrier_every: 4 });
  const created = new Set<string>();
  for (const sent of run.sends) {
    const outcome = sent.response as { status: string; error?: string };
    if (outcome.status === 'created') created.add(intents[sent.intent]!.names![0]!);
    else assert.match(outcome.error ?? '', /^RangeError: .*full/);
  }
  const existing = [...names].filter((name) => balance(wallet, { user: name, request_uuid: request() }).status === RS_OK);
  for (const name of created) assert.ok(existing.includes(name), `${name} was created and is gone`);
  assert.is(existing.length, max_users);
  const report = audit(wallet);
  assert.ok(report.ok);
  assert.is(report.users, max_users);
});

test('invalid options are a RangeError from start', () => {
  const bad: unknown[] = [
    { maxUsers: 0 }, { maxUsers: -1 }, { maxUsers: 1.5 }, { maxUsers: '10' }, { maxUsers: NaN }, { maxUsers: 2 ** 40 },
    { maxTransactions: 0 }, { maxTransactions: 2.5 }, { maxTransactions: Infinity }, { maxTransactions: null },
    { initialBalance: -1 }, { initialBalance: 0.5 }, { initialBalance: NaN }, { initialBalance: 2 ** 53 }, { initialBalance: '100' },
    { currency: '' }, { currency: 5 }, { currency: 'X'.repeat(65) },
    { maxThreads: 0 }, { maxThreads: 1e9 }, { maxThreads: 3.5 },
    { twinWaitMs: 0 }, { twinWaitMs: -5 },
    // Each of these alone fits the per-option limits, but the memory would pass 4 GiB.
    { maxUsers: 2 ** 24, maxTransactions: 2 ** 25 },
    { maxTransactions: 2 ** 26 },
  ];
  for (const options of bad) {
    assert.throws(() => start({ maxUsers: 10, maxTransactions: 10, ...(options as WalletOptions) }), (error: unknown) => error instanceof RangeError, JSON.stringify(options));
  }
  // The limits themselves are fine.
  const wallet = start({ maxUsers: 1, maxTransactions: 1, maxThreads: 1, initialBalance: 0, currency: 'X'.repeat(64), twinWaitMs: 1 });
  createUsers(wallet, ['solo']);
  assert.is(balance_of(wallet, 'solo'), 0);
});

test('a credit past Number.MAX_SAFE_INTEGER is refused (win and rollback), changing nothing', () => {
  const max = Number.MAX_SAFE_INTEGER;
  const wallet = start({ maxUsers: 4, maxTransactions: 100, initialBalance: max - 10 });
  createUsers(wallet, ['rich']);
  const bet_a = rng.uuid(), bet_b = rng.uuid();
  const bet_body = (uuid: string, amount: number) => ({ user: 'rich', transaction_uuid: uuid, request_uuid: request(), currency: 'USD', amount });
  assert.is(bet(wallet, bet_body(bet_a, 5)).balance, max - 15);
  assert.is(bet(wallet, bet_body(bet_b, 0)).balance, max - 15);
  const too_much = { user: 'rich', transaction_uuid: rng.uuid(), request_uuid: request(), currency: 'USD', amount: 16, reference_transaction_uuid: bet_b };
  assert.is(win(wallet, too_much).status, RS_ERROR_UNKNOWN);
  assert.is(balance_of(wallet, 'rich'), max - 15);
  assert.is(win(wallet, { ...too_much, amount: 15, request_uuid: request() }).balance, max); // the same uuid, reused after failing
  const refund = { user: 'rich', transaction_uuid: rng.uuid(), request_uuid: request(), reference_transaction_uuid: bet_a };
  assert.is(rollback(wallet, refund).status, RS_ERROR_UNKNOWN);
  assert.is(balance_of(wallet, 'rich'), max);
  // The refused settlement left bet A open: a zero win still closes it.
  const close = { user: 'rich', transaction_uuid: rng.uuid(), request_uuid: request(), currency: 'USD', amount: 0, reference_transaction_uuid: bet_a };
  assert.is(win(wallet, close).status, RS_OK);
  assert.ok(audit(wallet).ok);
});

test('concurrent wins near Number.MAX_SAFE_INTEGER: exactly the ones that fit apply, the balance never passes the bound', async () => {
  const max = Number.MAX_SAFE_INTEGER;
  const wallet = start({ maxUsers: 4, maxTransactions: 10_000, initialBalance: max - 1_000 });
  createUsers(wallet, ['rich']);
  // 60 zero bets, each won with 100 by every worker (one uuid per win): 10 fit.
  const intents: Intent[] = [];
  const bets: number[] = [], wins: number[] = [];
  for (let i = 0; i < 60; i++) {
    const bet_uuid = rng.uuid();
    bets.push(intents.push({ op: 'bet', group: i, variant: 0, body: { user: 'rich', transaction_uuid: bet_uuid, currency: 'USD', amount: 0 } }) - 1);
    wins.push(intents.push({ op: 'win', group: 100 + i, variant: 0, body: { user: 'rich', transaction_uuid: rng.uuid(), currency: 'USD', amount: 100, reference_transaction_uuid: bet_uuid } }) - 1);
  }
  const plans = Array.from({ length: WORKERS }, () => [rng.shuffle([...bets]), rng.shuffle([...wins])]);
  const run = await run_workers(wallet, { intents, plans, seed: SEED, budget_ms: 30_000, barrier_every: 8 });
  const applied_wins = new Set<string>();
  for (const sent of run.sends) {
    const response = sent.response as WalletResponse;
    if (response.balance !== undefined) assert.ok(response.balance <= max, `balance ${response.balance} past MAX_SAFE_INTEGER`);
    if (intents[sent.intent]!.op === 'win' && response.status === RS_OK) applied_wins.add(intents[sent.intent]!.body.transaction_uuid as string);
  }
  assert.is(applied_wins.size, 10);
  assert.is(balance_of(wallet, 'rich'), max);
  assert.ok(audit(wallet).ok);
});

test('a full thread registry refuses a new thread with RangeError until a slot is given back by detach', async () => {
  // maxThreads 2: this thread (start) and one worker.
  const wallet = start({ maxUsers: 4, maxTransactions: 10, maxThreads: 2 });
  createUsers(wallet, ['ann']);
  const spawn = () => new Worker(new URL('./stress/attach_worker.js', import.meta.url), { workerData: share(wallet) });
  const ask = (worker: Worker, command: AttachCommand) => new Promise<AttachReply>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${command} within 10 s`)), 10_000);
    worker.once('message', (reply: AttachReply) => {
      clearTimeout(timer);
      resolve(reply);
    });
    worker.once('error', reject);
    worker.postMessage(command);
  });
  const first = spawn(), second = spawn();
  try {
    assert.ok((await ask(first, 'attach')).ok);
    const refused = await ask(second, 'attach');
    assert.not.ok(refused.ok);
    assert.match(refused.error!, /^RangeError: .*thread slots/);
    assert.is((await ask(first, 'balance')).status, RS_OK); // the holder is unaffected
    assert.ok((await ask(first, 'detach')).ok);
    assert.ok((await ask(second, 'attach')).ok, 'the slot given back by detach was not free');
    assert.is((await ask(second, 'balance')).status, RS_OK);
    assert.not.ok((await ask(first, 'attach')).ok); // and now the registry is full again
  } finally {
    await Promise.all([first.terminate(), second.terminate()]);
  }
});

test.run();
