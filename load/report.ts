// The end of a run: merge what the workers counted, check the invariants, and
// write the report (text for people, JSON for machines).
//
// The checks, each with the rule it enforces (spec §5, §8):
//   money_conserved     every user's balance() = initial + Σ the balance
//                       changes the workers saw applied (each worker books
//                       only the RS_OK answers carrying its own request's
//                       request_uuid: an original, never a replay)
//   exactly_once        every retry got its original answer; every RS_OK
//                       answer to a contested bet is the same one original;
//                       at most one settlement of a contested bet applied
//   expected_statuses   every answer is one the scenario allows (mix.ts)
//   no_negative_balance no answer and no final balance below zero
//   audit               audit(wallet).ok: every balance agrees with the ledger
//   workers             every worker finished and reported
//   calls_made          at least one call was made (a run of none proved nothing)
// and in a durable run (--data-dir; load/durable.ts):
//   durable             every call's answer was acknowledged (its durable()
//                       resolved), the journal never failed
//   restart             after close and start on the same directory: every
//                       sampled acknowledged transaction replays its answer,
//                       every balance is as before, audit ok

import type { AuditReport } from 'exwallet';
import { STATUS_NAMES, STATUS_COUNT, type WorkerMessage, type FailureSample } from './messages.js';
import { SCENARIOS, SCENARIO_COUNT } from './mix.js';
import {
  histogram_create, histogram_add, histogram_percentile_ns, histogram_mean_ns,
} from './histogram.js';
import { format_count } from './progress.js';
import type { LoadArgs } from './args.js';
import type { RestartFigures } from './durable.js';

export type DoneMessage = Extract<WorkerMessage, { kind: 'done' }>;

export interface RunOutcome {
  args: LoadArgs;
  initial_balance_units: number;
  users: readonly string[];
  /** Results of the workers that finished, by worker index (holes: did not). */
  done: (DoneMessage | undefined)[];
  worker_errors: string[];
  /** A SIGINT/SIGTERM stopped the run: the report covers the calls made before it. */
  interrupted: boolean;
  /** balance() of each user after the run, by user index. */
  final_balances: Float64Array;
  audit: AuditReport | { ok: false; error: string };
  wall_s: number;
  max_transactions: number;
  /** stats(wallet) after the run (maxTransactions is a budget: 2 units per applied bet, see messages.ts). */
  budget?: BudgetFigures;
  /** Durable runs: the restart-and-verify step (load/durable.ts). */
  restart?: RestartFigures;
}

export interface DurableFigures {
  data_dir: string;
  /** Calls per worker between two durable() waits. */
  batch_calls: number;
  /** Answers whose durable() resolved, over all workers, and per second of the run. */
  acknowledged_calls: number;
  acknowledged_per_second: number;
  acknowledged_transactions: number;
  waits: number;
  /** Latency of one await durable(wallet) in a worker. */
  wait_us: { mean: number; p50: number; p99: number; p99_9: number; max: number };
  errors: string[];
}

export interface BudgetFigures {
  max: number;
  used: number;
  applied: number;
  open_bets: number;
  reserve_held: number;
  /** used / max. */
  fill: number;
  /** Units each worker's applied bets could take at most (main.ts worker_budget_units). */
  per_worker_share: number;
}

const FAILURE_SAMPLES_MAX = 10;
const MONEY_EXAMPLES_MAX = 5;

export interface Check {
  ok: boolean;
  [detail: string]: unknown;
}

export interface LoadReport {
  ok: boolean;
  /** Stopped by a signal: a partial run, whatever the checks say (exit 130). */
  interrupted: boolean;
  canary: boolean;
  seed: number;
  workers: number;
  users: number;
  stopped_by: string[];
  seconds: number;
  calls: number;
  calls_per_second: number;
  applied_transactions: number;
  max_transactions: number;
  budget: BudgetFigures | null;
  statuses: Record<string, number>;
  scenarios: Record<string, { calls: number; failures: number; rule: string }>;
  latency_us: { mean: number; p50: number; p99: number; p99_9: number; max: number };
  checks: {
    /** A run that made no call has proved nothing: it fails. */
    calls_made: Check;
    money_conserved: Check;
    exactly_once: Check;
    expected_statuses: Check;
    no_negative_balance: Check;
    audit: Check;
    workers: Check;
    /** Durable runs only. */
    durable?: Check;
    restart?: Check;
  };
  failures: FailureSample[];
  /** Durable runs only (--data-dir). */
  durable?: DurableFigures;
  restart?: RestartFigures;
}

const round_us = (ns: number): number => Math.round(ns / 10) / 100;
const format_us = (us: number): string => (us < 1000 ? `${us.toFixed(1)} µs` : `${(us / 1000).toFixed(1)} ms`);
const format_ms = (ms: number): string => (ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`);

function contest_check(done: DoneMessage[]): {
  slots: number; applied_bets: number; replayed_answers: number; answer_mismatches: number; double_settlements: number;
  examples: string[];
} {
  // slot -> first RS_OK answer seen (request_uuid, balance) and settlements.
  const answers = new Map<number, { request_uuid: string; balance: number }>();
  const settlements = new Map<number, number>();
  let answer_mismatches = 0;
  let ok_answers = 0;
  const examples: string[] = [];
  for (const result of done) {
    const c = result.contest;
    for (let i = 0; i < c.slots.length; i++) {
      const slot = c.slots[i];
      settlements.set(slot, (settlements.get(slot) ?? 0) + c.settled_here[i]);
      const request_uuid = c.bet_request_uuids[i];
      if (request_uuid === '') continue;
      ok_answers++;
      const seen = answers.get(slot);
      if (seen === undefined) {
        answers.set(slot, { request_uuid, balance: c.bet_balances[i] });
      } else if (seen.request_uuid !== request_uuid || seen.balance !== c.bet_balances[i]) {
        answer_mismatches++;
        if (examples.length < MONEY_EXAMPLES_MAX) {
          examples.push(`slot ${slot}: answers ${JSON.stringify(seen)} and ${JSON.stringify({ request_uuid, balance: c.bet_balances[i] })}`);
        }
      }
    }
  }
  let double_settlements = 0;
  for (const [slot, count] of settlements) {
    if (count > 1) {
      double_settlements++;
      if (examples.length < MONEY_EXAMPLES_MAX) examples.push(`slot ${slot}: settled ${count} times`);
    }
  }
  return {
    slots: settlements.size, applied_bets: answers.size, replayed_answers: ok_answers - answers.size,
    answer_mismatches, double_settlements, examples,
  };
}

export function build_report(outcome: RunOutcome): LoadReport {
  const done = outcome.done.filter((d): d is DoneMessage => d !== undefined);
  const users_count = outcome.users.length;
  const status_counts = new Float64Array(STATUS_COUNT);
  const scenario_calls = new Float64Array(SCENARIO_COUNT);
  const scenario_failures = new Float64Array(SCENARIO_COUNT);
  const money_units = new Float64Array(users_count);
  const histogram = histogram_create();
  let calls = 0;
  let applied = 0;
  let replay_mismatches = 0;
  let unexpected_statuses = 0;
  let negative_seen = 0;
  let elapsed_ms_max = 0;
  const failures: FailureSample[] = [];
  for (const d of done) {
    calls += d.calls;
    applied += d.applied;
    replay_mismatches += d.replay_mismatches;
    unexpected_statuses += d.unexpected_statuses;
    negative_seen += d.negative_balances_seen;
    elapsed_ms_max = Math.max(elapsed_ms_max, d.elapsed_ms);
    for (let s = 0; s < STATUS_COUNT; s++) status_counts[s] += d.status_counts[s];
    for (let k = 0; k < SCENARIO_COUNT; k++) {
      scenario_calls[k] += d.scenario_calls[k];
      scenario_failures[k] += d.scenario_failures[k];
    }
    for (let u = 0; u < users_count; u++) money_units[u] += d.money_units[u];
    histogram_add(histogram, d.latency_histogram);
    for (const f of d.failures) if (failures.length < FAILURE_SAMPLES_MAX) failures.push(f);
  }

  // Money: with every worker done, the sum of what they saw applied must be
  // exactly what the wallet holds. (With a worker missing, its bookings are
  // missing too, and the check fails, as it should: the run is incomplete.)
  let money_mismatches = 0;
  let negative_final = 0;
  const money_examples: string[] = [];
  for (let u = 0; u < users_count; u++) {
    const expected_units = outcome.initial_balance_units + money_units[u];
    const actual_units = outcome.final_balances[u];
    if (actual_units < 0) negative_final++;
    if (actual_units !== expected_units) {
      money_mismatches++;
      if (money_examples.length < MONEY_EXAMPLES_MAX) {
        money_examples.push(`${outcome.users[u]}: balance ${actual_units}, expected ${expected_units}`);
      }
    }
  }
  const contest = contest_check(done);
  const seconds = elapsed_ms_max / 1000;
  const audit = outcome.audit;
  const workers_ok = outcome.worker_errors.length === 0 && done.length === outcome.args.workers;

  const checks: LoadReport['checks'] = {
    calls_made: { ok: calls > 0, calls },
    money_conserved: {
      ok: money_mismatches === 0, users_checked: users_count, users_mismatched: money_mismatches, examples: money_examples,
    },
    exactly_once: {
      ok: replay_mismatches === 0 && contest.answer_mismatches === 0 && contest.double_settlements === 0,
      retries_checked: scenario_calls[SCENARIOS.findIndex(([n]) => n === 'bet_retry')] +
        scenario_calls[SCENARIOS.findIndex(([n]) => n === 'win_retry')] +
        scenario_calls[SCENARIOS.findIndex(([n]) => n === 'rollback_retry')],
      replay_mismatches,
      contested_slots: contest.slots,
      contested_bets_applied: contest.applied_bets,
      contested_replayed_answers: contest.replayed_answers,
      contested_answer_mismatches: contest.answer_mismatches,
      contested_double_settlements: contest.double_settlements,
      examples: contest.examples,
    },
    expected_statuses: { ok: unexpected_statuses === 0 && status_counts[STATUS_COUNT - 1] === 0, unexpected: unexpected_statuses },
    no_negative_balance: { ok: negative_seen === 0 && negative_final === 0, negative_in_answers: negative_seen, negative_final },
    audit: { ...audit },
    workers: { ok: workers_ok, finished: done.length, of: outcome.args.workers, errors: outcome.worker_errors },
  };

  let durable: DurableFigures | undefined;
  if (outcome.args.data_dir !== undefined) {
    const waits = histogram_create();
    let acknowledged_calls = 0;
    let acknowledged_transactions = 0;
    let wait_count = 0;
    const errors: string[] = [];
    for (const d of done) {
      if (d.durable === undefined) continue;
      histogram_add(waits, d.durable.wait_histogram);
      acknowledged_calls += d.durable.acked_calls;
      acknowledged_transactions += d.durable.acked_applied;
      wait_count += d.durable.waits;
      if (d.durable.error !== undefined) errors.push(d.durable.error);
    }
    durable = {
      data_dir: outcome.args.data_dir,
      batch_calls: outcome.args.batch,
      acknowledged_calls,
      acknowledged_per_second: seconds > 0 ? Math.round(acknowledged_calls / seconds) : 0,
      acknowledged_transactions,
      waits: wait_count,
      wait_us: {
        mean: round_us(histogram_mean_ns(waits)),
        p50: round_us(histogram_percentile_ns(waits, 50)),
        p99: round_us(histogram_percentile_ns(waits, 99)),
        p99_9: round_us(histogram_percentile_ns(waits, 99.9)),
        max: round_us(histogram_percentile_ns(waits, 100)),
      },
      errors,
    };
    checks.durable = {
      ok: errors.length === 0 && acknowledged_calls === calls, acknowledged_calls, of: calls, journal_errors: errors,
    };
    const r = outcome.restart;
    checks.restart = r === undefined ? { ok: false, error: 'no restart was made' } : { ...r, ok: r.ok };
  }

  const statuses: Record<string, number> = {};
  STATUS_NAMES.forEach((name, s) => { statuses[name] = status_counts[s]; });
  const scenarios: LoadReport['scenarios'] = {};
  SCENARIOS.forEach(([name, rule], k) => {
    scenarios[name] = { calls: scenario_calls[k], failures: scenario_failures[k], rule };
  });

  return {
    ok: Object.values(checks).every((check) => check.ok),
    interrupted: outcome.interrupted,
    canary: outcome.args.canary,
    seed: outcome.args.seed,
    workers: outcome.args.workers,
    users: users_count,
    stopped_by: [...new Set(done.map((d) => d.stopped_by))],
    seconds: Math.round(seconds * 1000) / 1000,
    calls,
    calls_per_second: seconds > 0 ? Math.round(calls / seconds) : 0,
    applied_transactions: applied,
    max_transactions: outcome.max_transactions,
    budget: outcome.budget ?? null,
    statuses,
    scenarios,
    latency_us: {
      mean: round_us(histogram_mean_ns(histogram)),
      p50: round_us(histogram_percentile_ns(histogram, 50)),
      p99: round_us(histogram_percentile_ns(histogram, 99)),
      p99_9: round_us(histogram_percentile_ns(histogram, 99.9)),
      max: round_us(histogram_percentile_ns(histogram, 100)),
    },
    checks,
    failures,
    ...(durable === undefined ? {} : { durable, restart: outcome.restart }),
  };
}

const mark = (ok: boolean): string => (ok ? 'ok  ' : 'FAIL');

export function format_report(report: LoadReport): string {
  const out: string[] = [];
  const c = report.checks;
  out.push(
    `exwallet load: ${report.workers} workers, ${format_count(report.users)} users, seed ${report.seed}, ` +
      `${report.seconds.toFixed(2)} s (stopped by ${report.stopped_by.join(', ') || 'nothing: no worker finished'})`,
  );
  if (report.canary) out.push('CANARY RUN: one balance and one retry check were falsified on purpose; it must FAIL');
  out.push('');
  out.push(`calls        ${format_count(report.calls)}  (${format_count(report.calls_per_second)} calls/s over all workers)`);
  out.push(`applied      ${format_count(report.applied_transactions)} transactions (budget: ${format_count(report.max_transactions)})`);
  const b = report.budget;
  if (b !== null) {
    out.push(
      `budget       ${format_count(b.used)} of ${format_count(b.max)} units used (${(100 * b.fill).toFixed(1)} %): ` +
        `${format_count(b.applied)} applied + ${format_count(b.reserve_held)} held for ${format_count(b.open_bets)} open bets`,
    );
  }
  const l = report.latency_us;
  out.push(
    `latency      p50 ${format_us(l.p50)}  p99 ${format_us(l.p99)}  p99.9 ${format_us(l.p99_9)}  max ${format_us(l.max)}` +
      '  (one call, timed in its thread)',
  );
  const d = report.durable;
  if (d !== undefined) {
    const w = d.wait_us;
    out.push(
      `durable      ${format_count(d.acknowledged_calls)} answers acknowledged after durable(): ${format_count(d.acknowledged_per_second)} durable answers/s ` +
        `(${format_count(d.waits)} waits, one per ≤ ${format_count(d.batch_calls)} calls of a worker; journal in ${d.data_dir})`,
    );
    out.push(`durable()    p50 ${format_us(w.p50)}  p99 ${format_us(w.p99)}  p99.9 ${format_us(w.p99_9)}  max ${format_us(w.max)}  (one await durable(wallet), in a worker)`);
  }
  const r = report.restart;
  if (r !== undefined) {
    out.push(
      r.error !== undefined && r.recovery_ms === 0
        ? `restart      FAILED: ${r.error}`
        : `restart      close ${format_ms(r.close_ms)}, recovery ${format_ms(r.recovery_ms)}: ${format_count(r.transactions_recovered)} of ` +
          `${format_count(r.transactions_before)} transactions back (data dir ${(r.data_dir_bytes / 2 ** 20).toFixed(1)} MiB)`,
    );
  }
  out.push('');
  out.push('statuses');
  const width = Math.max(...STATUS_NAMES.map((n) => n.length));
  for (const [name, count] of Object.entries(report.statuses)) {
    if (count === 0 && name === 'other') continue;
    const share = report.calls > 0 ? ((100 * count) / report.calls).toFixed(2).padStart(6) : '  0.00';
    out.push(`  ${name.padEnd(width)} ${format_count(count).padStart(13)}  ${share} %`);
  }
  out.push('');
  out.push('scenarios                    calls  off  rule');
  const scenario_width = Math.max(...Object.keys(report.scenarios).map((n) => n.length));
  for (const [name, s] of Object.entries(report.scenarios)) {
    out.push(`  ${name.padEnd(scenario_width)} ${format_count(s.calls).padStart(10)} ${String(s.failures).padStart(4)}  ${s.rule}`);
  }
  out.push('');
  out.push('checks');
  out.push(`  ${mark(c.money_conserved.ok)} money conserved per user: ${c.money_conserved.users_mismatched} of ${format_count(c.money_conserved.users_checked as number)} users off`);
  out.push(
    `  ${mark(c.exactly_once.ok)} exactly once: ${format_count(c.exactly_once.retries_checked as number)} retries, ` +
      `${c.exactly_once.replay_mismatches} without their original answer`,
  );
  out.push(
    `       ${format_count(c.exactly_once.contested_slots as number)} contested bets, ` +
      `${format_count(c.exactly_once.contested_replayed_answers as number)} answered to a twin: ` +
      `${c.exactly_once.contested_answer_mismatches} with differing answers, ${c.exactly_once.contested_double_settlements} settled twice`,
  );
  out.push(`  ${mark(c.expected_statuses.ok)} expected statuses: ${c.expected_statuses.unexpected} unexpected`);
  out.push(`  ${mark(c.no_negative_balance.ok)} no negative balance: ${c.no_negative_balance.negative_in_answers} in answers, ${c.no_negative_balance.negative_final} at the end`);
  const a = c.audit;
  out.push(
    'error' in a
      ? `  FAIL audit(wallet): ${String(a.error)}`
      : `  ${mark(a.ok)} audit(wallet): ${format_count(a.committed as number)} committed, ${a.balanceMismatches} balances off, ` +
        `${a.negativeBalances} negative, ${a.settlementErrors} bad settlements`,
  );
  out.push(`  ${mark(c.workers.ok)} workers: ${c.workers.finished} of ${c.workers.of} finished`);
  if (c.durable !== undefined) {
    out.push(
      `  ${mark(c.durable.ok)} durable: ${format_count(c.durable.acknowledged_calls as number)} of ${format_count(c.durable.of as number)} answers acknowledged after durable()` +
        `${(c.durable.journal_errors as string[]).length > 0 ? `; durable() rejected: ${(c.durable.journal_errors as string[])[0]}` : ', the journal never failed'}`,
    );
  }
  if (r !== undefined) {
    out.push(
      `  ${mark(r.ok)} restart: ${format_count(r.sampled)} of ${format_count(r.acknowledged_transactions)} acknowledged transactions replayed, ` +
        `${r.replay_mismatches} with another answer; ${format_count(r.users_checked)} balances, ${r.balance_mismatches} not as before the restart, ` +
        `${r.negative_balances} negative; ${format_count(r.transactions_recovered)} of ${format_count(r.transactions_before)} transactions; audit ${r.audit_ok ? 'ok' : 'FAILED'}`,
    );
    if (r.error !== undefined) out.push(`       ${r.error}`);
    for (const e of [...r.examples, ...r.audit_findings.map((f) => `audit after the restart: ${f}`)]) out.push(`       ${e}`);
  } else if (c.restart !== undefined) {
    out.push(`  FAIL restart: ${String(c.restart.error)}`);
  }
  for (const e of c.workers.errors as string[]) out.push(`       ${e}`);
  for (const e of [...(c.money_conserved.examples as string[]), ...(c.exactly_once.examples as string[])]) out.push(`       ${e}`);
  if ('findings' in a) for (const f of a.findings as string[]) out.push(`       audit: ${f}`);
  if (report.failures.length > 0) {
    out.push('');
    out.push('failures (samples)');
    for (const f of report.failures) {
      out.push(`  [worker ${f.worker_index}] ${f.scenario}: ${f.rule}; expected ${f.expected}`);
      out.push(`      request  ${JSON.stringify(f.request)}`);
      out.push(`      response ${JSON.stringify(f.response)}`);
    }
  }
  if (report.stopped_by.includes('budget')) {
    out.push('');
    out.push('note: workers stopped early: their share of the transaction budget was spent (2 units per bet; raise --max-transactions).');
  }
  out.push('');
  out.push(verdict(report));
  return out.join('\n');
}

/** The last line of the report: what the exit code says, in words. */
function verdict(report: LoadReport): string {
  if (report.calls === 0) return 'FAIL: no calls were made';
  if (report.interrupted) {
    return `INTERRUPTED: a partial run; the checks above cover its ${format_count(report.calls)} calls ${report.ok ? '(all passed)' : '(one failed)'}`;
  }
  return report.ok ? 'PASS: every check passed' : 'FAIL: a check failed (see above)';
}
