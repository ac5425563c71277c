// Issue #11's benchmarks in one run: does a durable wallet that rotates its
// window run forever at a flat cost, and what does forever cost?
//
//   node out/bench/forever.js [--quick | --tiny] [--windows 20000,200000] [--multiple 50] [--seed n] [--out dir]
//   npm run bench -- --only forever            (the same, from the suite runner)
//
//   1. the flat curve (forever_flat.ts): per W, a durable wallet of
//      maxTransactions W and a memory-only one sized for the whole run, the
//      same bet+win pairs through multiple x W transactions; per slice of W/2
//      transactions calls/s, p50/p99/p99.9/max, RSS, inMemory, rotations;
//   2. the costs (forever_costs.ts): a replay from the retired files vs from
//      memory, a new bet with a full filter vs a fresh wallet, the filter's
//      false-positive rate measured, estimated and modelled;
//   3. bytes: shared memory per window unit, disk per retired transaction,
//      filter per uuid, journal and checkpoint; the 4-month table.
//
// Writes <out>/forever.json and <out>/forever.svg (out: bench/results, or
// bench/results/quick.tmp for --quick / --tiny), the tables on stdout,
// progress on stderr. Data directories go under $TMPDIR and are removed.
//
// Back of the envelope, before measuring (a bet+win pair takes 2 budget
// units, so a generation of W/2 units holds W/2 transactions and a rotation
// is asked every 0.75 x W/2 transactions): W = 20,000 rotates every ~7,700
// transactions, i.e. every ~5-10 ms at 1-2M calls/s, and each rotation
// writes ~7,700 x 96 B = 0.7 MiB with two fsyncs; the 1/4 of a generation
// left when it is asked lasts ~2,500 calls (~2 ms). If the rotation takes
// longer than that, bets wait for room: the spike to look for.

import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import os from 'node:os';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { L } from 'exwallet/internal/layout';
import { user_names } from './bodies.js';
import { log } from './lib.js';
import { run_flat, type FlatResult } from './forever_flat.js';
import { measure_costs, synthetic_filter, four_month_table, per_file_search_us, blocked_filter_rate, type CostResult, type FilterProbe, type MonthsRow } from './forever_costs.js';
import { run_paced, type PacedResult } from './forever_paced.js';
import { render_forever_table, render_forever_svg } from './forever_report.js';
import { parse_flags, integer_flag, usage_line, UsageError, EXIT_USAGE } from '../tools/cli.js';

export type ForeverMode = 'full' | 'quick' | 'tiny';

export interface ForeverSizes {
  windows: number[];
  multiple: number;
  users: number;
  lag_pairs: number;
  group_calls: number;
  dup_calls: number;
  dup_warmup: number;
  new_bet_rounds: number;
  filter_probes: number;
  fp_bets_max: number;
  synthetic_capacity: number;
  synthetic_loads: number[];
  /** The paced run after the costs: calls/s, and about this many calls (at least 2 rotations, at most 10). */
  paced_rate: number;
  paced_calls: number;
}

export const FOREVER_SIZES: Record<ForeverMode, ForeverSizes> = {
  full: {
    windows: [20_000, 200_000], multiple: 50, users: 10_000, lag_pairs: 32, group_calls: 1000,
    dup_calls: 10_000, dup_warmup: 1000, new_bet_rounds: 5, filter_probes: 1_000_000, fp_bets_max: 1000,
    synthetic_capacity: 1 << 20, synthetic_loads: [0.25, 0.5, 1, 2, 4], paced_rate: 20_000, paced_calls: 150_000,
  },
  quick: {
    windows: [20_000], multiple: 20, users: 10_000, lag_pairs: 32, group_calls: 1000,
    dup_calls: 3000, dup_warmup: 300, new_bet_rounds: 3, filter_probes: 300_000, fp_bets_max: 300,
    synthetic_capacity: 1 << 18, synthetic_loads: [0.5, 1, 2], paced_rate: 20_000, paced_calls: 75_000,
  },
  tiny: {
    windows: [4000], multiple: 20, users: 100, lag_pairs: 8, group_calls: 1000,
    dup_calls: 500, dup_warmup: 50, new_bet_rounds: 2, filter_probes: 20_000, fp_bets_max: 50,
    synthetic_capacity: 1 << 14, synthetic_loads: [1, 2], paced_rate: 20_000, paced_calls: 20_000,
  },
};

export interface ForeverResults {
  schema: 'exwallet-bench-forever/1';
  mode: ForeverMode;
  command: string;
  started_at: string;
  duration_s: number;
  seed: number;
  sizes: ForeverSizes;
  machine: {
    node: string; platform: string; arch: string; cpu_count: number; cpu_model: string; total_memory_bytes: number;
    loadavg_before: number[]; loadavg_after: number[]; uptime_before: string; uptime_after: string; data_dir_parent: string;
  };
  flat: FlatResult[];
  costs: CostResult[];
  paced: PacedResult[];
  close_ms: Record<string, number>;
  synthetic_filter: FilterProbe[];
  /** A search of the retired files per file: descriptor held (the newest 128) or opened for the read. */
  per_file_search: { held_us: number; opened_us: number };
  /** The filter's measured false-positive rate at its capacity (the synthetic row at load 1, else the model). */
  four_months: { from_window: number; tx_per_file_per_unit: number; rate_at_capacity: number; rows: MonthsRow[] };
  problems: string[];
}

export interface ForeverArgs {
  mode: ForeverMode;
  windows?: number[];
  multiple?: number;
  seed: number;
  out?: string;
}

function uptime_text(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return `load average ${os.loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
}

export async function run_forever(args: ForeverArgs): Promise<ForeverResults> {
  const sizes: ForeverSizes = { ...FOREVER_SIZES[args.mode] };
  if (args.windows) sizes.windows = args.windows;
  if (args.multiple) sizes.multiple = args.multiple;
  const started = new Date();
  const parent = tmpdir();
  const results: ForeverResults = {
    schema: 'exwallet-bench-forever/1', mode: args.mode,
    command: `node ${process.execArgv.join(' ')} ${process.argv.slice(1).join(' ')}`.replace(/\s+/g, ' ').trim(),
    started_at: started.toISOString(), duration_s: 0, seed: args.seed, sizes,
    machine: {
      node: process.versions.node, platform: process.platform, arch: process.arch, cpu_count: os.cpus().length,
      cpu_model: os.cpus()[0]?.model ?? 'unknown', total_memory_bytes: os.totalmem(),
      loadavg_before: os.loadavg(), loadavg_after: [], uptime_before: uptime_text(), uptime_after: '', data_dir_parent: parent,
    },
    flat: [], costs: [], paced: [], close_ms: {}, synthetic_filter: [],
    per_file_search: { held_us: 0, opened_us: 0 }, four_months: { from_window: 0, tx_per_file_per_unit: 0, rate_at_capacity: 0, rows: [] }, problems: [],
  };
  log(`forever (${args.mode}): windows ${sizes.windows.join(', ')}, ${sizes.multiple} x W transactions each; ${results.machine.uptime_before}`);
  const users = user_names(sizes.users);
  await warm_up(users, args.seed, sizes, parent);
  for (const window of sizes.windows) {
    const { result, aged } = await run_flat({
      window, transactions: sizes.multiple * window, users, seed: args.seed, lag_pairs: sizes.lag_pairs, group_calls: sizes.group_calls,
      chunk_pairs: Math.max(100_000, Math.ceil(0.75 * window)), samples: Math.ceil((sizes.dup_calls + sizes.dup_warmup) * 1.1),
      recent: Math.min(10_000, Math.floor(window / 8)), data_dir_parent: parent,
    });
    results.flat.push(result);
    for (const lane of [result.durable, result.memory]) {
      if (lane.ok !== lane.calls) results.problems.push(`W=${window} ${lane.lane}: ${lane.calls - lane.ok} of ${lane.calls} calls not RS_OK (first: ${lane.first_failure})`);
    }
    if (result.forced_handovers > 0) results.problems.push(`W=${window}: ${result.forced_handovers} forced hand-overs (a rotation may have run in a gap)`);
    try {
      const costs = await measure_costs(aged, {
        seed: args.seed, dup_calls: sizes.dup_calls, dup_warmup: sizes.dup_warmup, new_bet_rounds: sizes.new_bet_rounds,
        filter_probes: sizes.filter_probes, fp_bets_max: sizes.fp_bets_max, data_dir_parent: parent,
      });
      results.costs.push(costs);
      for (const replay of [costs.replay_retired, costs.replay_in_memory]) {
        if (replay.wrong_answers > 0) results.problems.push(`W=${window} replay ${replay.what}: ${replay.wrong_answers} answers were not the original`);
      }
      if (costs.replay_retired.slow_path_calls !== costs.replay_retired.calls) results.problems.push(`W=${window}: ${costs.replay_retired.calls - costs.replay_retired.slow_path_calls} retired replays did not search the files`);
      if (costs.replay_in_memory.slow_path_calls !== 0) results.problems.push(`W=${window}: ${costs.replay_in_memory.slow_path_calls} in-memory replays searched the files`);
      if (costs.new_bets.rounds_without_flip > 0) results.problems.push(`W=${window}: ${costs.new_bets.rounds_without_flip} aged new-bet rounds did not start after a flip`);
      if (costs.filter.false_positive_bets.failed > 0) results.problems.push(`W=${window}: ${costs.filter.false_positive_bets.failed} false-positive bets not RS_OK`);
      const rotations = Math.min(10, Math.max(2, Math.round(sizes.paced_calls / (0.375 * window))));
      const paced = await run_paced(aged.wallet, window, sizes.paced_rate, rotations, users, args.seed);
      results.paced.push(paced);
      if (paced.ok !== paced.calls) results.problems.push(`W=${window} paced: ${paced.calls - paced.ok} of ${paced.calls} calls not RS_OK`);
    } finally {
      results.close_ms[String(window)] = await aged.close();
      rmSync(aged.dir, { recursive: true, force: true });
    }
  }
  log(`forever: synthetic filter of ${sizes.synthetic_capacity.toLocaleString('en-US')} at loads ${sizes.synthetic_loads.join(', ')}`);
  results.synthetic_filter = await synthetic_filter(sizes.synthetic_capacity, sizes.synthetic_loads, sizes.filter_probes, args.seed, parent);
  results.per_file_search = per_file_search_us(parent, args.seed);
  const widest = results.costs.at(-1);
  if (widest) {
    // At a service's pace a generation retires when it is 75 % used: 0.75 x W/2 units, one per transaction of
    // bet+win pairs. (The flat run's files hold ~W/2: its generations fill up before the rotator catches up.)
    const tx_per_file_per_unit = (L.ROTATE_AT_PER_1024 / 1024) / 2;
    const at_capacity = results.synthetic_filter.find((row) => row.load === 1);
    const rate_at_capacity = at_capacity?.measured_rate ?? blocked_filter_rate((L.FILTER_BLOCK_BYTES * 8) / L.FILTER_BITS_PER_KEY, 1);
    results.four_months = {
      from_window: widest.window, tx_per_file_per_unit, rate_at_capacity,
      rows: four_month_table(widest.bytes, results.per_file_search, tx_per_file_per_unit, rate_at_capacity),
    };
  }
  results.machine.loadavg_after = os.loadavg();
  results.machine.uptime_after = uptime_text();
  results.duration_s = Math.round((Date.now() - started.getTime()) / 100) / 10;
  return results;
}

/** A short run of every path (bets, wins, rotations, retirements, a memory
 *  wallet) on wallets of their own, so that the JIT has compiled them before
 *  the first slice is timed: the memory lane would otherwise always play
 *  code the durable lane had just warmed. */
async function warm_up(users: string[], seed: number, sizes: ForeverSizes, parent: string): Promise<void> {
  const window = 4000;
  const { aged } = await run_flat({
    window, transactions: 20 * window, users, seed: seed + 1, lag_pairs: sizes.lag_pairs, group_calls: sizes.group_calls,
    chunk_pairs: 100_000, samples: 10, recent: 10, data_dir_parent: parent, quiet: true,
  });
  await aged.close();
  rmSync(aged.dir, { recursive: true, force: true });
}

/** forever.json and forever.svg into `out`; the table on stdout. */
export function write_forever(results: ForeverResults, out: string): void {
  mkdirSync(out, { recursive: true });
  const json_path = join(out, 'forever.json');
  writeFileSync(`${json_path}.tmp`, JSON.stringify(results, null, 1) + '\n');
  renameSync(`${json_path}.tmp`, json_path);
  const svg_path = join(out, 'forever.svg');
  writeFileSync(svg_path, render_forever_svg(results));
  process.stdout.write(render_forever_table(results) + '\n');
  log(`wrote ${json_path} and ${svg_path}`);
}

export function default_forever_out(mode: ForeverMode): string {
  const results = fileURLToPath(new URL('../../bench/results', import.meta.url));
  return mode === 'full' ? results : join(results, 'quick.tmp');
}

const FLAGS = {
  quick: { type: 'boolean' },
  tiny: { type: 'boolean' },
  windows: { type: 'string' },
  multiple: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const USAGE = 'node out/bench/forever.js [--quick | --tiny] [--windows 20000,200000] [--multiple 50] [--seed n] [--out dir]';

async function main(): Promise<void> {
  const values = parse_flags(process.argv.slice(2), FLAGS);
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  if (values.quick && values.tiny) throw new UsageError('give --quick or --tiny, not both');
  const mode: ForeverMode = values.quick ? 'quick' : values.tiny ? 'tiny' : 'full';
  const windows = values.windows?.split(',').map((w) => integer_flag('windows', w.trim(), 0, 64, 1 << 26));
  const multiple = values.multiple === undefined ? undefined : integer_flag('multiple', values.multiple, 50, 4, 1000);
  const seed = integer_flag('seed', values.seed, 1, 0, 0xffff_ffff);
  const results = await run_forever({ mode, windows, multiple, seed });
  write_forever(results, values.out ?? default_forever_out(mode));
  if (results.problems.length > 0) process.exitCode = 2;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((error) => {
    if (error instanceof UsageError) {
      process.stderr.write(usage_line('forever', error.message) + '\n');
      process.exit(EXIT_USAGE);
    }
    log(`forever failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  });
}
