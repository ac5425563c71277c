// Invariants under many workers (spec §8), each scenario at quick size: see
// tests/stress/checks.ts for the list (each uuid applied at most once, every
// later duplicate replays the original, money conserved per user, at most one
// settlement per bet, no negative balance, no user lost or doubled, audit ok).
// The long run: npm run stress -- --workers 16 --seconds 60 --seed 7.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SCENARIOS } from './stress/intents.js';
import { run_scenario } from './stress/scenario.js';
import { check_run, trail_problem } from './stress/checks.js';
import type { Sent } from './stress/stress_worker.js';

const WORKERS = Number(process.env.STRESS_WORKERS ?? 6);
const GROUPS = Number(process.env.STRESS_GROUPS ?? 300);
const SEED = Number(process.env.STRESS_SEED ?? Date.now() % 100_000);

for (const scenario of SCENARIOS) {
  test(`stress ${scenario}: ${WORKERS} workers keep every invariant`, async () => {
    const report = await run_scenario({
      scenario, workers: WORKERS, groups: scenario === 'table_full' ? 256 : GROUPS, seed: SEED, budget_ms: 30_000,
    });
    console.log(report.line);
    assert.equal(report.violations, [], `seed ${SEED}`);
    // The run must have exercised what it claims to.
    assert.ok(report.figures.replays_checked > 0, 'no duplicate was sent after its original returned');
    if (scenario === 'conflicts') assert.ok(report.figures.conflicts_checked > 0, 'no conflicting duplicate was checked');
    if (scenario === 'hot_user') assert.ok(report.figures.not_enough_money > 0, 'the hot user never ran out of money');
    if (scenario === 'settle_race') assert.ok(report.figures.settled_bets > 0, 'no bet was settled');
    if (scenario === 'table_full') assert.ok(report.table!.applied < report.table!.max + 1 && report.figures.unknown > 0);
  });
}

test('canary: the checker reports a double apply, a lost duplicate and a money leak', async () => {
  // A real run, then its record is falsified three ways; each must be seen.
  const report = await run_scenario({ scenario: 'duplicates', workers: 2, groups: 40, seed: SEED, budget_ms: 30_000 });
  assert.equal(report.violations, []);
  const workload = report.workload;
  const base = {
    intents: workload.intents, initial_balance: workload.options.initialBalance, currency: workload.options.currency,
    expected_users: workload.users,
  };
  const final_balances = new Map(workload.users.map((user) => [user, { user, status: 'RS_OK' as const, request_uuid: '', currency: 'USD', balance: 100_000 }]));
  const bet_index = workload.intents.findIndex((intent) => intent.op === 'bet');
  const bet_body = workload.intents[bet_index]!.body;
  const ok = (request_uuid: string, balance: number) =>
    ({ user: bet_body.user as string, status: 'RS_OK' as const, request_uuid, currency: 'USD', balance });
  const sent = (request_uuid: string, response: Sent['response'], invoke: number): Sent =>
    ({ worker: 0, phase: 0, intent: bet_index, request_uuid, response, invoke, ret: invoke + 1 });

  // Two originals for one uuid: applied twice.
  const twice = check_run({ ...base, final_balances, sends: [sent('r1', ok('r1', 90), 0), sent('r2', ok('r2', 80), 2)] });
  assert.ok(twice.violations.some((v) => v.startsWith('I1')), twice.violations.join('\n'));
  // A duplicate after the original that did not see it.
  const lost = check_run({
    ...base, final_balances,
    sends: [sent('r1', ok('r1', 90), 0), sent('r2', { user: bet_body.user as string, status: 'RS_ERROR_UNKNOWN', request_uuid: 'r2' }, 2)],
  });
  assert.ok(lost.violations.some((v) => v.startsWith('I2')), lost.violations.join('\n'));
  // A bet applied while the final balance did not move: money created.
  const leak = check_run({ ...base, final_balances, sends: [sent('r1', ok('r1', 90), 0)] });
  assert.ok(leak.violations.some((v) => v.startsWith('I3')), leak.violations.join('\n'));
});

test('canary: the trail check (I8) sees a lost update and a balance that never existed', () => {
  // Two debits of 10 from 100 that both answered 90, with the total right.
  assert.ok(trail_problem(100, 80, [[100, 90], [100, 90]], []));
  // A correct chain, but a refusal reported a balance of 95.
  assert.ok(trail_problem(100, 80, [[100, 90], [90, 80]], [95]));
  // The same chain with truthful reads, in any order, and a zero bet.
  assert.is(trail_problem(100, 80, [[90, 80], [100, 90], [90, 90]], [90, 100, 80]), undefined);
  // A win back to the start: a circuit.
  assert.is(trail_problem(100, 100, [[100, 90], [90, 100]], []), undefined);
});

test.run();
