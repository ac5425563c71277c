// `npm run stress -- --workers 16 --seconds 60 --seed 7 [--scenario NAME] [--groups N]`
//
// Runs stress rounds (scenario.ts) until the time is spent, cycling through
// the scenarios (or only --scenario), each round on a fresh wallet with seed
// seed + round. Prints one line per round and the totals; exits 1 if any
// invariant was violated or a worker failed.

import { SCENARIOS, type Scenario } from './intents.js';
import { run_scenario } from './scenario.js';

interface CliOptions {
  workers: number;
  seconds: number;
  seed: number;
  scenario?: Scenario;
  groups: number;
}

const USAGE = 'npm run stress -- [--workers N] [--seconds S] [--seed K] [--scenario NAME] [--groups G]\n' +
  '  --seconds is a minimum: every scenario runs at least once, then rounds repeat until the time is up';

/** A bad command line: reported with the usage, exit 2, no stack. */
class UsageError extends Error {}

function parse(argv: string[]): CliOptions {
  const options: CliOptions = { workers: 16, seconds: 10, seed: 7, groups: 1_500 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const number = () => {
      const parsed = Number(value);
      if (!Number.isInteger(parsed) || parsed < 0) throw new UsageError(`${flag} needs a non-negative integer, got ${value}`);
      i++;
      return parsed;
    };
    switch (flag) {
      case '--workers': options.workers = Math.max(1, number()); break;
      case '--seconds': options.seconds = number(); break;
      case '--seed': options.seed = number(); break;
      case '--groups': options.groups = Math.max(8, number()); break;
      case '--scenario':
        if (!SCENARIOS.includes(value as Scenario)) throw new UsageError(`--scenario must be one of ${SCENARIOS.join(', ')}`);
        options.scenario = value as Scenario;
        i++;
        break;
      case '--help':
        console.log(USAGE);
        process.exit(0);
      default:
        throw new UsageError(`unknown flag ${flag}`);
    }
  }
  return options;
}

async function main(): Promise<void> {
  const options = parse(process.argv.slice(2));
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
    console.error(`stress: ${error.message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  console.error(`stress failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
});
