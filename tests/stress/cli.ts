// `npm run stress -- --workers 16 --seconds 60 --seed 7 [--scenario NAME] [--groups N]`
//
// Runs stress rounds (scenario.ts) until the time is spent, cycling through
// the scenarios (or only --scenario), each round on a fresh wallet with seed
// seed + round. Prints one line per round and the totals; exits 1 if any
// invariant was violated or a worker failed.

import { parse_flags, integer_flag, usage_line, UsageError, EXIT_USAGE } from '../../tools/cli.js';
import { SCENARIOS, type Scenario } from './intents.js';
import { run_scenario } from './scenario.js';

interface CliOptions {
  workers: number;
  seconds: number;
  seed: number;
  scenario?: Scenario;
  groups: number;
  help: boolean;
}

const PROGRAM = 'stress';
const USAGE = 'npm run stress -- [--workers N] [--seconds S] [--seed K] [--scenario NAME] [--groups G]\n' +
  '  --seconds is a minimum: every scenario runs at least once, then rounds repeat until the time is up';

const FLAGS = {
  workers: { type: 'string' },
  seconds: { type: 'string' },
  seed: { type: 'string' },
  groups: { type: 'string' },
  scenario: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parse(argv: readonly string[]): CliOptions {
  const values = parse_flags(argv, FLAGS);
  if (values.scenario !== undefined && !SCENARIOS.includes(values.scenario as Scenario)) {
    throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}`);
  }
  return {
    workers: integer_flag('workers', values.workers, 16, 1, 256),
    seconds: integer_flag('seconds', values.seconds, 10, 0, 86_400),
    seed: integer_flag('seed', values.seed, 7, 0, 0xffff_ffff),
    groups: integer_flag('groups', values.groups, 1_500, 8, 10_000_000),
    scenario: values.scenario as Scenario | undefined,
    help: values.help === true,
  };
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const scenarios = options.scenario ? [options.scenario] : [...SCENARIOS];
  const started_ms = performance.now();
  const end_ms = started_ms + options.seconds * 1000;
  let rounds = 0;
  let calls = 0;
  let violations = 0;
  // At least one round of each scenario, then as many as the time allows.
  for (let round = 0; round < 100_000 && (round < scenarios.length || performance.now() < end_ms); round++) {
    const scenario = scenarios[round % scenarios.length]!;
    // The table scenario's size is its table: keep it small enough to fill.
    const groups = scenario === 'table_full' ? Math.max(64, options.groups >> 2) : options.groups;
    const report = await run_scenario({ scenario, workers: options.workers, groups, seed: options.seed + round, budget_ms: 300_000 });
    console.log(report.line);
    for (const violation of report.violations) console.log(`  VIOLATION ${violation}`);
    rounds++;
    calls += report.figures.calls;
    violations += report.violations.length;
  }
  const seconds = (performance.now() - started_ms) / 1000;
  console.log(
    `stress total: rounds=${rounds} workers=${options.workers} calls=${calls} ` +
    `calls_per_s=${Math.round(calls / seconds)} seconds=${seconds.toFixed(1)} seed=${options.seed} violations=${violations}`,
  );
  if (violations > 0) process.exitCode = 1;
}

main().catch((error) => {
  if (error instanceof UsageError) {
    console.error(usage_line(PROGRAM, error.message));
    process.exitCode = EXIT_USAGE;
    return;
  }
  console.error(`stress failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
});
