// The load runner (npm start / exwallet load) as a user runs it: a child
// process, its JSON report and its exit code. Every run has a deadline: a
// hung runner fails the test instead of hanging it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { STATUS_NAMES } from '../src/load/messages.js';
import { SCENARIOS } from '../src/load/mix.js';
import type { LoadReport } from '../src/load/report.js';
import { Random } from '../src/load/random.js';
import {
  histogram_create, histogram_record, histogram_add, histogram_percentile_ns, histogram_count, bucket_of, bucket_value_ns,
  HISTOGRAM_BUCKETS,
} from '../src/load/histogram.js';

const MAIN = fileURLToPath(new URL('../src/load/main.js', import.meta.url));
// Any seed must pass; LOAD_TEST_SEED=n replays another mix.
const SEED = String(Number(process.env.LOAD_TEST_SEED ?? 1) >>> 0);
// Small wallets: the default table is sized for a 10 s run.
const SMALL = ['--users', '1000', '--max-transactions', '1000000'];

interface Run { code: number | null; stdout: string; stderr: string }

function run_load(args: string[], deadline_ms = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
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
  for (const [name, check] of Object.entries(report.checks)) assert.ok(check.ok, `check ${name}: ${JSON.stringify(check)}`);
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
  assert.is(Object.values(report.statuses).reduce((a, b) => a + b, 0), report.calls);
});

test('one worker with --seed and --ops sends the same mix every run', async () => {
  const args = ['--workers', '1', '--ops', '20000', '--seed', '7', '--json', ...SMALL];
  const [first, second] = [parse_report(await run_load(args)), parse_report(await run_load(args))];
  assert.ok(first.ok && second.ok);
  assert.equal(first.statuses, second.statuses);
  assert.equal(first.scenarios, second.scenarios);
  assert.is(first.applied_transactions, second.applied_transactions);
  const other = parse_report(await run_load(['--workers', '1', '--ops', '20000', '--seed', '8', '--json', ...SMALL]));
  assert.not.equal(other.scenarios, first.scenarios, 'another seed, another mix');
});

test('canary: a falsified balance and retry check make the money, exactly-once and audit checks fail, exit 1', async () => {
  const run = await run_load(['--workers', '2', '--ops', '20000', '--seed', '3', '--json', '--canary', ...SMALL]);
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

test('bad flags exit 2 with a message naming the problem and the usage, and nothing on stdout', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--workers', '0'], /--workers must be from 1/],
    [['--workers', 'two'], /--workers must be an integer/],
    [['--seconds', 'abc'], /--seconds must be a number/],
    [['--seconds', '1', '--ops', '10'], /--seconds or --ops, not both/],
    [['--bogus'], /bogus/],
    [['--seed'], /--seed/],
    [['serve'], /unexpected argument "serve"/],
  ];
  for (const [args, message] of cases) {
    const run = await run_load(args, 20_000);
    assert.is(run.code, 2, `${args.join(' ')}: exit code`);
    assert.match(run.stderr, message, args.join(' '));
    assert.match(run.stderr, /Usage: exwallet load/, `${args.join(' ')}: usage shown`);
    assert.is(run.stdout, '', `${args.join(' ')}: stdout empty`);
  }
});

test('--help prints the usage on stdout and exits 0', async () => {
  const run = await run_load(['--help'], 20_000);
  assert.is(run.code, 0);
  assert.match(run.stdout, /Usage: exwallet load/);
  for (const flag of ['--workers', '--users', '--seconds', '--ops', '--seed', '--json']) assert.ok(run.stdout.includes(flag), flag);
});

test.run();
