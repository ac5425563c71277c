// One stress run of one scenario: build the workload, start a wallet, run
// the workers, read the final balances, audit, check (checks.ts), and say it
// all in one line.

import { start, createUsers, balance, audit, type WalletResponse, type AuditReport } from 'exwallet';
import { build_workload, type Scenario, type Workload } from './intents.js';
import { run_workers } from './harness.js';
import { check_run, type CheckFigures } from './checks.js';
import { Random } from '../../tools/random.js';

export interface ScenarioOptions {
  scenario: Scenario;
  workers: number;
  groups: number;
  seed: number;
  budget_ms?: number;
  /** Barrier among the workers every this many sends (default 16). */
  barrier_every?: number;
}

export interface ScenarioReport {
  scenario: Scenario;
  workers: number;
  seed: number;
  violations: string[];
  figures: CheckFigures;
  audit: AuditReport;
  workload: Workload;
  elapsed_ms: number;
  /** RS_OK count against maxTransactions (table_full only). */
  table?: { max: number; applied: number; stranded: number };
  line: string;
}

export async function run_scenario(options: ScenarioOptions): Promise<ScenarioReport> {
  const workload = build_workload(options.scenario, { workers: options.workers, groups: options.groups, seed: options.seed });
  const wallet = start(workload.options);
  createUsers(wallet, workload.users);
  const run = await run_workers(wallet, {
    intents: workload.intents, plans: workload.plans, seed: options.seed, budget_ms: options.budget_ms ?? 60_000,
    barrier_every: options.barrier_every ?? 16,
  });

  // Quiescent now: every worker has exited.
  const rng = new Random(options.seed);
  const expected_users = [...workload.users, ...workload.created_names];
  const final_balances = new Map<string, WalletResponse>();
  for (const user of new Set(expected_users)) final_balances.set(user, balance(wallet, { user, request_uuid: rng.uuid() }));
  const report = audit(wallet);
  const checked = check_run({
    intents: workload.intents, sends: run.sends, initial_balance: workload.options.initialBalance,
    currency: workload.options.currency, final_balances, expected_users, audit: report,
  });
  const violations = checked.violations;
  let table: ScenarioReport['table'];
  if (options.scenario === 'table_full') {
    // A full table answers RS_ERROR_UNKNOWN to new uuids and nothing else.
    const max = workload.options.maxTransactions!;
    const applied = checked.figures.applied;
    table = { max, applied, stranded: max - applied - report.released };
    if (applied > max) violations.push(`table: ${applied} applied > maxTransactions ${max}`);
    if (report.committed !== applied) violations.push(`table: audit counts ${report.committed} committed, responses ${applied}`);
  }
  const f = checked.figures;
  const line =
    `stress scenario=${options.scenario} workers=${options.workers} seed=${options.seed} calls=${f.calls} ` +
    `uuids=${f.uuids} concurrent_uuids=${f.concurrent_uuids} applied=${f.applied} replays_checked=${f.replays_checked} conflicts_checked=${f.conflicts_checked} ` +
    `settled=${f.settled_bets} trails=${f.trails_checked} not_enough_money=${f.not_enough_money} unknown=${f.unknown} ` +
    (table ? `table=${table.applied}/${table.max} stranded=${table.stranded} ` : '') +
    `audit=${report.ok ? 'ok' : 'FAIL'} users=${report.users} ms=${Math.round(run.elapsed_ms)} violations=${violations.length}`;
  return {
    scenario: options.scenario, workers: options.workers, seed: options.seed, violations, figures: f, audit: report,
    workload, elapsed_ms: run.elapsed_ms, table, line,
  };
}
