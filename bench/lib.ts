// Small shared helpers of the benchmark suites: workers with deadlines and a
// start gate, GC observation, latency histograms, memory snapshots.

import { Worker } from 'node:worker_threads';
import { PerformanceObserver, createHistogram, constants as perf_constants } from 'node:perf_hooks';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { open_gate } from '../tools/sync.js';

// ---------------------------------------------------------------------------
// Workers. Every interaction has a deadline: a hung or crashed worker fails
// the suite (the bench never hangs), and every worker is terminated.

export interface WorkerResult {
  [key: string]: unknown;
}

export interface WorkerSpec {
  url: URL;
  workerData: unknown;
  transferList?: Transferable[];
}

type Transferable = import('node:worker_threads').TransferListItem;

/** Start the workers, wait until each says {kind:'ready'}, open `gate` (the
 *  tools' shared start gate, tools/sync.ts: the timed loops start together),
 *  then collect each one's {kind:'result'} and wait for every exit. Rejects (and
 *  terminates everyone) on an error, an early exit, or the deadline. */
export async function run_gated_workers(specs: WorkerSpec[], gate: Int32Array, deadline_ms: number): Promise<WorkerResult[]> {
  const workers = specs.map((spec) => new Worker(spec.url, { workerData: spec.workerData, transferList: spec.transferList }));
  const results: WorkerResult[] = new Array(workers.length);
  let ready_count = 0;
  let exited_count = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`workers did not finish within ${deadline_ms} ms`)), deadline_ms);
      workers.forEach((worker, index) => {
        worker.on('message', (message: { kind: string; [key: string]: unknown }) => {
          if (message.kind === 'ready') {
            ready_count++;
            if (ready_count === workers.length) open_gate(gate); // every worker is blocked on it or about to be
          } else if (message.kind === 'result') {
            results[index] = message;
          }
        });
        worker.on('error', reject);
        worker.on('exit', (code) => {
          exited_count++;
          if (code !== 0) reject(new Error(`worker ${index} exited with code ${code}`));
          else if (results[index] === undefined) reject(new Error(`worker ${index} exited without a result`));
          else if (exited_count === workers.length) resolve();
        });
      });
    });
  } finally {
    clearTimeout(timer);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
  return results;
}

/** Start one long-lived worker and wait for its {kind:'ready'}, within a deadline. */
export async function start_service_worker(url: URL, workerData: unknown, deadline_ms: number): Promise<Worker> {
  const worker = new Worker(url, { workerData });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`service worker not ready within ${deadline_ms} ms`)), deadline_ms);
      worker.once('message', (message: { kind: string }) => {
        if (message.kind === 'ready') resolve();
        else reject(new Error(`unexpected first message ${JSON.stringify(message)}`));
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`service worker exited early with code ${code}`)));
    });
  } catch (error) {
    await worker.terminate();
    throw error;
  } finally {
    clearTimeout(timer);
  }
  worker.removeAllListeners('exit');
  worker.removeAllListeners('error');
  return worker;
}

// ---------------------------------------------------------------------------
// GC pauses. Node reports each collection as a 'gc' performance entry; they
// are delivered asynchronously, after the synchronous loop that caused them,
// so the observer keeps them all and the caller filters by time window.

const GC_KIND_NAMES: Record<number, string> = {
  [perf_constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [perf_constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [perf_constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [perf_constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export interface GcSummary {
  count: number;
  total_ms: number;
  max_ms: number;
  by_kind: Record<string, { count: number; total_ms: number; max_ms: number }>;
}

export class GcWatch {
  private entries: Array<{ start_ms: number; duration_ms: number; kind: string }> = [];
  private observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = ((entry as unknown as { detail?: { kind?: number } }).detail)?.kind ?? 0;
      this.entries.push({ start_ms: entry.startTime, duration_ms: entry.duration, kind: GC_KIND_NAMES[kind] ?? `kind${kind}` });
    }
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Let queued entries arrive (they are posted to the event loop). */
  async flush(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  /** Collections that started inside [from_ms, to_ms] (performance.now() time). */
  summary(from_ms: number, to_ms: number): GcSummary {
    const summary: GcSummary = { count: 0, total_ms: 0, max_ms: 0, by_kind: {} };
    for (const entry of this.entries) {
      if (entry.start_ms < from_ms || entry.start_ms > to_ms) continue;
      summary.count++;
      summary.total_ms += entry.duration_ms;
      summary.max_ms = Math.max(summary.max_ms, entry.duration_ms);
      const kind = (summary.by_kind[entry.kind] ??= { count: 0, total_ms: 0, max_ms: 0 });
      kind.count++;
      kind.total_ms += entry.duration_ms;
      kind.max_ms = Math.max(kind.max_ms, entry.duration_ms);
    }
    summary.total_ms = round3(summary.total_ms);
    summary.max_ms = round3(summary.max_ms);
    for (const kind of Object.values(summary.by_kind)) {
      kind.total_ms = round3(kind.total_ms);
      kind.max_ms = round3(kind.max_ms);
    }
    return summary;
  }

  stop(): void {
    this.observer.disconnect();
  }
}

// ---------------------------------------------------------------------------
// Latency: durations are stored in a Float64Array during the loop (one plain
// store, no call) and fed to a perf_hooks histogram afterwards.

export interface LatencySummary {
  calls: number;
  mean_ns: number;
  p50_ns: number;
  p90_ns: number;
  p99_ns: number;
  p999_ns: number;
  max_ns: number;
}

export function summarise_durations(durations_ms: Float64Array, count: number): LatencySummary {
  const histogram = createHistogram({ lowest: 1, highest: 60_000_000_000, figures: 3 });
  for (let i = 0; i < count; i++) histogram.record(Math.max(1, Math.round(durations_ms[i] * 1e6)));
  return {
    calls: count,
    mean_ns: Math.round(histogram.mean),
    p50_ns: histogram.percentile(50),
    p90_ns: histogram.percentile(90),
    p99_ns: histogram.percentile(99),
    p999_ns: histogram.percentile(99.9),
    max_ns: histogram.max,
  };
}

// ---------------------------------------------------------------------------
// Memory.

export function collect_garbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run node with --expose-gc (main.js re-executes itself with it)');
  gc();
  gc();
}

export interface MemorySnapshot {
  rss_bytes: number;
  heap_used_bytes: number;
  heap_total_bytes: number;
  external_bytes: number;
}

export function memory_snapshot(): MemorySnapshot {
  collect_garbage();
  const usage = process.memoryUsage();
  return { rss_bytes: usage.rss, heap_used_bytes: usage.heapUsed, heap_total_bytes: usage.heapTotal, external_bytes: usage.external };
}

// ---------------------------------------------------------------------------
// Table sizing. maxTransactions is a BUDGET (docs/contract.md §12): every
// applied transaction uses one unit and every open bet holds a second one in
// reserve for its settlement. So a new bet takes 2 units, and the win or
// rollback of an open bet takes none (it uses its bet's reserve); failed
// requests and replays take nothing. A suite that applies N bets, settled or
// not, needs 2N units; BUDGET_MARGIN covers the entries threads hold in
// chunks. A full table answers new bets RS_ERROR_UNKNOWN.

export const BUDGET_UNITS_PER_BET = 2;
export const BUDGET_MARGIN = 1024;

/** The maxTransactions budget for a wallet that will apply `bets` new bets
 *  (each one's win or rollback included: they use the bet's reserve). */
export function budget_for_bets(bets: number): number {
  if (!Number.isSafeInteger(bets) || bets < 0) throw new RangeError(`budget_for_bets: bets must be a non-negative integer, got ${bets}`);
  return BUDGET_UNITS_PER_BET * bets + BUDGET_MARGIN;
}

/** A durable wallet's maxTransactions is a window of two generations of
 *  half of it each (docs/contract.md §10), rotated at 3/4 of the current
 *  one; its open bets must all fit the current generation. So to hold
 *  `bets` bets that stay open without a rotation during the measurement, it
 *  takes 6 units per bet: 2 for the bet, in a generation of which they may
 *  fill only 3/4, and twice that for the other generation. */
export function durable_budget_for_open_bets(bets: number): number {
  return 3 * budget_for_bets(bets);
}

/** One batch of a fill loop (a loop that runs until `target` calls succeeded)
 *  must apply all of its calls, else the loop could never make progress (a
 *  full table, a wrong status): throw with what happened instead of spinning. */
export function check_fill_batch(what: string, ok: number, batch: number, stored: number, target: number, hint = ''): void {
  if (ok === batch) return;
  throw new Error(
    `${what}: ${batch - ok} of ${batch} calls of a fill batch were not RS_OK after ${stored} of ${target} stored` +
      `${hint ? ` (${hint})` : ''}; the fill cannot reach its target`,
  );
}

// ---------------------------------------------------------------------------
// What was measured: the core binary and the working copy it came from.

export interface BuildIdentity {
  /** sha256 (hex, first 16) of build/exwallet.wasm, its size and modification time. */
  wasm_sha256: string | null;
  wasm_bytes: number | null;
  wasm_mtime: string | null;
  git_head: string | null;
  /** `git status --porcelain` of the library's sources (src/, assembly/, asconfig.json): uncommitted edits measured. */
  dirty: string[] | null;
}

export function build_identity(): BuildIdentity {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const wasm = fileURLToPath(new URL('../../build/exwallet.wasm', import.meta.url));
  const git = (args: string[]) => {
    const run = spawnSync('git', args, { cwd: root, encoding: 'utf8', timeout: 5_000 });
    return run.status === 0 ? run.stdout : null;
  };
  let wasm_sha256: string | null = null, wasm_bytes: number | null = null, wasm_mtime: string | null = null;
  try {
    const bytes = readFileSync(wasm);
    wasm_sha256 = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
    wasm_bytes = bytes.length;
    wasm_mtime = statSync(wasm).mtime.toISOString();
  } catch {
    // no build: the suites fail on their own
  }
  const status = git(['status', '--porcelain', '--', 'src', 'assembly', 'asconfig.json']);
  return {
    wasm_sha256, wasm_bytes, wasm_mtime, git_head: git(['rev-parse', '--short=12', 'HEAD'])?.trim() ?? null,
    dirty: status === null ? null : status.split('\n').filter(Boolean).map((line) => line.trim()),
  };
}

// ---------------------------------------------------------------------------
// Formatting.

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function per_second(calls: number, elapsed_ms: number): number {
  return Math.round((calls / elapsed_ms) * 1000);
}

export interface LoopResult {
  calls: number;
  ok: number;
  elapsed_ms: number;
  calls_per_s: number;
  first_failure: string;
}

/** The loops of gated workers as one aggregate: all successes over the
 *  slowest loop's time (the workers started together at the gate). */
export function summarise_loops(results: WorkerResult[]): { loops: LoopResult[]; calls: number; ok: number; elapsed_ms: number; calls_per_s: number } {
  const loops = results.map((r) => ({
    calls: r.calls as number, ok: r.ok as number, elapsed_ms: r.elapsed_ms as number,
    calls_per_s: per_second(r.ok as number, r.elapsed_ms as number), first_failure: r.first_failure as string,
  }));
  const ok = loops.reduce((sum, r) => sum + r.ok, 0);
  const elapsed_ms = Math.max(...loops.map((r) => r.elapsed_ms));
  return { loops, calls: loops.reduce((sum, r) => sum + r.calls, 0), ok, elapsed_ms, calls_per_s: per_second(ok, elapsed_ms) };
}

/** 1234567 -> "1.23M", 12345 -> "12.3k". */
export function human(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return (value / 1e9).toFixed(2) + 'G';
  if (abs >= 1e6) return (value / 1e6).toFixed(2) + 'M';
  if (abs >= 1e4) return (value / 1e3).toFixed(1) + 'k';
  if (abs >= 100) return value.toFixed(0);
  return value.toFixed(2);
}

const log_started_ms = performance.now();

/** Progress on stderr (stdout is kept for the table), stamped with the run's elapsed seconds. */
export function log(message: string): void {
  const elapsed_s = ((performance.now() - log_started_ms) / 1000).toFixed(1);
  process.stderr.write(`[${elapsed_s.padStart(6)} s] ${message}\n`);
}
