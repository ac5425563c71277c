// The benchmark suite still runs and still measures what it claims to: a
// tiny run of every suite (as a child process, with a deadline) produces a
// well-formed result, every call in it got the status the suite expected,
// and peer (a) answers exactly like exwallet. No timing is asserted.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check_parity } from '../bench/peers/parity.js';
import { compute_targets, SCHEMA, type BenchResults } from '../bench/report.js';
import type { DurableResult } from '../bench/durable.js';

const MAIN = fileURLToPath(new URL('../bench/main.js', import.meta.url));
const RUN_DEADLINE_MS = 60_000;

function run_tiny(out: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--expose-gc', MAIN, '--tiny', '--out', out, '--seed', String(1 + Math.floor(Math.random() * 1e6))],
      { timeout: RUN_DEADLINE_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

const positive = (value: unknown, what: string) =>
  assert.ok(typeof value === 'number' && Number.isFinite(value) && value > 0, `${what} is a positive number, got ${String(value)}`);

test('peer (a) answers every scripted call exactly as exwallet does (else comparing speeds is meaningless)', () => {
  const report = check_parity();
  assert.ok(report.calls >= 30, 'the script covers the statuses of the contract');
  assert.equal(report.mismatches, []);
  assert.is(report.equal, report.calls);
});

test('a target is met only on its side of the goal', () => {
  const base = { ratios: {}, single: undefined } as unknown as BenchResults;
  const slow = compute_targets({ ...base, single: { exwallet: { calls_per_s: 2_499_999 } } } as unknown as BenchResults);
  const fast = compute_targets({ ...base, single: { exwallet: { calls_per_s: 2_500_000 } } } as unknown as BenchResults);
  const pick = (targets: ReturnType<typeof compute_targets>) => targets.find((t) => t.id === 'single_thread_bets_per_s')!;
  assert.is(pick(slow).met, false);
  assert.is(pick(fast).met, true);
  assert.is(compute_targets(base).find((t) => t.id === 'p99_ns')!.met, null, 'a figure not measured is neither met nor missed');
});

test('a tiny run of every suite writes well-formed results in which every call got its expected status', async () => {
  const out = mkdtempSync(join(tmpdir(), 'exwallet-bench-'));
  try {
    const run = await run_tiny(out);
    assert.ok(run.code === 0, `bench exited ${run.code}; end of its stdout and stderr:\n${run.stdout.slice(-1500)}\n${run.stderr.slice(-1500)}`);
    assert.match(run.stdout, /issue #4 target/);

    const r = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchResults;
    assert.is(r.schema, SCHEMA);
    assert.is(r.mode, 'tiny');
    assert.equal(r.checks.problems, [], 'no suite saw an unexpected status, a failed setup or a wrapped pool');
    assert.is(r.checks.parity!.equal, r.checks.parity!.calls);

    positive(r.single!.exwallet.calls_per_s, 'exwallet single-thread rate');
    positive(r.single!.map_wallet.calls_per_s, 'map_wallet single-thread rate');
    assert.equal(r.workers!.map((w) => w.workers), [1, 2]);
    for (const w of r.workers!) {
      assert.is(w.per_worker.length, w.workers, 'one result per worker');
      assert.is(w.ok, w.calls, 'every worker bet applied');
      positive(w.calls_per_s, `${w.workers}-worker rate`);
    }
    assert.equal(r.scaling_controls!.map((w) => `${w.mode} ${w.workers}`), ['private 1', 'private 2', 'js 1', 'js 2', 'compute 1', 'compute 2']);
    assert.equal(r.owner_thread!.map((o) => o.clients), [1, 2]);
    for (const o of r.owner_thread!) assert.is(o.ok, o.calls, 'every request through the owner thread applied');

    const ops = ['bet', 'win', 'replay', 'conflict', 'rollback', 'balance'];
    for (const op of ops) {
      for (const impl of ['exwallet', 'map_wallet']) {
        const c = r.benny!.find((x) => x.op === op && x.impl === impl);
        assert.ok(c, `benny case ${op} ${impl} present`);
        positive(c!.ops_per_s, `benny ${op} ${impl}`);
        assert.ok(c!.calls > 0 && c!.fresh && c!.unexpected_statuses === 0, `benny ${op} ${impl} measured fresh, expected answers`);
      }
    }

    for (const levels of [r.latency!.exwallet, r.latency!.map_wallet]) {
      assert.is(levels.length, 2);
      for (const l of levels) {
        assert.is(l.ok, l.calls);
        assert.ok(l.p50_ns <= l.p99_ns && l.p99_ns <= l.p999_ns && l.p999_ns <= l.max_ns, 'percentiles are ordered');
        assert.ok(l.gc.count >= 0 && l.gc.max_ms <= l.gc.total_ms + 1e-9, 'gc summary is consistent');
      }
    }

    const layout = r.memory!.layout as { shared_bytes_per_tx?: number };
    positive(layout.shared_bytes_per_tx, 'shared bytes per tx from the layout');
    assert.ok(Number.isFinite(r.memory!.exwallet.heap_used_bytes_per_tx) && Number.isFinite(r.memory!.map_wallet.heap_used_bytes_per_tx));

    assert.ok(!('error' in r.breakdown!), `breakdown ran: ${JSON.stringify(r.breakdown)}`);
    const breakdown = r.breakdown as Exclude<BenchResults['breakdown'], { error: string } | undefined>;
    assert.equal(breakdown.parts.map((p) => p.stage).slice(0, 6), ['loop', 'validate', 'user', 'records', 'apply', 'response']);
    assert.is(breakdown.ok_apply, breakdown.calls);
    assert.is(r.profile!.ok, r.profile!.calls);

    assert.equal(r.targets.map((t) => t.id), [
      'single_thread_bets_per_s', 'exwallet_over_map_wallet', 'workers_2_over_1', 'workers_2_over_owner_thread_2',
      'p99_ns', 'p999_ns', 'shared_bytes_per_tx', 'heap_bytes_per_tx',
    ]);
    for (const t of r.targets) assert.ok(t.value !== null && typeof t.met === 'boolean', `target ${t.id} has a figure`);

    // The durable suite writes its own file (durable.json): every peer measured, every call applied.
    const d = JSON.parse(readFileSync(join(out, 'durable.json'), 'utf8')) as { durable: DurableResult };
    assert.equal(d.durable.problems, []);
    for (const peer of ['exwallet durable', 'exwallet memory', "(a') map + JSON lines"]) {
      assert.ok(d.durable.throughput.some((row) => row.peer === peer), `a throughput row for ${peer}`);
    }
    for (const row of d.durable.throughput) {
      assert.is(row.ok, row.calls, `${row.peer} ${row.mode} ${row.group}: every bet applied`);
      positive(row.calls_per_s, `${row.peer} ${row.mode} ${row.group} rate`);
      if (row.peer === 'exwallet durable') assert.ok(row.journal && row.journal.journal_records > 0, 'the journal of a durable run holds its records');
    }
    assert.equal(d.durable.throughput.filter((row) => row.per_worker).map((row) => `${row.peer} ${row.threads}`).slice(0, 4),
      ['exwallet durable 1', 'exwallet durable 2', 'exwallet memory 1', 'exwallet memory 2']);
    for (const row of d.durable.latency) {
      assert.ok(row.latency.p50_ns <= row.latency.p99_ns && row.latency.p99_ns <= row.latency.max_ns, 'durable latency percentiles are ordered');
    }
    assert.is(d.durable.recovery!.recovered, d.durable.recovery!.transactions, 'recovery found every durable transaction');
    assert.ok('skipped' in d.durable.postgres, 'a tiny run does not start PostgreSQL');
    assert.match(readFileSync(join(out, 'durable.svg'), 'utf8'), /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);

    const svg = readFileSync(join(out, 'throughput.svg'), 'utf8');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    const bars = svg.match(/<rect x=/g) ?? [];
    assert.is(bars.length, 1 + r.workers!.length + 1 + r.owner_thread!.length, 'one bar per throughput figure');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
