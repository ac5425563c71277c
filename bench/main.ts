// `npm run bench` — every exwallet benchmark in one run, with its peers:
//
//   node --expose-gc --max-old-space-size=8192 out/bench/main.js [--quick | --tiny]
//        [--only suite,suite] [--out dir] [--seed n]
//
// suites: single bytes workers scaling owner benny latency memory breakdown
// bytes_breakdown profile durable (default: all), and forever (only when named: ~3 min). Results: a table on stdout
// (progress goes to stderr), <out>/latest.json, <out>/throughput.svg and <out>/single.svg. --out defaults to
// bench/results for a full run and bench/results/quick.tmp (git-ignored) for
// --quick / --tiny. Without --expose-gc the script re-runs itself with the
// flags above. See bench/README.md for how to read the figures.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import os from 'node:os';
import { user_names, INITIAL_BALANCE_UNITS } from './bodies.js';
import { run_single, run_exwallet_workers, type WorkersResult } from './throughput.js';
import { run_owner_thread } from './peers/owner_thread.js';
import { run_benny } from './benny_suites.js';
import { run_latency, measure_timer_overhead } from './latency.js';
import { run_memory } from './memory.js';
import { run_breakdown } from './breakdown.js';
import { run_bytes } from './bytes.js';
import { run_bytes_breakdown } from './bytes_breakdown.js';
import { run_profile } from './profile.js';
import { run_durable, render_durable_table, render_durable_svg, type DurableOptions } from './durable.js';
import { run_forever, write_forever, type ForeverResults } from './forever.js';
import { check_parity } from './peers/parity.js';
import { SCHEMA, compute_ratios, compute_targets, compute_bytes_targets, render_table, render_svg, render_single_svg, type BenchResults } from './report.js';
import { log, collect_garbage, build_identity } from './lib.js';
import { parse_flags, integer_flag, usage_line, UsageError, EXIT_USAGE } from '../tools/cli.js';

export const SUITES = ['single', 'bytes', 'workers', 'scaling', 'owner', 'benny', 'latency', 'memory', 'breakdown', 'bytes_breakdown', 'profile', 'durable'] as const;
/** Run only when --only names them (bench/forever.ts: minutes, files of its own). */
const NAMED_ONLY_SUITES = ['forever'] as const;
type Suite = (typeof SUITES)[number] | (typeof NAMED_ONLY_SUITES)[number];
type Mode = 'full' | 'quick' | 'tiny';

export const NODE_FLAGS = ['--expose-gc', '--max-old-space-size=8192'];

interface Sizes {
  users: number;
  single_calls: number;
  single_rounds: number;
  warmup_calls: number;
  worker_counts: number[];
  worker_total_calls: number;
  worker_rounds: number;
  owner_clients: number[];
  owner_calls_per_client: number;
  owner_inflight: number;
  benny_max_time_s: number;
  /** benchmark.js minTime per cycle (s) and minSamples; undefined = its defaults. */
  benny_min_time_s: number | undefined;
  benny_min_samples: number;
  benny_pool_max: number;
  benny_pool_min: number;
  /** Calls of the timed pre-run that sizes each single-use pool. */
  benny_estimate_calls: number;
  benny_cycle_pool: number;
  latency_stored: number[];
  latency_calls: number;
  memory_fill: number;
  breakdown_calls: number;
  breakdown_rounds: number;
  /** Suite bytes (bytes.ts): timed bets per loop (after warmup_calls) and rounds. */
  bytes_calls: number;
  bytes_rounds: number;
  /** Suite bytes_breakdown (bytes_breakdown.ts). */
  bytes_breakdown_calls: number;
  bytes_breakdown_rounds: number;
  profile_calls: number;
  deadline_ms: number;
  /** The durable suite (durable.ts). */
  durable: Omit<DurableOptions, 'users' | 'seed' | 'deadline_ms'>;
}

const SIZES: Record<Mode, Sizes> = {
  full: {
    users: 10_000, single_calls: 1_000_000, single_rounds: 3, warmup_calls: 50_000,
    worker_counts: [1, 2, 4, 8], worker_total_calls: 2_000_000, worker_rounds: 2,
    owner_clients: [1, 2], owner_calls_per_client: 200_000, owner_inflight: 64,
    benny_max_time_s: 1, benny_min_time_s: undefined, benny_min_samples: 5, benny_pool_max: 4_000_000, benny_pool_min: 100_000, benny_estimate_calls: 20_000, benny_cycle_pool: 100_000,
    latency_stored: [100_000, 1_000_000, 4_000_000], latency_calls: 200_000,
    memory_fill: 1_000_000, breakdown_calls: 500_000, breakdown_rounds: 3, profile_calls: 1_000_000, deadline_ms: 300_000,
    bytes_calls: 1_000_000, bytes_rounds: 3, bytes_breakdown_calls: 500_000, bytes_breakdown_rounds: 3,
    durable: {
      calls: 1_000_000, worker_calls: 500_000, warmup_calls: 20_000, groups: [1000, 100], pg: true, pg_clients: [8, 32], pg_seconds: 5,
      paces: [10_000, 100_000, null], pace_seconds: 3, pace_calls_max: 1_000_000, pg_paces: [1_000, 10_000], recovery_checkpointed: 3_000_000, recovery_tail: 1_000_000,
    },
  },
  quick: {
    users: 10_000, single_calls: 200_000, single_rounds: 1, warmup_calls: 20_000,
    worker_counts: [1, 2, 4, 8], worker_total_calls: 200_000, worker_rounds: 1,
    owner_clients: [1, 2], owner_calls_per_client: 10_000, owner_inflight: 64,
    benny_max_time_s: 0.05, benny_min_time_s: 0.01, benny_min_samples: 5, benny_pool_max: 1_000_000, benny_pool_min: 20_000, benny_estimate_calls: 5_000, benny_cycle_pool: 10_000,
    latency_stored: [100_000, 300_000], latency_calls: 20_000,
    memory_fill: 100_000, breakdown_calls: 50_000, breakdown_rounds: 2, profile_calls: 100_000, deadline_ms: 120_000,
    bytes_calls: 200_000, bytes_rounds: 2, bytes_breakdown_calls: 50_000, bytes_breakdown_rounds: 2,
    durable: {
      calls: 200_000, worker_calls: 100_000, warmup_calls: 10_000, groups: [1000, 100], pg: true, pg_clients: [8, 32], pg_seconds: 2,
      paces: [10_000, 100_000, null], pace_seconds: 1, pace_calls_max: 200_000, pg_paces: [1_000], recovery_checkpointed: 750_000, recovery_tail: 250_000,
    },
  },
  tiny: {
    users: 100, single_calls: 2_000, single_rounds: 2, warmup_calls: 500,
    worker_counts: [1, 2], worker_total_calls: 2_000, worker_rounds: 1,
    owner_clients: [1, 2], owner_calls_per_client: 500, owner_inflight: 64,
    benny_max_time_s: 0.005, benny_min_time_s: 0.001, benny_min_samples: 2, benny_pool_max: 20_000, benny_pool_min: 20_000, benny_estimate_calls: 500, benny_cycle_pool: 1_000,
    latency_stored: [1_000, 3_000], latency_calls: 1_000,
    memory_fill: 2_000, breakdown_calls: 2_000, breakdown_rounds: 1, profile_calls: 2_000, deadline_ms: 60_000,
    bytes_calls: 2_000, bytes_rounds: 2, bytes_breakdown_calls: 2_000, bytes_breakdown_rounds: 1,
    durable: {
      calls: 3_000, worker_calls: 2_000, warmup_calls: 500, groups: [1000, 100], pg: false, pg_clients: [2], pg_seconds: 0.2,
      paces: [10_000, null], pace_seconds: 0.1, pace_calls_max: 2_000, pg_paces: [], recovery_checkpointed: 3_000, recovery_tail: 2_000,
    },
  },
};

interface Args {
  mode: Mode;
  only: Suite[];
  out: string | undefined;
  seed: number;
  help: boolean;
}

const FLAGS = {
  quick: { type: 'boolean' },
  tiny: { type: 'boolean' },
  only: { type: 'string' },
  out: { type: 'string' },
  seed: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const USAGE = 'npm run bench -- [--quick | --tiny] [--only suite,suite] [--out dir] [--seed n]\n' +
  `  suites: ${SUITES.join(' ')} (default: all), ${NAMED_ONLY_SUITES.join(' ')} (only when named); see bench/README.md`;

function parse_args(argv: readonly string[]): Args {
  const values = parse_flags(argv, FLAGS);
  if (values.quick && values.tiny) throw new UsageError('give --quick or --tiny, not both');
  const only = values.only === undefined ? [...SUITES] : values.only.split(',').map((s) => s.trim()).filter(Boolean);
  const known: readonly string[] = [...SUITES, ...NAMED_ONLY_SUITES];
  for (const name of only) if (!known.includes(name)) throw new UsageError(`unknown suite ${name}; suites: ${known.join(' ')}`);
  return {
    mode: values.quick ? 'quick' : values.tiny ? 'tiny' : 'full',
    only: only as Suite[],
    out: values.out,
    seed: integer_flag('seed', values.seed, 1, 0, 0xffff_ffff),
    help: values.help === true,
  };
}

function default_out(mode: Mode): string {
  const results = fileURLToPath(new URL('../../bench/results', import.meta.url));
  return mode === 'full' ? results : join(results, 'quick.tmp');
}

async function main(): Promise<void> {
  const args = parse_args(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const sizes = SIZES[args.mode];
  const started = new Date();
  const loadavg_before = os.loadavg();
  if (loadavg_before[0] > 0.5) log(`warning: load average ${loadavg_before[0].toFixed(2)} before the run; figures will be noisy`);
  const users = user_names(sizes.users);
  const suites = new Set(args.only);
  const seed = args.seed;
  const results: BenchResults = {
    schema: SCHEMA, mode: args.mode, command: `node ${process.execArgv.join(' ')} ${process.argv.slice(1).join(' ')}`.replace(/\s+/g, ' '),
    started_at: started.toISOString(), duration_s: 0, seed, suites: [...suites], sizes: { ...sizes },
    machine: {
      node: process.versions.node, v8: process.versions.v8, platform: process.platform, arch: process.arch,
      cpu_count: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', total_memory_bytes: os.totalmem(),
      loadavg_before, loadavg_after: [],
    },
    checks: { parity: null, problems: [] },
    build: build_identity(),
    ratios: {}, targets: [],
  };
  const problems = results.checks.problems;
  const expect_all_ok = (what: string, ok: number, calls: number, first_failure = '') => {
    if (ok !== calls) problems.push(`${what}: ${calls - ok} of ${calls} calls were not RS_OK${first_failure ? ` (first: ${first_failure})` : ''}`);
  };

  log(`exwallet bench, ${args.mode} mode, suites: ${[...suites].join(' ')}, seed ${seed}`);
  const parity = check_parity();
  results.checks.parity = parity;
  for (const m of parity.mismatches) problems.push(`(a) differs from exwallet on "${m.note}": ${JSON.stringify(m.map_wallet)} vs ${JSON.stringify(m.exwallet)}`);

  if (suites.has('single')) {
    log('single thread: exwallet and (a) on the same bodies');
    results.single = run_single({ users, calls: sizes.single_calls, warmup_calls: sizes.warmup_calls, rounds: sizes.single_rounds, seed });
    for (const r of [results.single.exwallet, results.single.map_wallet]) {
      expect_all_ok(`single ${r.impl}`, r.ok, r.calls, r.first_failure);
      log(`  ${r.impl.padEnd(10)} ${r.calls_per_s.toLocaleString('en-US')} bets/s (best of ${results.single.rounds.length} rounds)`);
    }
    collect_garbage();
  }

  if (suites.has('bytes')) {
    log('single thread on JSON bodies: exwallet bet() and betBytes(), (a) on objects and on bytes, the same bodies');
    results.bytes = run_bytes({ users, calls: sizes.bytes_calls, warmup_calls: sizes.warmup_calls, rounds: sizes.bytes_rounds, seed });
    problems.push(...results.bytes.problems);
    collect_garbage();
  }

  if (suites.has('workers')) {
    // Rounds interleave the worker counts, so that a burst of load elsewhere
    // does not land on one count only; each count keeps its best round.
    const best = new Map<number, WorkersResult>();
    const all = new Map<number, number[]>();
    for (let round = 0; round < sizes.worker_rounds; round++) {
      for (const workers of sizes.worker_counts) {
        const r = await run_exwallet_workers({
          workers, users, total_calls: sizes.worker_total_calls, warmup_calls: Math.min(sizes.warmup_calls, 20_000), seed: seed + round, deadline_ms: sizes.deadline_ms,
        });
        r.per_worker.forEach((w, i) => expect_all_ok(`exwallet ${workers} workers, worker ${i}`, w.ok, w.calls, w.first_failure));
        log(`  exwallet ${workers} worker(s): ${r.calls_per_s.toLocaleString('en-US')} bets/s (per worker ${r.per_worker.map((w) => w.calls_per_s.toLocaleString('en-US')).join(', ')})`);
        all.set(workers, [...(all.get(workers) ?? []), r.calls_per_s]);
        if ((best.get(workers)?.calls_per_s ?? -1) < r.calls_per_s) best.set(workers, r);
      }
    }
    results.workers = sizes.worker_counts.map((workers) => ({ ...best.get(workers)!, rounds_calls_per_s: all.get(workers)! }));
    collect_garbage();
  }

  if (suites.has('scaling')) {
    log('scaling controls: 1 and 2 workers on private wallets, on a pure-JS loop, and on the same loop without allocation');
    results.scaling_controls = [];
    for (const mode of ['private', 'js', 'compute'] as const) {
      for (const workers of [1, 2]) {
        const r = await run_exwallet_workers({
          mode, workers, users, total_calls: sizes.worker_total_calls, warmup_calls: Math.min(sizes.warmup_calls, 20_000), seed, deadline_ms: sizes.deadline_ms,
        });
        results.scaling_controls.push(r);
        r.per_worker.forEach((w, i) => expect_all_ok(`${mode} ${workers} workers, worker ${i}`, w.ok, w.calls, w.first_failure));
        log(`  ${mode} ${workers} worker(s): ${r.calls_per_s.toLocaleString('en-US')} calls/s (per worker ${r.per_worker.map((w) => w.calls_per_s.toLocaleString('en-US')).join(', ')})`);
      }
    }
    collect_garbage();
  }

  if (suites.has('owner')) {
    results.owner_thread = [];
    for (const clients of sizes.owner_clients) {
      const r = await run_owner_thread({
        clients, users, calls_per_client: sizes.owner_calls_per_client, warmup_calls: Math.min(sizes.warmup_calls, 5_000),
        inflight: sizes.owner_inflight, initial_balance_units: INITIAL_BALANCE_UNITS, seed, deadline_ms: sizes.deadline_ms,
      });
      results.owner_thread.push(r);
      r.per_client.forEach((c, i) => expect_all_ok(`owner thread ${clients} clients, client ${i}`, c.ok, c.calls, c.first_failure));
      log(`  (b) owner thread, ${clients} client(s): ${r.calls_per_s.toLocaleString('en-US')} calls/s`);
    }
    collect_garbage();
  }

  if (suites.has('benny')) {
    log('benny suites');
    results.benny = await run_benny({
      users, seed, max_time_s: sizes.benny_max_time_s, min_time_s: sizes.benny_min_time_s, min_samples: sizes.benny_min_samples, pool_max: sizes.benny_pool_max, pool_min: sizes.benny_pool_min, estimate_calls: sizes.benny_estimate_calls, cycle_pool: sizes.benny_cycle_pool,
    });
    for (const c of results.benny) {
      if (c.unexpected_statuses > 0) problems.push(`benny ${c.op} ${c.impl}: ${c.unexpected_statuses} of ${c.calls} calls were not ${c.expected_status}`);
      if (!c.fresh) problems.push(`benny ${c.op} ${c.impl}: the pool of ${c.pool} fresh bodies wrapped (${c.calls} calls); later calls were replays`);
    }
    collect_garbage();
  }

  if (suites.has('latency')) {
    log('latency');
    const timer = measure_timer_overhead(Math.min(200_000, sizes.latency_calls * 10));
    const options = { users, stored_levels: sizes.latency_stored, calls: sizes.latency_calls, seed };
    const exwallet = await run_latency('exwallet', options);
    collect_garbage();
    const map_wallet = await run_latency('map_wallet', options);
    collect_garbage();
    results.latency = { timer, exwallet, map_wallet };
    for (const level of [...exwallet, ...map_wallet]) expect_all_ok(`latency ${level.impl} at ${level.stored}`, level.ok, level.calls);
  }

  if (suites.has('memory')) {
    log('memory');
    results.memory = await run_memory({ users, fill: sizes.memory_fill, seed });
    collect_garbage();
  }

  if (suites.has('breakdown')) {
    log('cost breakdown');
    results.breakdown = await run_breakdown({ users, calls: sizes.breakdown_calls, rounds: sizes.breakdown_rounds, seed });
    if ('error' in results.breakdown) problems.push(`breakdown: ${results.breakdown.error}`);
    else if (results.breakdown.ok_apply !== sizes.breakdown_calls || results.breakdown.ok_public !== sizes.breakdown_calls) {
      problems.push('breakdown: not every bet was applied');
    }
    collect_garbage();
  }

  if (suites.has('bytes_breakdown')) {
    log('cost breakdown of betBytes()');
    const b = await run_bytes_breakdown({ users, calls: sizes.bytes_breakdown_calls, rounds: sizes.bytes_breakdown_rounds, seed });
    results.bytes_breakdown = b;
    if ('error' in b) problems.push(`bytes_breakdown: ${b.error}`);
    else if (b.not_parsed + b.not_applied + b.not_answered + b.public_not_ok + b.public_fallbacks !== 0) {
      problems.push(`bytes_breakdown: not every body was parsed, applied and answered RS_OK (refused ${b.not_parsed}, not applied ${b.not_applied}, ` +
        `answers without RS_OK ${b.not_answered} + ${b.public_not_ok} from betBytes(); fallbacks ${b.public_fallbacks})`);
    }
    collect_garbage();
  }

  if (suites.has('profile')) {
    log('cpu profile');
    results.profile = await run_profile({ users, calls: sizes.profile_calls, seed, sampling_interval_us: 100 });
    expect_all_ok('profile', results.profile.ok, results.profile.calls);
  }

  let durable: Awaited<ReturnType<typeof run_durable>> | undefined;
  if (suites.has('durable')) {
    log('durable: exwallet with a dataDir vs in memory, (a\') Map + JSON lines, (p) PostgreSQL');
    durable = await run_durable({ ...sizes.durable, users, seed, deadline_ms: sizes.deadline_ms });
    problems.push(...durable.problems);
    collect_garbage();
  }

  let forever: ForeverResults | undefined;
  if (suites.has('forever')) {
    forever = await run_forever({ mode: args.mode, seed });
    problems.push(...forever.problems);
  }

  results.machine.loadavg_after = os.loadavg();
  results.duration_s = Math.round((Date.now() - started.getTime()) / 100) / 10;
  results.ratios = compute_ratios(results);
  results.targets = compute_targets(results);
  if (results.bytes) results.bytes_targets = compute_bytes_targets(results);

  const out = args.out ?? default_out(args.mode);
  mkdirSync(out, { recursive: true });
  const write_json = (name: string, value: unknown) => {
    const path = join(out, name);
    writeFileSync(`${path}.tmp`, JSON.stringify(value, null, 2) + '\n');
    renameSync(`${path}.tmp`, path); // readers never see half a file
    return path;
  };
  // The durable and forever suites have their own files: `--only durable`
  // must not replace latest.json (the other suites' figures) with a run that
  // has none of them.
  if ([...suites].some((suite) => suite !== 'durable' && suite !== 'forever')) {
    const json_path = write_json('latest.json', results);
    writeFileSync(join(out, 'throughput.svg'), render_svg(results));
    if (results.bytes || results.single) writeFileSync(join(out, 'single.svg'), render_single_svg(results));
    process.stdout.write(render_table(results) + '\n');
    log(`wrote ${json_path}, ${join(out, 'throughput.svg')}${results.bytes || results.single ? ` and ${join(out, 'single.svg')}` : ''}`);
  }
  if (durable) {
    const { targets: _t, ratios: _r, ...run } = results;
    const json_path = write_json('durable.json', { ...run, schema: 'exwallet-bench-durable/1', ratios: durable.ratios, targets: durable.targets, durable });
    writeFileSync(join(out, 'durable.svg'), render_durable_svg(durable, `${args.mode} run, ${results.started_at.slice(0, 10)}, load ${results.machine.loadavg_before[0].toFixed(2)}→${results.machine.loadavg_after[0].toFixed(2)}`));
    process.stdout.write(render_durable_table(durable) + '\n');
    log(`wrote ${json_path} and ${join(out, 'durable.svg')}`);
  }
  if (forever) write_forever(forever, out);
  if (problems.length > 0) process.exitCode = 2;
}

const has_gc = typeof (globalThis as { gc?: unknown }).gc === 'function';
if (!has_gc) {
  // Re-run with the flags the memory suite and the big peers need.
  const child = spawnSync(process.execPath, [...NODE_FLAGS, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
} else {
  main().catch((error) => {
    if (error instanceof UsageError) {
      process.stderr.write(usage_line('bench', error.message) + '\n');
      process.exit(EXIT_USAGE);
    }
    log(`bench failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  });
}
