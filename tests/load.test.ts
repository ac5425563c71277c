// The load runner (npm start / exwallet load) as a user runs it: a child
// process of the `exwallet` bin, its JSON report and its exit code. Every run
// has a deadline: a hung runner fails the test instead of hanging it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, createUsers, type WalletResponse } from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import { STATUS_NAMES } from '../load/messages.js';
import { SCENARIOS, SessionMix, K_BET, K_WIN, K_ROLLBACK, type Client } from '../load/mix.js';
import type { LoadReport } from '../load/report.js';
import { Random } from '../tools/random.js';
import {
  histogram_create, histogram_record, histogram_add, histogram_percentile_ns, histogram_count, bucket_of, bucket_value_ns,
  HISTOGRAM_BUCKETS,
} from '../load/histogram.js';

const BIN = fileURLToPath(new URL('../bin/exwallet.js', import.meta.url));
// Any seed must pass; LOAD_TEST_SEED=n replays another mix.
const SEED = String(Number(process.env.LOAD_TEST_SEED ?? 1) >>> 0);
// Small wallets: the default table is sized for a 10 s run.
const SMALL = ['--users', '1000', '--max-transactions', '1000000'];

interface Run { code: number | null; stdout: string; stderr: string }

/** `exwallet ...args`; `on_stderr` sees stderr as it arrives (with the child, to signal it). */
function run_load(
  args: string[], deadline_ms = 60_000, on_stderr?: (text: string, child: import('node:child_process').ChildProcess) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      on_stderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`exwallet load ${args.join(' ')}: no exit within ${deadline_ms} ms\n${stderr}`));
    }, deadline_ms);
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

function parse_report(run: Run): LoadReport {
  try {
    return JSON.parse(run.stdout) as LoadReport; // the whole stdout: nothing else may be there
  } catch {
    throw new Error(`stdout is not one JSON report:\n${run.stdout}\nstderr:\n${run.stderr}`);
  }
}

test('seeded uuids are canonical lowercase v4, distinct, and the same for the same seed and stream', () => {
  const canonical = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const [a, b, other_stream] = [new Random(42, 1), new Random(42, 1), new Random(42, 2)];
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const uuid = a.uuid();
    assert.ok(canonical.test(uuid), uuid);
    assert.is(b.uuid(), uuid);
    seen.add(uuid);
    seen.add(other_stream.uuid());
  }
  assert.is(seen.size, 40_000, 'no repeats within or across streams');
});

test('latency histogram: every value lands in a bucket within 1/32 of it; percentiles and merges are exact in count', () => {
  for (let v = 0; v < 2 ** 31; v = Math.floor(v * 1.01) + 1) {
    const index = bucket_of(v);
    assert.ok(index >= 0 && index < HISTOGRAM_BUCKETS, `bucket of ${v}`);
    assert.ok(Math.abs(bucket_value_ns(index) - v) <= Math.max(0.5, v / 32), `${v} -> ${bucket_value_ns(index)}`);
  }
  const [low, high] = [histogram_create(), histogram_create()];
  for (let i = 1; i <= 990; i++) histogram_record(low, 1_000); //   99 % of calls at 1 µs
  for (let i = 1; i <= 10; i++) histogram_record(high, 50_000); //  1 % at 50 µs
  const both = histogram_create();
  histogram_add(both, low);
  histogram_add(both, high);
  assert.is(histogram_count(both), 1_000);
  assert.ok(Math.abs(histogram_percentile_ns(both, 99) - 1_000) <= 1_000 / 32, 'p99 is the 990th value');
  assert.ok(Math.abs(histogram_percentile_ns(both, 99.9) - 50_000) <= 50_000 / 32, 'p99.9 is in the slow tail');
  assert.is(histogram_percentile_ns(both, 100), 50_000, 'the maximum is exact');
});

test('a 1 s run of two workers passes every check, with every status and scenario of the mix', async () => {
  const run = await run_load(['load', '--workers', '2', '--seconds', '1', '--json', '--seed', SEED, ...SMALL]);
  const report = parse_report(run);
  for (const [name, check] of Object.entries(report.checks) as [string, { ok: boolean }][]) assert.ok(check.ok, `check ${name}: ${JSON.stringify(check)}`);
  assert.ok(report.ok);
  assert.is(run.code, 0, run.stderr);
  assert.is(report.workers, 2);
  assert.is(report.seed, Number(SEED));
  for (const status of STATUS_NAMES) {
    if (status === 'other') assert.is(report.statuses[status], 0, 'only Hub88 statuses are answered');
    else assert.ok(report.statuses[status] > 0, `${status} appeared`);
  }
  for (const [name] of SCENARIOS) assert.ok(report.scenarios[name].calls > 0, `scenario ${name} ran`);
  assert.ok(report.calls_per_second > 0);
  assert.ok(report.checks.exactly_once.contested_replayed_answers as number > 0, 'some contested bets met their twin');
  const l = report.latency_us;
  assert.ok(l.p50 > 0 && l.p50 <= l.p99 && l.p99 <= l.p99_9 && l.p99_9 <= l.max, JSON.stringify(l));
  // Every call is one status: the counts add up.
  assert.is(Object.values(report.statuses).reduce((a: number, b: number) => a + b, 0), report.calls);
});

/** Every request one worker's mix sends in `rounds` rounds, with its answer,
 *  against a fresh wallet of its own: the whole sequence, byte for byte. */
function mix_transcript(seed: number, rounds: number): string[] {
  const users = Array.from({ length: 50 }, (_, i) => `player-${i}`);
  const wallet = start({ maxUsers: 64, maxTransactions: 100_000, maxThreads: 4 });
  createUsers(wallet, users);
  const mix = new SessionMix({ seed, worker_index: 0, users, initial_balance_units: 100_000, currency: 'USD' });
  const transcript: string[] = [];
  // Malformed bodies carry bigints and symbols: spelled out, not dropped.
  const spell = (_key: string, value: unknown) => (typeof value === 'bigint' || typeof value === 'symbol' ? `<${String(value)}>` : value);
  const client: Client = {
    send(_scenario, kind, body) {
      const answer: WalletResponse =
        kind === K_BET ? bet(wallet, body) : kind === K_WIN ? win(wallet, body) :
        kind === K_ROLLBACK ? rollback(wallet, body) : balance(wallet, body);
      transcript.push(JSON.stringify([kind, body, answer], spell));
      return answer;
    },
  };
  for (let round = 0; round < rounds; round++) mix.play_round(client);
  return transcript;
}

test('--seed replays the mix exactly: the same requests (every uuid and id) and answers; another seed, others', () => {
  const [first, second, other] = [mix_transcript(7, 2_000), mix_transcript(7, 2_000), mix_transcript(8, 2_000)];
  assert.ok(first.length > 2_000, `${first.length} requests`);
  assert.equal(second, first);
  assert.ok(other.length > 2_000);
  assert.is.not(other[0], first[0], 'another seed, another first request');
  const first_set = new Set(first);
  assert.ok(other.filter((line) => first_set.has(line)).length < other.length / 100, 'another seed shares almost nothing');
});

test('one worker with --seed and --ops sends the same mix every run', async () => {
  const args = ['load', '--workers', '1', '--ops', '20000', '--seed', '7', '--json', ...SMALL];
  const [first, second] = [parse_report(await run_load(args)), parse_report(await run_load(args))];
  assert.ok(first.ok && second.ok);
  assert.equal(first.statuses, second.statuses);
  assert.equal(first.scenarios, second.scenarios);
  assert.is(first.applied_transactions, second.applied_transactions);
  const other = parse_report(await run_load(['load', '--workers', '1', '--ops', '20000', '--seed', '8', '--json', ...SMALL]));
  assert.not.equal(other.scenarios, first.scenarios, 'another seed, another mix');
});

test('canary: a falsified balance and retry check make the money, exactly-once and audit checks fail, exit 1', async () => {
  const run = await run_load(['load', '--workers', '2', '--ops', '20000', '--seed', '3', '--json', '--canary', ...SMALL]);
  const report = parse_report(run);
  assert.is(run.code, 1);
  assert.not.ok(report.ok);
  assert.not.ok(report.checks.money_conserved.ok);
  assert.is(report.checks.money_conserved.users_mismatched, 1);
  assert.not.ok(report.checks.exactly_once.ok);
  assert.is(report.checks.exactly_once.replay_mismatches, 1);
  assert.not.ok(report.checks.audit.ok);
  assert.ok(report.checks.expected_statuses.ok, 'the canary touches nothing else');
});

test('bad flags exit 2 with ONE line naming the problem and the hint, and nothing on stdout', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--workers', '0'], /--workers must be from 1/],
    [['--workers', 'two'], /--workers must be an integer/],
    [['--seconds', 'abc'], /--seconds must be a number/],
    // A negative number is a value, checked by the rule (not parseArgs' "argument is ambiguous").
    [['--seconds', '-1'], /--seconds must be a number of seconds above 0 .*got "-1"/],
    [['--seconds', '-0.5'], /--seconds must be a number of seconds above 0/],
    [['--workers', '-3'], /--workers must be from 1 to 256, got -3/],
    [['--seconds', '1', '--ops', '10'], /--seconds or --ops, not both/],
    [['--bogus'], /unknown flag --bogus/],
    [['--bogus', '3'], /unknown flag --bogus/],
    [['--seed'], /--seed needs a value/],
    [['--json=yes'], /--json takes no value/],
    [['serve'], /unexpected argument "serve"/],
    [['--data-dir', ''], /--data-dir needs a directory path/],
    [['--data-dir'], /--data-dir needs a value/],
    [['--batch', '64'], /--batch is for durable runs: give --data-dir too/],
  ];
  for (const [flags, message] of cases) {
    const args = ['load', ...flags];
    const run = await run_load(args, 20_000);
    assert.is(run.code, 2, `${args.join(' ')}: exit code`);
    assert.match(run.stderr, message, args.join(' '));
    assert.is(run.stderr.trimEnd().split('\n').length, 1, `${args.join(' ')}: one line, got\n${run.stderr}`);
    assert.match(run.stderr, /^exwallet load: .*\(run exwallet load --help\)\n$/, `${args.join(' ')}: the hint`);
    assert.not.match(run.stderr, /argument is ambiguous|positional|Usage:/, args.join(' '));
    assert.is(run.stdout, '', `${args.join(' ')}: stdout empty`);
  }
});

test('exwallet load --help prints the usage on stdout and exits 0', async () => {
  const run = await run_load(['load', '--help'], 20_000);
  assert.is(run.code, 0);
  assert.match(run.stdout, /Usage: exwallet load/);
  for (const flag of ['--workers', '--users', '--seconds', '--ops', '--seed', '--json', '--data-dir', '--batch']) assert.ok(run.stdout.includes(flag), flag);
});

test('exwallet --help lists the commands; an unknown command is one line and exit 2', async () => {
  const help = await run_load(['--help'], 20_000);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Usage: exwallet <command>/);
  assert.match(help.stdout, /\n  load /);
  for (const args of [['frobnicate'], ['frobnicate', '--workers', '2'], []]) {
    const run = await run_load(args, 20_000);
    assert.is(run.code, 2, `exwallet ${args.join(' ')}: exit code`);
    assert.is(run.stderr.trimEnd().split('\n').length, 1, `exwallet ${args.join(' ')}: one line, got\n${run.stderr}`);
    assert.match(run.stderr, /^exwallet: .*\(run exwallet --help\)\n$/);
    assert.is(run.stdout, '');
  }
  const serve = await run_load(['serve'], 20_000);
  assert.is(serve.code, 2);
  // exwallet serve exists now (tests/serve.test.ts): without a key it is a bad command line.
  assert.match(serve.stderr, /^exwallet serve: --hub88-public-key FILE is required .*\(run exwallet serve --help\)\n$/);
});

test('a run that made no call fails: "FAIL: no calls were made", exit 1', async () => {
  // 1 ns of run time: every worker is past its deadline before its first call.
  const run = await run_load(['load', '--workers', '1', '--seconds', '0.000001', '--seed', SEED, ...SMALL]);
  assert.is(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /FAIL: no calls were made\n$/);
  assert.not.match(run.stdout, /PASS/);
  const json = await run_load(['load', '--workers', '1', '--seconds', '0.000001', '--json', '--seed', SEED, ...SMALL]);
  const report = parse_report(json);
  assert.is(json.code, 1);
  assert.is(report.calls, 0);
  assert.not.ok(report.ok);
  assert.not.ok(report.checks.calls_made.ok);
});

test('Ctrl-C (SIGINT) mid-run prints the partial report and exits 130, not PASS', async () => {
  let signalled = false;
  const run = await run_load(['load', '--workers', '2', '--seconds', '60', '--seed', SEED, ...SMALL], 60_000, (stderr, child) => {
    // The first progress line says the workers are calling: interrupt then.
    if (!signalled && /calls/.test(stderr.split('\n').slice(1).join('\n'))) {
      signalled = true;
      child.kill('SIGINT');
    }
  });
  assert.ok(signalled, `no progress seen:\n${run.stderr}`);
  assert.is(run.code, 130, run.stdout + run.stderr);
  assert.match(run.stdout, /stopped by interrupt/);
  assert.match(run.stdout, /\nINTERRUPTED: a partial run; the checks above cover its [\d,]+ calls \(all passed\)\n$/);
  assert.not.match(run.stdout, /PASS/);
});

// Durable runs (--data-dir) ------------------------------------------------------

const dirs: string[] = [];
function fresh_dir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'exwallet-load-'));
  dirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test('--data-dir: a tiny durable run acknowledges every answer after durable(), then restarts on the directory and finds every acknowledged transaction again', async () => {
  const dir = join(fresh_dir(), 'wallet'); // created by the run
  const run = await run_load(['load', '--workers', '2', '--ops', '6000', '--batch', '100', '--seed', SEED, '--json', '--data-dir', dir, ...SMALL]);
  const report = parse_report(run);
  for (const [name, check] of Object.entries(report.checks) as [string, { ok: boolean }][]) assert.ok(check.ok, `check ${name}: ${JSON.stringify(check)}`);
  assert.is(run.code, 0, run.stderr);
  const durable = report.durable!;
  const restart = report.restart!;
  assert.ok(durable && restart, 'the durable figures and the restart check are in the report');
  assert.is(durable.acknowledged_calls, report.calls, 'every answer was acknowledged');
  assert.ok(durable.waits >= report.calls / (2 * 100), `${durable.waits} durable() waits for ${report.calls} calls in batches of 100`);
  const w = durable.wait_us;
  assert.ok(w.p50 > 0 && w.p50 <= w.p99 && w.p99 <= w.p99_9 && w.p99_9 <= w.max, JSON.stringify(w));
  assert.ok(durable.acknowledged_per_second > 0);
  assert.ok(restart.ok, JSON.stringify(restart));
  assert.ok(restart.transactions_before > 0);
  assert.is(restart.transactions_recovered, restart.transactions_before, 'close wrote everything');
  assert.is(restart.sampled, restart.acknowledged_transactions, 'fewer than 20k: all of them replayed');
  assert.is(restart.replay_mismatches, 0);
  assert.is(restart.balance_mismatches, 0);
  assert.is(restart.users_checked, 1000);
  assert.ok(restart.audit_ok);
  assert.ok(readdirSync(dir).length > 0, 'the wallet is left in the directory');

  // The text report says it too, and a directory that holds a wallet is refused.
  const text = await run_load(['load', '--workers', '1', '--ops', '2000', '--seed', SEED, '--data-dir', join(fresh_dir(), 'w'), ...SMALL]);
  assert.is(text.code, 0, text.stdout + text.stderr);
  assert.match(text.stdout, /\ndurable +[\d,]+ answers acknowledged after durable\(\): [\d,]+ durable answers\/s/);
  assert.match(text.stdout, /\ndurable\(\) +p50 [\d.]+ (µs|ms) +p99 [\d.]+ (µs|ms) +p99\.9 [\d.]+ (µs|ms)/);
  assert.match(text.stdout, /\nrestart +close \d+ ms, recovery \d+ ms: ([\d,]+) of \1 transactions back/);
  assert.match(text.stdout, /\n  ok   restart: [\d,]+ of [\d,]+ acknowledged transactions replayed, 0 with another answer; 1,000 balances, 0 not as before the restart, 0 negative;.* audit ok\n/);
  assert.match(text.stdout, /\nPASS: every check passed\n$/);
  const again = await run_load(['load', '--ops', '10', '--data-dir', dir, ...SMALL], 20_000);
  assert.is(again.code, 2);
  assert.match(again.stderr, /^exwallet load: --data-dir .* is not empty: a load run needs a new or empty directory .*\(run exwallet load --help\)\n$/);
});

test('--data-dir: a path that cannot be a directory is one line naming it and exit 2, with nothing on stdout', async () => {
  const file = join(fresh_dir(), 'a-file');
  writeFileSync(file, 'not a directory');
  const cases: Array<[string, RegExp]> = [
    [file, /--data-dir .*a-file is not a directory/],
    [join(file, 'below'), /--data-dir .*below: ENOTDIR/],
    // mkdir fails under an existing parent (Node 20's recursive mkdir loops there forever).
    ...(process.platform === 'linux' ? [['/proc/exwallet-load-test', /--data-dir \/proc\/exwallet-load-test: ENOENT/] as [string, RegExp]] : []),
  ];
  for (const [path, message] of cases) {
    const run = await run_load(['load', '--seconds', '1', '--data-dir', path, ...SMALL], 20_000);
    assert.is(run.code, 2, `${path}: exit code\n${run.stderr}`);
    assert.match(run.stderr, message, path);
    assert.is(run.stderr.trimEnd().split('\n').length, 1, `${path}: one line, got\n${run.stderr}`);
    assert.match(run.stderr, /^exwallet load: .*\(run exwallet load --help\)\n$/);
    assert.is(run.stdout, '', `${path}: stdout empty`);
  }
});

test.run();
