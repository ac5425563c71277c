// Durability (docs/contract.md §9): a wallet with a dataDir recovers after a
// restart, a SIGKILL or a power loss with nothing acknowledged lost, and its
// recovered state is always one its users really had.
//
// Invariants checked: every answer acknowledged after durable() is
// recovered with the same answer (a duplicate replays it); per user, the
// recovered balance is base + Σ recovered deltas, never negative, and is the
// balance_after of one of that user's transactions; a transaction not
// recovered left no trace (its uuid is free again).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  start, createUsers, close, durable, audit, stats, lookup, share, RS_OK, RS_ERROR_UNKNOWN,
  type Wallet, type WalletResponse,
} from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import { set_epoch_after_cas, start_with_journal_faults } from 'exwallet/testing';
import { scan_journal, decode_record, FILES, type Batch } from 'exwallet/internal/journal_format';
import { segments_of, CHECKPOINT_FILE } from 'exwallet/internal/checkpoint';
import { L } from 'exwallet/internal/layout';
import { Random } from '../tools/random.js';
import { Uuids, betBody, winBody, rollbackBody, okResponse } from './bodies.js';
import { thrown } from './bodies.js';
import { run_and_kill, check_recovered } from './durability/crash_rounds.js';
import type { Acked } from './durability/load_shared.js';

const dirs: string[] = [];
function fresh_dir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'exwallet-durable-'));
  dirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});


const OPTIONS = { maxUsers: 64, maxTransactions: 100_000, maxThreads: 8, initialBalance: 1_000 } as const;

test('C9.1 a durable wallet recovers users, currencies, balances, open bets and transactions after close and restart; duplicates replay exactly; a failed uuid is free', async () => {
  const dir = fresh_dir();
  const ids = new Uuids();
  const first = start({ ...OPTIONS, dataDir: dir });
  createUsers(first, ['alice', { user: 'bob', currency: 'EUR', balance: 500 }]);
  const placed = betBody('alice', ids.tx(), 100, ids.req());
  const open = betBody('bob', ids.tx(), 50, ids.req(), 'EUR');
  const won = winBody('alice', ids.tx(), placed.transaction_uuid, 30, ids.req());
  const poor_uuid = ids.tx();
  const answers = [bet(first, placed), bet(first, open), win(first, won)];
  assert.is(bet(first, betBody('alice', poor_uuid, 1_000_000, ids.req())).status, 'RS_ERROR_NOT_ENOUGH_MONEY');
  await durable(first);
  await close(first);
  assert.is(thrown(() => stats(first)).code, 'EXWALLET_CLOSED');

  const second = start({ dataDir: dir }); // the stored options
  assert.equal(balance(second, { user: 'alice', request_uuid: 'r' }), okResponse('alice', 'r', 930));
  assert.equal(balance(second, { user: 'bob', request_uuid: 'r' }), okResponse('bob', 'r', 450, 'EUR'));
  assert.equal(bet(second, { ...placed, request_uuid: ids.req() }), answers[0], 'a duplicate replays the original answer');
  assert.equal(win(second, { ...won, request_uuid: ids.req() }), answers[2]);
  assert.is(bet(second, { ...placed, amount: 101, request_uuid: ids.req() }).status, 'RS_ERROR_DUPLICATE_TRANSACTION');
  assert.is(lookup(second, open.transaction_uuid as string)?.settlement, 'open');
  const rreq = ids.req();
  assert.equal(rollback(second, rollbackBody('bob', ids.tx(), open.transaction_uuid, rreq)), okResponse('bob', rreq, 500, 'EUR'), 'the open bet is still open');
  const reuse = ids.req();
  assert.equal(bet(second, betBody('alice', poor_uuid, 1, reuse)), okResponse('alice', reuse, 929), 'a failed uuid left no trace');
  const figures = stats(second);
  assert.is(figures.transactions, 5);
  assert.is(figures.durable, true);
  assert.ok(audit(second).ok);
  await durable(second);
  await close(second);

  const third = start({ dataDir: dir });
  assert.is(stats(third).transactions, 5);
  assert.is(balance(third, { user: 'alice', request_uuid: 'r' }).balance, 929);
  await close(third);
});

test('C9.1 options that conflict with the stored wallet are a RangeError naming each of them', async () => {
  const dir = fresh_dir();
  await close(start({ ...OPTIONS, dataDir: dir }));
  const error = thrown(() => start({ ...OPTIONS, dataDir: dir, maxUsers: 65, currency: 'EUR' }));
  assert.instance(error, RangeError);
  assert.match(error.message, /maxUsers 65 \(stored: 64\)/);
  assert.match(error.message, /currency "EUR" \(stored: "USD"\)/);
  await close(start({ ...OPTIONS, dataDir: dir })); // the lock was given back
});

test('C9.1 one process per directory: a second start is EXWALLET_LOCKED, in this process and in another; a dead process\'s lock is taken over', async () => {
  const dir = fresh_dir();
  const wallet = start({ ...OPTIONS, dataDir: dir });
  const here = thrown(() => start({ ...OPTIONS, dataDir: dir }));
  assert.is(here.code, 'EXWALLET_LOCKED');
  const there = await run_node(`
    import { start } from 'exwallet';
    try { start({ dataDir: ${JSON.stringify(dir)} }); console.log('opened'); } catch (error) { console.log(error.code); }`);
  assert.is(there.trim(), 'EXWALLET_LOCKED');
  await close(wallet);
  writeFileSync(join(dir, FILES.lock), '2147483646\n'); // a pid no process has
  await close(start({ ...OPTIONS, dataDir: dir }));
});

function run_node(source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', source], { cwd: process.cwd() });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
    child.on('error', reject);
  });
}

// C9.3 SIGKILL under load -------------------------------------------------------
// run_and_kill and check_recovered live in durability/crash_rounds.ts: the
// long crash runner (`npm run crash`) runs the same rounds by the hundred.

test('C9.3 SIGKILL at random moments under 2-worker load: every acknowledged answer is recovered and replays exactly, audit is clean, the lock is taken over', async () => {
  const dir = fresh_dir();
  const random = new Random(Number(process.env.EXWALLET_SEED ?? 20261201));
  const all_acked: Acked[] = [];
  for (let round = 0; round < 3; round++) {
    const { acked } = await run_and_kill(dir, 1000 + round, 150 + (random.next_u32() % 350));
    all_acked.push(...acked);
    assert.ok(acked.length > 0, `round ${round}: the child acknowledged nothing before it was killed`);
    const check = await check_recovered(dir, all_acked, `round ${round}`);
    assert.equal(check.violations, [], check.violations.join('\n'));
    assert.ok(check.replayed > 0, `round ${round}: no acknowledged RS_OK answer was replayed`);
  }
});

// C9.3 Power loss: every prefix of the journal is a real state -----------------------------

/** The journal segments of `dir` as they are now (a wallet still open). */
function journal_files(dir: string): Map<string, Buffer> {
  return new Map(segments_of(dir).map((path) => [path, readFileSync(path)]));
}

/** Put the directory back as a crash would have left it when the journal
 *  was `files` (no checkpoint of what they hold). */
function as_crashed_with(dir: string, files: Map<string, Buffer>): void {
  rmSync(join(dir, CHECKPOINT_FILE), { force: true });
  for (const path of segments_of(dir)) rmSync(path);
  for (const [path, file] of files) writeFileSync(path, file);
}

/** Every batch of the journal, in order, each with its file. */
function batches_of(files: Map<string, Buffer>): Array<{ file: Buffer; batch: Batch }> {
  const all: Array<{ file: Buffer; batch: Batch }> = [];
  for (const file of files.values()) for (const batch of scan_journal(file, 0).batches) all.push({ file, batch });
  return all;
}

/** Replay every batch prefix of the journal; count the prefixes in which
 *  some user's balance is not the balance_after of any of that user's
 *  recorded transactions (an impossible state). */
function impossible_prefixes(files: Map<string, Buffer>, base_units: number): { prefixes: number; impossible: number } {
  const batches = batches_of(files);
  const balances = new Map<number, number>();
  const seen = new Map<number, Set<number>>(); // user -> balance_after values recorded so far
  let impossible = 0;
  for (const { file, batch } of batches) {
    const touched = new Set<number>();
    for (let i = 0; i < batch.record_count; i++) {
      const record = decode_record(file, batch.records_offset + i * L.JOURNAL_RECORD_BYTES);
      const delta = record.kind === L.KIND_BET ? -record.amount_units : record.amount_units;
      balances.set(record.user_slot, (balances.get(record.user_slot) ?? base_units) + delta);
      const values = seen.get(record.user_slot) ?? new Set<number>();
      values.add(record.balance_after_units);
      seen.set(record.user_slot, values);
      touched.add(record.user_slot);
    }
    for (const user of touched) {
      const now = balances.get(user) as number;
      if (now < 0 || !(seen.get(user) as Set<number>).has(now)) {
        impossible++;
        break;
      }
    }
  }
  return { prefixes: batches.length, impossible };
}

/** 2 workers hammer 2 users with bets and wins for `ms`; canary on or off
 *  in every thread. Returns the journal as it was before close() folded it
 *  into a checkpoint. */
async function contended_run(dir: string, canary: boolean, ms: number): Promise<Map<string, Buffer>> {
  const wallet = start({ dataDir: dir, maxUsers: 8, maxTransactions: 4_000_000, maxThreads: 8, initialBalance: 1_000_000 });
  createUsers(wallet, ['hot0', 'hot1']);
  set_epoch_after_cas(wallet, canary);
  const source = `
    import { parentPort, workerData } from 'node:worker_threads';
    import { attach, bet, win, durable, detach } from 'exwallet';
    import { set_epoch_after_cas } from 'exwallet/testing';
    const wallet = attach(workerData.handle);
    set_epoch_after_cas(wallet, workerData.canary);
    const end = Date.now() + workerData.ms;
    let n = 0;
    const id = (k) => (workerData.worker + 1).toString(16).padStart(8, '0') + '-0000-4000-8000-' + k.toString(16).padStart(12, '0');
    while (Date.now() < end) {
      for (let i = 0; i < 200; i++) {
        const user = 'hot' + (n % 2);
        const placed = { user, transaction_uuid: id(n++), request_uuid: id(0), currency: 'USD', amount: 1 + (n % 7) };
        bet(wallet, placed);
        if (n % 3 === 0) win(wallet, { ...placed, transaction_uuid: id(n++), amount: n % 5, reference_transaction_uuid: placed.transaction_uuid });
      }
      await durable(wallet);
    }
    detach(wallet);
    parentPort.postMessage('done');`;
  const handle = share(wallet);
  await Promise.all([0, 1].map((worker) => new Promise<void>((resolve, reject) => {
    const thread = new Worker(source, { eval: true, workerData: { handle, canary, ms, worker } });
    thread.once('message', () => resolve());
    thread.once('error', reject);
  })));
  await durable(wallet);
  const files = journal_files(dir);
  await close(wallet);
  return files;
}

test('C9.3 every prefix of whole batches (what a power loss can leave) is a state the users really had; the canary (epoch read after the compare-exchange) is caught', async () => {
  const good = impossible_prefixes(await contended_run(fresh_dir(), false, 1_500), 1_000_000);
  assert.ok(good.prefixes > 20, `only ${good.prefixes} batches were written`);
  assert.is(good.impossible, 0, `${good.impossible} of ${good.prefixes} prefixes are impossible states`);

  let caught = 0;
  let checked = 0;
  for (let attempt = 0; attempt < 3 && caught === 0; attempt++) {
    const bad = impossible_prefixes(await contended_run(fresh_dir(), true, 1_500), 1_000_000);
    checked += bad.prefixes;
    caught += bad.impossible;
  }
  assert.ok(caught > 0, `the canary went unnoticed in ${checked} prefixes: the checker cannot fail`);
});

test('C9.3 a torn or stale tail is truncated and the prefix recovered; damage in the middle refuses to open (EXWALLET_JOURNAL_CORRUPT)', async () => {
  const dir = fresh_dir();
  const wallet = start({ ...OPTIONS, dataDir: dir });
  createUsers(wallet, ['alice']);
  const ids = new Uuids();
  for (let round = 0; round < 5; round++) {
    assert.is(bet(wallet, betBody('alice', ids.tx(), 10, ids.req())).status, RS_OK);
    await durable(wallet);
  }
  const files = journal_files(dir);
  await close(wallet);
  assert.is(files.size, 1);
  const [[path, whole]] = [...files];
  const batches = scan_journal(whole, 0).batches;
  assert.is(batches.length, 5);

  // A torn last batch: cut inside it.
  as_crashed_with(dir, files);
  truncateSync(path, batches[4].offset + 70);
  let reopened = start({ dataDir: dir });
  assert.is(balance(reopened, { user: 'alice', request_uuid: 'r' }).balance, 960, 'four batches survive');
  assert.is(statSync(path).size, batches[4].offset, 'the torn tail was truncated');
  await close(reopened);

  // Stale garbage after the end: ignored and truncated.
  as_crashed_with(dir, new Map([[path, Buffer.concat([whole.subarray(0, batches[4].offset), Buffer.from('stale bytes of an older file')])]]));
  reopened = start({ dataDir: dir });
  assert.is(balance(reopened, { user: 'alice', request_uuid: 'r' }).balance, 960);
  await close(reopened);

  // A flipped byte in batch 2 with good batches after it: corruption in the middle.
  const damaged = Buffer.from(whole);
  damaged[batches[1].records_offset + 20] ^= 0xff;
  as_crashed_with(dir, new Map([[path, damaged]]));
  const error = thrown(() => start({ dataDir: dir }));
  assert.is(error.code, 'EXWALLET_JOURNAL_CORRUPT');
  assert.ok(existsSync(path), 'nothing was deleted');
  as_crashed_with(dir, files);
  reopened = start({ dataDir: dir });
  assert.is(balance(reopened, { user: 'alice', request_uuid: 'r' }).balance, 950);
  await close(reopened);
});

test('C9.2 a failing disk (ENOSPC, EIO) is fail-stop: durable() rejects EXWALLET_JOURNAL_FAILED, new transactions get RS_ERROR_UNKNOWN, and a restart recovers everything acknowledged', async () => {
  for (const errno of ['ENOSPC', 'EIO'] as const) {
    const dir = fresh_dir();
    const wallet = start_with_journal_faults({ ...OPTIONS, dataDir: dir }, { fail_after_writes: 2, errno });
    createUsers(wallet, ['alice']);
    const ids = new Uuids();
    const acked: Array<{ body: Record<string, unknown>; response: WalletResponse }> = [];
    let failure: (Error & { code?: string }) | undefined;
    for (let round = 0; round < 10 && !failure; round++) {
      const body = betBody('alice', ids.tx(), 10, ids.req());
      const response = bet(wallet, body);
      try {
        await durable(wallet);
        acked.push({ body, response });
      } catch (error) {
        failure = error as Error & { code?: string };
      }
    }
    assert.is(failure?.code, 'EXWALLET_JOURNAL_FAILED', errno);
    assert.is(acked.length, 2, 'two writes succeeded');
    const after = bet(wallet, betBody('alice', ids.tx(), 10, ids.req()));
    assert.is(after.status, RS_ERROR_UNKNOWN, 'no RS_OK after the failure');
    assert.is(stats(wallet).journalFailed, true);
    await close(wallet).then(() => assert.unreachable('close() must report the failed journal'), (error) => {
      assert.is((error as { code?: string }).code, 'EXWALLET_JOURNAL_FAILED');
    });
    const restarted = start({ dataDir: dir });
    for (const { body, response } of acked) assert.equal(bet(restarted, { ...body, request_uuid: ids.req() }), response);
    assert.is(balance(restarted, { user: 'alice', request_uuid: 'r' }).balance, 1_000 - 10 * acked.length);
    await close(restarted);
  }
});

test('C9.2 a slow disk delays durable() and never changes an answer', async () => {
  const dir = fresh_dir();
  const wallet = start_with_journal_faults({ ...OPTIONS, dataDir: dir }, { pause_ms: 30 });
  createUsers(wallet, ['alice']);
  const ids = new Uuids();
  const started_ms = performance.now();
  const body = betBody('alice', ids.tx(), 10, ids.req());
  assert.is(bet(wallet, body).balance, 990);
  await durable(wallet);
  assert.ok(performance.now() - started_ms >= 25, 'durable() waited for the slow flush');
  assert.is(bet(wallet, { ...body, request_uuid: ids.req() }).balance, 990);
  await close(wallet);
});

test('C9.2 durable() waits for what a read observed: a balance read or a replay after a bet in another thread', async () => {
  const dir = fresh_dir();
  const wallet = start({ ...OPTIONS, dataDir: dir });
  createUsers(wallet, ['alice']);
  const ids = new Uuids();
  const body = betBody('alice', ids.tx(), 10, ids.req());
  assert.is(bet(wallet, body).status, RS_OK);
  // A read-only answer has a ticket too: durable() after it resolves only
  // once the epoch it read in is on disk.
  assert.is(balance(wallet, { user: 'alice', request_uuid: 'r' }).balance, 990);
  await durable(wallet);
  const figures = stats(wallet);
  assert.ok(figures.durableEpoch >= 1 && figures.journalPendingRecords === 0, JSON.stringify(figures));
  await close(wallet);
});

test('C9.5 recovery starts from the newest checkpoint: segments are folded into it in the background, a crash at any step of writing one loses nothing, and close() leaves only a checkpoint', async () => {
  const dir = fresh_dir();
  // Tiny segments: a checkpoint every few batches.
  const wallet = start_with_journal_faults({ ...OPTIONS, dataDir: dir }, { segment_bytes_max: 2_000 });
  createUsers(wallet, ['alice', 'bob']);
  const ids = new Uuids();
  const answers: Array<{ body: Record<string, unknown>; response: WalletResponse }> = [];
  for (let round = 0; round < 60; round++) {
    const body = betBody(round % 2 ? 'alice' : 'bob', ids.tx(), 1, ids.req());
    answers.push({ body, response: bet(wallet, body) });
    if (round % 3 === 0) await durable(wallet);
  }
  await durable(wallet);
  await new Promise((resolve) => setTimeout(resolve, 300)); // let a background checkpoint finish
  assert.ok(existsSync(join(dir, CHECKPOINT_FILE)), 'a checkpoint was written while the wallet ran');
  assert.ok(segments_of(dir).length <= 3, `folded segments were deleted (${segments_of(dir).length} left)`);
  const before_close = journal_files(dir);
  const checkpoint_before = readFileSync(join(dir, CHECKPOINT_FILE));
  await close(wallet);
  assert.equal(segments_of(dir).map((path) => readFileSync(path).length), [0], 'close folded the journal into the checkpoint');

  const check = async (context: string) => {
    const reopened = start({ dataDir: dir });
    for (const { body, response } of answers) assert.equal(bet(reopened, { ...body, request_uuid: ids.req() }), response, context);
    assert.is(stats(reopened).transactions, 60, context);
    assert.ok(audit(reopened).ok, context);
    await close(reopened);
  };
  await check('after close');
  // A crash after the rename of a new checkpoint but before its segments were
  // deleted: the segments' batches are in the checkpoint and are skipped.
  for (const [path, file] of before_close) writeFileSync(path, file);
  writeFileSync(join(dir, CHECKPOINT_FILE), checkpoint_before);
  await check('checkpoint plus segments it already holds');
  // A crash while writing one: a half-written tmp file is ignored.
  writeFileSync(join(dir, `${CHECKPOINT_FILE}.tmp`), Buffer.from('half a checkpoint'));
  await check('a torn checkpoint.tmp');
});

test('C9.4 a worker killed mid-call stalls durability only until audit({ deadThreadIds }) decides its call, at every crash point; what audit decided is what a restart recovers', async () => {
  const points = [L.CRASH_AFTER_CLAIM, L.CRASH_AFTER_SETTLE_BEGIN, L.CRASH_BEFORE_JOURNAL, L.CRASH_AFTER_BALANCE, L.CRASH_AFTER_COMMIT];
  for (const point of points) {
    const dir = fresh_dir();
    const wallet = start({ ...OPTIONS, dataDir: dir, twinWaitMs: 100 });
    createUsers(wallet, ['alice', 'bob']);
    const ids = new Uuids();
    const placed = betBody('alice', ids.tx(), 100, ids.req());
    assert.is(bet(wallet, placed).status, RS_OK);
    await durable(wallet);
    // The dying call: a win settling that bet (so SETTLE_BEGIN is reached), in a worker that then hangs.
    const dying = winBody('alice', ids.tx(), placed.transaction_uuid, 40, ids.req());
    const source = `
      import { parentPort, workerData } from 'node:worker_threads';
      import { attach, win } from 'exwallet';
      import { inject_crash } from 'exwallet/testing';
      const wallet = attach(workerData.handle);
      inject_crash(wallet, workerData.point);
      try { win(wallet, workerData.body); } catch { parentPort.postMessage('died'); }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);`;
    const worker = new Worker(source, { eval: true, workerData: { handle: share(wallet), point, body: dying } });
    const thread_id = worker.threadId;
    await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
    await worker.terminate();
    // bob's bet is independent of the dead call, yet its durable() waits: the
    // dead call's epoch cannot close (for the points past the claim's announce).
    assert.is(bet(wallet, betBody('bob', ids.tx(), 5, ids.req())).status, RS_OK);
    let resolved = false;
    const waited = durable(wallet).then(() => { resolved = true; });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.is(resolved, false, `point ${point}: durability waits for the dead call`);
    const report = audit(wallet, { deadThreadIds: [thread_id] });
    assert.ok(report.ok, `point ${point}: ${report.findings.join('; ')}`);
    assert.is(report.inFlightCommitted + report.inFlightReleased, point === L.CRASH_AFTER_COMMIT ? 0 : 1, `point ${point}: one dead claim decided`);
    await waited; // resumes
    const applied = lookup(wallet, dying.transaction_uuid as string) !== undefined;
    const moved = [L.CRASH_BEFORE_JOURNAL, L.CRASH_AFTER_BALANCE, L.CRASH_AFTER_COMMIT].includes(point);
    assert.is(applied, moved, `point ${point}: the ledger says whether the win moved money`);
    const alice = balance(wallet, { user: 'alice', request_uuid: 'r' }).balance;
    await close(wallet);
    const reopened = start({ dataDir: dir });
    assert.is(balance(reopened, { user: 'alice', request_uuid: 'r' }).balance, alice, `point ${point}: restart agrees with audit`);
    assert.is(lookup(reopened, dying.transaction_uuid as string) !== undefined, applied, `point ${point}: the dead win is recovered iff audit committed it`);
    assert.is(balance(reopened, { user: 'bob', request_uuid: 'r' }).balance, 995);
    assert.ok(audit(reopened).ok);
    await close(reopened);
  }
});

test('C9.6 close() with a worker that died inside a call and was never audited: close decides the call, flushes and releases the directory; the restart agrees', async () => {
  const dir = fresh_dir();
  const wallet = start({ ...OPTIONS, dataDir: dir, twinWaitMs: 100 });
  createUsers(wallet, ['alice']);
  const ids = new Uuids();
  const dying = betBody('alice', ids.tx(), 70, ids.req());
  const source = `
    import { parentPort, workerData } from 'node:worker_threads';
    import { attach, bet } from 'exwallet';
    import { inject_crash } from 'exwallet/testing';
    const wallet = attach(workerData.handle);
    inject_crash(wallet, workerData.point);
    try { bet(wallet, workerData.body); } catch { parentPort.postMessage('died'); }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);`;
  const worker = new Worker(source, { eval: true, workerData: { handle: share(wallet), point: L.CRASH_BEFORE_JOURNAL, body: dying } });
  await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  await worker.terminate();
  const other = betBody('alice', ids.tx(), 5, ids.req());
  assert.is(bet(wallet, other).status, RS_OK);
  await close(wallet); // must not hang on the dead call's epoch
  const reopened = start({ dataDir: dir });
  assert.is(balance(reopened, { user: 'alice', request_uuid: 'r' }).balance, 1_000 - 70 - 5, 'the dead bet had moved the money: it is kept');
  assert.ok(lookup(reopened, dying.transaction_uuid as string), 'and journaled');
  assert.ok(audit(reopened).ok);
  await close(reopened);
});

test('C9.1 a dataDir that cannot be created is a RangeError that says why (not a hang)', () => {
  const error = thrown(() => start({ dataDir: '/proc/exwallet-cannot-exist/x' }));
  assert.instance(error, RangeError);
  assert.is(error.code, 'EXWALLET_BAD_OPTION');
});

test.run();

