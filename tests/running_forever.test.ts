// Running forever (docs/contract.md §10): a durable wallet's maxTransactions
// is a window over its history. Transactions that leave memory stay
// exactly-once on disk for the retention; open bets never leave; one uuid
// keeps one entry across every flip of the window, under a twin storm; and
// a SIGKILL during a rotation loses nothing acknowledged.
//
// Invariants checked: none refused; every duplicate of an old transaction
// replays its original answer, a reuse with other parameters is DUPLICATE,
// lookup finds it; per user, balance = initial + Σ deltas of the distinct
// transactions answered RS_OK (each applied once); audit agrees after many
// rotations, also after close and reopen; RSS stays flat.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  start, createUsers, close, durable, audit, stats, lookup, share, RS_OK, RS_ERROR_DUPLICATE_TRANSACTION, RS_ERROR_UNKNOWN,
  type Wallet, type WalletResponse,
} from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import { make_sync, open_gate, W_ABORTED } from '../tools/sync.js';
import { start_with_journal_faults } from 'exwallet/testing';
import { uuidOf, betBody, winBody, rollbackBody } from './bodies.js';
import { run_and_kill, check_recovered } from './durability/crash_rounds.js';
import type { Acked } from './durability/load_shared.js';
import type { StormJob } from './forever/storm_worker.js';

const dirs: string[] = [];
function data_dir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'exwallet-forever-'));
  dirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const retired_files = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('retired-')).length;
const request = (n: number) => uuidOf(n, 9);

// C10.1-C10.3, C10.8 ----------------------------------------------------------

const WINDOW = 20_000;
const PAIRS = 400_000; // 800k transactions: 40 x the window
const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7'];
const EARLY_OPEN = 100;
const KEPT = 300; // the oldest pairs whose answers the test keeps to replay

interface Kept { bet: Record<string, unknown>; bet_answer: WalletResponse; win: Record<string, unknown>; win_answer: WalletResponse }

test('C10.1 a 20k window takes 40x that: none refused, early open bets settle at the end, the oldest duplicates replay exactly, lookup finds them, RSS stays flat; the same after close and reopen', async () => {
  const dir = data_dir();
  let wallet = start({ dataDir: dir, maxTransactions: WINDOW, maxUsers: 64, maxThreads: 8, initialBalance: 1_000_000_000 });
  createUsers(wallet, USERS);
  const early: Array<{ body: Record<string, unknown> }> = [];
  for (let i = 0; i < EARLY_OPEN; i++) {
    const body = betBody(USERS[i % USERS.length], uuidOf(i, 3), 7, request(i));
    assert.is(bet(wallet, body).status, RS_OK);
    early.push({ body });
  }
  const kept: Kept[] = [];
  let refused = 0;
  // RSS sampled through the run: a background checkpoint (a short-lived
  // worker reading a journal segment) adds tens of MiB while it runs, so
  // "flat" compares the medians of the second quarter and of the last one.
  // Run alone this test sees < 48 MiB; inside `npm test` (one process for
  // every test file) it has seen up to ~190 MiB, not yet explained: the
  // bound is loose here, and bench/forever.ts measures the curve.
  const rss_samples: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const user = USERS[i % USERS.length];
    const bet_body = { ...betBody(user, uuidOf(i, 1), 5, request(2 * i)), round: `r${i}`, game_code: 'g1' };
    const bet_answer = bet(wallet, bet_body);
    const win_body = { ...winBody(user, uuidOf(i, 2), uuidOf(i, 1), 3, request(2 * i + 1)), round: `r${i}` };
    const win_answer = win(wallet, win_body);
    if (bet_answer.status !== RS_OK || win_answer.status !== RS_OK) refused++;
    if (i < KEPT) kept.push({ bet: bet_body, bet_answer, win: win_body, win_answer });
    if (i % 5_000 === 0) rss_samples.push(process.memoryUsage().rss);
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
  const quarter = rss_samples.length >> 2;
  const rss_warm = median(rss_samples.slice(quarter, 2 * quarter));
  const rss_end = median(rss_samples.slice(3 * quarter));
  assert.is(refused, 0, 'no transaction refused');
  const figures = stats(wallet);
  assert.ok(figures.rotations >= 2 * PAIRS / WINDOW, `rotated ${figures.rotations} times`);
  assert.ok(figures.inMemory <= WINDOW, `${figures.inMemory} entries in memory, within the window`);
  assert.is(figures.transactions, EARLY_OPEN + 2 * PAIRS);
  assert.is(figures.openBets, EARLY_OPEN);
  assert.ok(rss_end - rss_warm < 320 * 2 ** 20, `RSS (median) grew ${((rss_end - rss_warm) / 2 ** 20).toFixed(1)} MiB from the second quarter of the run to the last`);
  assert.ok(retired_files(dir) >= figures.retirements - 1, 'the retired generations are on disk');

  const check_old = (when: string) => {
    for (const [n, pair] of kept.entries()) {
      const retry = `${when}: pair ${n}`;
      assert.equal(bet(wallet, { ...pair.bet, request_uuid: request(10_000_000 + n) }), pair.bet_answer, `${retry}: the bet replays`);
      assert.equal(win(wallet, { ...pair.win, request_uuid: request(10_000_000 + n) }), pair.win_answer, `${retry}: the win replays`);
      assert.is(bet(wallet, { ...pair.bet, amount: 6 }).status, RS_ERROR_DUPLICATE_TRANSACTION, `${retry}: other parameters`);
      assert.is(win(wallet, { ...pair.win, round: 'other' }).status, RS_ERROR_DUPLICATE_TRANSACTION, `${retry}: other extra field`);
      const placed = lookup(wallet, pair.bet.transaction_uuid as string);
      assert.equal(placed, {
        transactionUuid: pair.bet.transaction_uuid, kind: 'bet', user: pair.bet.user, amount: 5, currency: 'USD',
        balanceAfter: pair.bet_answer.balance, requestUuid: pair.bet.request_uuid, settlement: 'won',
      }, `${retry}: lookup of the bet`);
      assert.is(lookup(wallet, pair.win.transaction_uuid as string)?.referenceTransactionUuid, pair.bet.transaction_uuid);
      // A retired bet is settled: a second win of it is refused, not "unknown bet".
      const late = win(wallet, winBody(pair.bet.user, uuidOf(n, 4), pair.bet.transaction_uuid, 1, request(20_000_000 + n)));
      assert.is(late.status, RS_ERROR_UNKNOWN, `${retry}: a second win of a retired bet`);
    }
  };
  check_old('before close');
  const report = audit(wallet);
  assert.ok(report.ok, report.findings.join('; '));
  await durable(wallet);
  await close(wallet);

  wallet = start({ dataDir: dir });
  check_old('after reopen');
  for (const [i, { body }] of early.entries()) {
    const settle = i % 2 === 0
      ? win(wallet, winBody(body.user, uuidOf(i, 5), body.transaction_uuid, 11, request(30_000_000 + i)))
      : rollback(wallet, rollbackBody(body.user, uuidOf(i, 5), body.transaction_uuid, request(30_000_000 + i)));
    assert.is(settle.status, RS_OK, `early open bet ${i} settles after ${2 * PAIRS} transactions and a restart`);
  }
  assert.is(stats(wallet).openBets, 0);
  const after = audit(wallet);
  assert.ok(after.ok, after.findings.join('; '));
  await close(wallet);
});

// C10.7 One uuid, one entry across a flip ----------------------------------------

const STORM_WORKERS = 16;
const CANARY_STORMS = 4;

interface StormOutcome { violations: string[]; rotations: number }

/** 16 workers send the same bets and wins (twins, same bodies) through a
 *  window that flips every ~100 pairs; each uuid must be applied once. */
async function twin_storm(canary: boolean, pairs: number, window: number): Promise<StormOutcome> {
  const dir = data_dir();
  const initial = 1_000_000_000;
  const users = ['s0', 's1', 's2', 's3'];
  const wallet = start({ dataDir: dir, maxTransactions: window, maxUsers: 16, maxThreads: STORM_WORKERS + 4, initialBalance: initial });
  createUsers(wallet, users);
  const plan: StormJob['plan'] = [];
  for (let i = 0; i < pairs; i++) {
    const user = users[i % users.length];
    plan.push(['bet', betBody(user, uuidOf(i, 6), 7, request(3 * i))]);
    plan.push(['win', winBody(user, uuidOf(i, 7), uuidOf(i, 6), 3, request(3 * i + 1))]);
  }
  const sync = make_sync(STORM_WORKERS);
  const handle = share(wallet);
  const workers = Array.from({ length: STORM_WORKERS }, () => new Worker(new URL('./forever/storm_worker.js', import.meta.url), {
    workerData: { handle, sync, plan, canary } satisfies StormJob,
  }));
  const answers = workers.map((worker) => new Promise<Array<WalletResponse | string>>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  }));
  await new Promise((resolve) => setTimeout(resolve, 200)); // every worker at the gate
  open_gate(new Int32Array(sync));
  const all = await Promise.all(answers);
  await Promise.all(workers.map((worker) => worker.terminate()));

  const violations: string[] = [];
  if (Atomics.load(new Int32Array(sync), W_ABORTED) !== 0) {
    const broken = all.flatMap((list) => list.filter((answer) => typeof answer === 'string'));
    broken.sort((a, b) => Number(b.startsWith('threw')) - Number(a.startsWith('threw')));
    violations.push(`the storm was stopped (rotation blocked: ${stats(wallet).rotationBlocked}): ${broken.slice(0, 2).join('; ')}`);
  }
  const expected = new Map<string, number>(users.map((user) => [user, initial]));
  for (const [step, [kind, body]] of plan.entries()) {
    if (all.some((list) => step >= list.length)) break; // stopped
    const first = all[0][step];
    for (const [w, list] of all.entries()) {
      if (JSON.stringify(list[step]) !== JSON.stringify(first) && violations.length < 10) {
        violations.push(`${kind} ${String(body.transaction_uuid)}: worker 0 got ${JSON.stringify(first)}, worker ${w} ${JSON.stringify(list[step])}`);
      }
    }
    if (typeof first !== 'string' && first.status === RS_OK) {
      const user = body.user as string;
      expected.set(user, expected.get(user)! + (kind === 'bet' ? -7 : 3));
    }
  }
  const figures = stats(wallet);
  for (const user of users) {
    if (violations.length > 0) break; // the balance of a stopped storm says nothing more
    const now = balance(wallet, { user, request_uuid: request(99) }).balance;
    if (now !== expected.get(user)) violations.push(`${user}: balance ${now}, the distinct applied transactions say ${expected.get(user)}`);
  }
  if (violations.length === 0) {
    const report = audit(wallet);
    if (!report.ok) violations.push(`audit: ${report.findings.join('; ')}`);
  }
  await close(wallet).catch(() => undefined);
  return { violations, rotations: figures.rotations };
}

test('C10.7 a twin storm of 16 workers across many flips of the window: every uuid applied once, every twin the same answer', async () => {
  const outcome = await twin_storm(false, 1_500, 512);
  assert.ok(outcome.rotations >= 10, `the window flipped ${outcome.rotations} times during the storm`);
  assert.equal(outcome.violations, []);
});

test('C10.7 canary: flipping the window while calls are in flight (no pause) is caught by the same storm (a uuid bound in both generations: twins get different answers, and the carry finds the second binding)', async () => {
  // Whether a twin lands inside the canary's window is up to the scheduler:
  // a few storms, and one of them must catch it.
  let flips = 0;
  for (let storm = 0; storm < CANARY_STORMS; storm++) {
    const outcome = await twin_storm(true, 1_200, 64);
    flips += outcome.rotations;
    if (outcome.violations.length > 0) return;
  }
  assert.unreachable(`the canary went unnoticed over ${CANARY_STORMS} storms and ${flips} flips`);
});

// C10.6 SIGKILL during rotations -----------------------------------------------

test('C10.6 SIGKILL while the window rotates (retirement stalled between its steps): every acknowledged answer recovers, old duplicates replay from the retired files, audit agrees', async () => {
  const dir = data_dir();
  const all_acked: Acked[] = [];
  let rounds_in_rotation = 0;
  for (let round = 0; round < 3; round++) {
    const { acked } = await run_and_kill(dir, 7000 + round, 400 + 150 * round, { window: 3_000, rotation_stall_ms: 15 });
    all_acked.push(...acked);
    const check = await check_recovered(dir, all_acked, `round ${round}`);
    assert.equal(check.violations, []);
    assert.ok(check.replayed > 0, 'answers were acknowledged before the kill');
    if (retired_files(dir) > 0) rounds_in_rotation++;
  }
  assert.ok(rounds_in_rotation > 0, 'the window rotated before a kill');
});

// C10.2 Open bets fill the window ----------------------------------------------------

test('C10.2 open bets past a quarter of the window: stats says the window cannot rotate and what to do, new bets are refused after a bounded wait, every open bet still settles', async () => {
  const dir = data_dir();
  const wallet = start({ dataDir: dir, maxTransactions: 256, maxUsers: 4, initialBalance: 1_000_000, twinWaitMs: 50 });
  createUsers(wallet, ['o']);
  const placed: string[] = [];
  let refused = 0;
  for (let i = 0; i < 120 && refused === 0; i++) {
    const answer = bet(wallet, betBody('o', uuidOf(i, 10), 1, request(i)));
    if (answer.status === RS_OK) placed.push(uuidOf(i, 10));
    else refused++;
  }
  assert.is(refused, 1, 'a bet is refused once open bets fill the window');
  assert.ok(placed.length >= 256 / 4 - 2 && placed.length < 256 / 2, `${placed.length} open bets fit a window of 256`);
  assert.match(String(stats(wallet).rotationBlocked), /open bets fill the window/);
  for (const [i, uuid] of placed.entries()) {
    assert.is(win(wallet, winBody('o', uuidOf(i, 11), uuid, 2, request(1000 + i))).status, RS_OK, `open bet ${i} settles`);
  }
  // Settled, they retire: the window rotates again and takes new bets.
  for (let i = 0; i < 300; i++) {
    assert.is(bet(wallet, betBody('o', uuidOf(i, 12), 1, request(2000 + i))).status, RS_OK, `bet ${i} after the settlements`);
    assert.is(win(wallet, winBody('o', uuidOf(i, 13), uuidOf(i, 12), 1, request(3000 + i))).status, RS_OK);
  }
  assert.is(stats(wallet).rotationBlocked, null);
  assert.ok(audit(wallet).ok);
  await close(wallet);
});

// C10.4 A saturated filter: every new uuid searches the disk, and is still right -----

test('C10.4 with a filter far too small every new uuid takes the slow path (a search of the retired files), and every answer is still exact', async () => {
  const dir = data_dir();
  const wallet = start({ dataDir: dir, maxTransactions: 512, maxUsers: 4, initialBalance: 1_000_000, retiredFilterCapacity: 1 });
  createUsers(wallet, ['f']);
  let expected = 1_000_000;
  for (let i = 0; i < 3_000; i++) {
    const placed = bet(wallet, betBody('f', uuidOf(i, 14), 3, request(i)));
    expected -= 3;
    assert.equal(placed, { user: 'f', status: RS_OK, request_uuid: request(i), currency: 'USD', balance: expected }, `bet ${i}`);
    const won = win(wallet, winBody('f', uuidOf(i, 15), uuidOf(i, 14), 1, request(i)));
    expected += 1;
    assert.is(won.balance, expected, `win ${i}`);
  }
  const figures = stats(wallet);
  assert.ok(figures.retiredFilterKeys > 1_000 && figures.retiredFilterFalsePositiveRate > 0.9, `a saturated filter (${figures.retiredFilterKeys} keys)`);
  assert.equal(bet(wallet, betBody('f', uuidOf(0, 14), 3, request(9))), { user: 'f', status: RS_OK, request_uuid: request(0), currency: 'USD', balance: 999_997 }, 'the oldest bet replays');
  assert.ok(audit(wallet).ok);
  await close(wallet);
});

// C10.5 Retention -------------------------------------------------------------------

test('C10.5 past retentionDays a retired file is deleted, and its uuids are free again; retentionDays must be a number of days > 0', async () => {
  for (const bad of [0, -1, Number.NaN, Infinity, '120', null]) {
    assert.throws(() => start({ dataDir: data_dir(), retentionDays: bad as number }), (error: Error & { code?: string }) => error.code === 'EXWALLET_BAD_OPTION', `retentionDays ${String(bad)}`);
  }
  const dir = data_dir();
  const retention_days = 200 / 86_400_000; // 200 ms
  // Small journal segments: a file is deleted only once a checkpoint has folded its records (else a crash would replay them).
  const wallet = start_with_journal_faults(
    { dataDir: dir, maxTransactions: 512, maxUsers: 4, initialBalance: 1_000_000, retentionDays: retention_days },
    { segment_bytes_max: 40_000 },
  );
  createUsers(wallet, ['r']);
  const first = bet(wallet, betBody('r', uuidOf(0, 16), 5, request(0)));
  win(wallet, winBody('r', uuidOf(0, 17), uuidOf(0, 16), 5, request(1)));
  for (let i = 1; i < 600; i++) {
    bet(wallet, betBody('r', uuidOf(i, 16), 1, request(2 * i)));
    win(wallet, winBody('r', uuidOf(i, 17), uuidOf(i, 16), 1, request(2 * i + 1)));
  }
  assert.equal(bet(wallet, betBody('r', uuidOf(0, 16), 5, request(7))), first, 'within retention: the original answer');
  await new Promise((resolve) => setTimeout(resolve, 300));
  // Traffic goes on: rotations end with a retention check, and checkpoints
  // (which must fold a file's records before it may go) follow the journal.
  const deadline_ms = performance.now() + 15_000;
  for (let i = 600; lookup(wallet, uuidOf(0, 16)) !== undefined && performance.now() < deadline_ms; i++) {
    bet(wallet, betBody('r', uuidOf(i, 16), 1, request(2 * i)));
    win(wallet, winBody('r', uuidOf(i, 17), uuidOf(i, 16), 1, request(2 * i + 1)));
    if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.is(lookup(wallet, uuidOf(0, 16)), undefined, 'its retired file is gone');
  const again = bet(wallet, betBody('r', uuidOf(0, 16), 5, request(8)));
  assert.is(again.status, RS_OK);
  assert.is(again.request_uuid, request(8), 'past retention the uuid is a new transaction, not a replay');
  await durable(wallet);
  await close(wallet);
  const reopened = start({ dataDir: dir });
  assert.is(bet(reopened, betBody('r', uuidOf(0, 16), 5, request(9))).request_uuid, request(8), 'and it recovers as the new one');
  assert.ok(audit(reopened).ok);
  await close(reopened);
});

test('C10.1 a memory-only wallet keeps its fixed table (a full table refuses new bets): rotation is for durable wallets', () => {
  const wallet: Wallet = start({ maxTransactions: 8, maxUsers: 2 });
  createUsers(wallet, ['m']);
  const answers = Array.from({ length: 6 }, (_, i) => bet(wallet, betBody('m', uuidOf(i, 8), 1, request(i))).status);
  assert.equal(answers, [RS_OK, RS_OK, RS_OK, RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_UNKNOWN]);
  assert.is(stats(wallet).rotations, 0);
});

test.run();
