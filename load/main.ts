// exwallet load: start a wallet, create users, let W worker threads play the
// Hub88 session mix against it, show progress, then audit and report.
// `npm start -- [options]` or `exwallet load [options]` (bin/exwallet.ts);
// --help for the flags. An app, not the library: it imports exwallet by its
// package name, like any user.
//
// Exit codes: 0 every check passed, 1 a check failed (or no call was made, or
// a worker died or hung), 2 bad flags or options the wallet refuses, 130
// interrupted (SIGINT/SIGTERM: the partial report is printed first).

import { Worker } from 'node:worker_threads';
import { start, share, createUsers, balance, audit, stats, type Wallet, type WalletOptions } from 'exwallet';
import { corrupt_balance } from 'exwallet/testing';
import { UsageError, usage_line, EXIT_USAGE } from '../tools/cli.js';
import { parse_load_args, usage, type LoadArgs } from './args.js';
import { Progress } from './progress.js';
import { build_report, format_report, type DoneMessage, type RunOutcome } from './report.js';
import { histogram_create, histogram_add, histogram_difference, histogram_percentile_ns } from './histogram.js';
import { STATUS_COUNT, BUDGET_UNITS_PER_BET, type WorkerSetup, type WorkerMessage, type ParentMessage } from './messages.js';
import { prepare_data_dir, restart_and_verify, RESTART_SAMPLES_MAX } from './durable.js';

const INITIAL_BALANCE_UNITS = 100_000;
const CURRENCY = 'USD';
const PROGRESS_INTERVAL_MS = 200;
const DISPLAY_INTERVAL_MS = 250;
/** calls/s and p99 on the display are over this trailing window. */
const RATE_WINDOW_MS = 1000;
const CONTEST_SLOT_MS = 2;
/** Workers may use this share of the maxTransactions budget (each applied
 *  bet takes BUDGET_UNITS_PER_BET units, its settlement none more: messages.ts);
 *  the rest is headroom. */
const TABLE_BUDGET_SHARE = 0.95;
/** Per worker, also kept back: the units a thread holds in its chunk, unused,
 *  when the run ends (README, "Full transaction table": chunks of up to 64),
 *  and what one pass of the worker loop applies after its budget check (a
 *  contested bet and the round's bet). */
const CHUNK_UNITS_MAX = 64;
const PASS_UNITS_MAX = 2 * BUDGET_UNITS_PER_BET;

/** One worker's share of the budget: the table never fills mid-run while
 *  every worker keeps to it. */
export function worker_budget_units(max_transactions: number, workers: number): number {
  return Math.floor((max_transactions * TABLE_BUDGET_SHARE) / workers) - CHUNK_UNITS_MAX - PASS_UNITS_MAX;
}
const READY_DEADLINE_MS = 30_000;
/** A worker posts progress every PROGRESS_INTERVAL_MS; silent this long, it is hung. */
const SILENCE_DEADLINE_MS = 15_000;
/** After the planned end, workers get this long to report before they are terminated. */
const FINISH_GRACE_MS = 30_000;
/** The shell's code for a process ended by SIGINT (128 + 2). */
const EXIT_INTERRUPTED = 130;
const PROGRAM = 'exwallet load';

interface WorkerState {
  worker: Worker;
  ready: boolean;
  exited: boolean;
  last_message_ms: number;
  calls: number;
  status_counts: Float64Array;
  latency_histogram: Float64Array;
  done: DoneMessage | undefined;
}

function user_names(count: number): string[] {
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => `player-${String(i + 1).padStart(width, '0')}`);
}

async function run(args: LoadArgs, wallet: Wallet, users: string[]): Promise<RunOutcome> {
  const handle = share(wallet);
  const worker_errors: string[] = [];
  const states: WorkerState[] = [];
  for (let i = 0; i < args.workers; i++) {
    const calls_max = args.ops === undefined ? Infinity : Math.floor(args.ops / args.workers) + (i < args.ops % args.workers ? 1 : 0);
    const setup: WorkerSetup = {
      handle, worker_index: i, seed: args.seed, users, initial_balance_units: INITIAL_BALANCE_UNITS,
      currency: CURRENCY, calls_max,
      budget_units_max: worker_budget_units(args.max_transactions, args.workers),
      progress_interval_ms: PROGRESS_INTERVAL_MS, contest_slot_ms: args.workers > 1 ? CONTEST_SLOT_MS : 0,
      canary: args.canary && i === 0,
      durable_batch_calls: args.data_dir === undefined ? 0 : args.batch,
      samples_max: Math.ceil(RESTART_SAMPLES_MAX / args.workers),
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: setup });
    const state: WorkerState = {
      worker, ready: false, exited: false, last_message_ms: performance.now(), calls: 0,
      status_counts: new Float64Array(STATUS_COUNT), latency_histogram: histogram_create(), done: undefined,
    };
    states.push(state);
    worker.on('message', (message: WorkerMessage) => {
      state.last_message_ms = performance.now();
      if (message.kind === 'ready') {
        state.ready = true;
        return;
      }
      state.calls = message.calls;
      state.status_counts = message.status_counts;
      state.latency_histogram = message.latency_histogram;
      if (message.kind === 'done') state.done = message;
    });
    worker.on('error', (error) => worker_errors.push(`worker ${i}: ${error.stack ?? String(error)}`));
    worker.on('exit', (code) => {
      state.exited = true;
      if (state.done === undefined) worker_errors.push(`worker ${i}: exited (code ${code}) without reporting`);
    });
  }
  const tell_all = (message: ParentMessage): void => {
    for (const s of states) if (!s.exited) s.worker.postMessage(message);
  };
  const terminate_all = async (reason: string): Promise<void> => {
    for (const [i, s] of states.entries()) {
      if (!s.exited) {
        worker_errors.push(`worker ${i}: terminated: ${reason}`);
        await s.worker.terminate();
      }
    }
  };
  const all = (predicate: (s: WorkerState) => boolean): boolean => states.every(predicate);
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  // Ctrl-C: stop the workers cleanly and report what was done; a second one
  // gives up at once. Installed before the workers start, so a signal at any
  // moment of the run gets the partial report (and exit 130), never a PASS.
  let interrupted = false;
  const on_signal = (): void => {
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    tell_all({ kind: 'stop' });
  };
  process.on('SIGINT', on_signal);
  process.on('SIGTERM', on_signal);

  // Start together, once every worker has attached: thread start-up does not
  // eat into the measured time.
  const ready_deadline_ms = performance.now() + READY_DEADLINE_MS;
  while (!all((s) => s.ready || s.exited) && performance.now() < ready_deadline_ms && !interrupted) await sleep(5);
  if (!all((s) => s.ready || s.exited)) await terminate_all(`not ready within ${READY_DEADLINE_MS} ms`);

  const start_epoch_ms = Date.now();
  const end_epoch_ms = args.ops === undefined ? start_epoch_ms + args.seconds * 1000 : Infinity;
  const started_ms = performance.now();
  // A worker told to stop before "go" has finished already; "go" then changes nothing.
  tell_all(interrupted ? { kind: 'stop' } : { kind: 'go', start_epoch_ms, end_epoch_ms });
  for (const s of states) s.last_message_ms = started_ms;

  const progress = new Progress(process.stderr);
  const history: { at_ms: number; calls: number; histogram: Float64Array }[] = [
    { at_ms: started_ms, calls: 0, histogram: histogram_create() },
  ];
  const show = (): void => {
    const now_ms = performance.now();
    let calls = 0;
    const status_counts = new Float64Array(STATUS_COUNT);
    const histogram = histogram_create();
    for (const s of states) {
      calls += s.calls;
      for (let k = 0; k < STATUS_COUNT; k++) status_counts[k] += s.status_counts[k];
      histogram_add(histogram, s.latency_histogram);
    }
    history.push({ at_ms: now_ms, calls, histogram });
    while (history.length > 2 && now_ms - history[1].at_ms >= RATE_WINDOW_MS) history.shift();
    const base = history[0];
    const window_s = (now_ms - base.at_ms) / 1000;
    progress.update({
      // The last update comes after the workers wound down: past the end.
      elapsed_s: Math.min((now_ms - started_ms) / 1000, args.ops === undefined ? args.seconds : Infinity),
      total_s: args.ops === undefined ? args.seconds : undefined,
      calls,
      calls_max: args.ops,
      calls_per_s: window_s > 0 ? (calls - base.calls) / window_s : 0,
      p99_us: histogram_percentile_ns(histogram_difference(histogram, base.histogram), 99) / 1000,
      status_counts,
    });
  };

  const finish_deadline_ms = args.ops === undefined ? started_ms + args.seconds * 1000 + FINISH_GRACE_MS : Infinity;
  while (!all((s) => s.exited)) {
    await sleep(DISPLAY_INTERVAL_MS);
    show();
    const now_ms = performance.now();
    for (const [i, s] of states.entries()) {
      if (!s.exited && s.done === undefined && now_ms - s.last_message_ms > SILENCE_DEADLINE_MS) {
        worker_errors.push(`worker ${i}: silent for ${SILENCE_DEADLINE_MS} ms (hung?): terminated`);
        await s.worker.terminate();
      }
    }
    if (now_ms > finish_deadline_ms) await terminate_all(`still running ${FINISH_GRACE_MS} ms after the planned end`);
  }
  show();
  progress.finish();
  process.off('SIGINT', on_signal);
  process.off('SIGTERM', on_signal);

  // Every worker has exited: no call is in flight, the audit may run.
  if (args.canary) {
    const now_units = balance(wallet, { user: users[0], request_uuid: 'load-canary' }).balance ?? 0;
    corrupt_balance(wallet, users[0], now_units + 1);
  }
  const final_balances = new Float64Array(users.length);
  for (let u = 0; u < users.length; u++) {
    final_balances[u] = balance(wallet, { user: users[u], request_uuid: 'load-final' }).balance ?? NaN;
  }
  // After the workers, before the audit: what the run used of the budget.
  const s = stats(wallet);
  const budget: RunOutcome['budget'] = {
    max: s.budget, used: s.budgetUsed, applied: s.transactions, open_bets: s.openBets, reserve_held: s.reserveHeld,
    fill: Math.round(s.tableFill * 1e4) / 1e4, per_worker_share: worker_budget_units(args.max_transactions, args.workers),
  };
  let audit_report: RunOutcome['audit'];
  try {
    audit_report = audit(wallet);
  } catch (error) {
    audit_report = { ok: false, error: (error as Error).message };
  }
  return {
    args, initial_balance_units: INITIAL_BALANCE_UNITS, users, done: states.map((s) => s.done), worker_errors, interrupted,
    final_balances, audit: audit_report, wall_s: (performance.now() - started_ms) / 1000, max_transactions: args.max_transactions, budget,
  };
}

/** Runs `exwallet load` with the flags after "load"; resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let args: LoadArgs;
  try {
    args = parse_load_args(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(usage_line(PROGRAM, error.message) + '\n');
    return EXIT_USAGE;
  }
  if (args.help) {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  if (worker_budget_units(args.max_transactions, args.workers) < BUDGET_UNITS_PER_BET) {
    const needed = Math.ceil((args.workers * (BUDGET_UNITS_PER_BET + CHUNK_UNITS_MAX + PASS_UNITS_MAX)) / TABLE_BUDGET_SHARE);
    process.stderr.write(usage_line(PROGRAM,
      `--max-transactions ${args.max_transactions} leaves no room for a bet in ${args.workers} workers' shares (each bet takes ${BUDGET_UNITS_PER_BET} units); give at least ${needed}`) + '\n');
    return EXIT_USAGE;
  }
  const users = user_names(args.users);
  const problem = args.data_dir === undefined ? undefined : prepare_data_dir(args.data_dir);
  if (problem !== undefined) {
    process.stderr.write(usage_line(PROGRAM, problem) + '\n');
    return EXIT_USAGE;
  }
  let wallet: Wallet;
  try {
    const options: WalletOptions = {
      maxUsers: args.users, maxTransactions: args.max_transactions, maxThreads: args.workers + 2,
      initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY,
      prefault: true, // as a latency-critical service would: no call pays for a first-touch page fault
    };
    wallet = start(args.data_dir === undefined ? options : { ...options, dataDir: args.data_dir });
  } catch (error) {
    // A durable run: the directory cannot be created, locked or written (an
    // fs error, EXWALLET_LOCKED): the command line's fault, one line too.
    const code = (error as { code?: unknown }).code;
    if (!(error instanceof RangeError) && !(args.data_dir !== undefined && typeof code === 'string')) throw error;
    const message = error instanceof RangeError ? error.message : `--data-dir ${args.data_dir}: ${(error as Error).message.split('\n')[0]}`;
    process.stderr.write(usage_line(PROGRAM, message) + '\n');
    return EXIT_USAGE;
  }
  createUsers(wallet, users);
  if (!args.json) {
    process.stderr.write(
      `exwallet load: ${args.workers} workers, ${args.users} users, ` +
        `${args.ops === undefined ? `${args.seconds} s` : `${args.ops} calls`}, seed ${args.seed}` +
        `${args.seed_given ? '' : ' (drawn: pass --seed to replay this mix)'}` +
        `${args.data_dir === undefined ? '' : `, durable in ${args.data_dir} (durable() every ${args.batch} calls per worker)`}\n`,
    );
  }
  const outcome = await run(args, wallet, users);
  if (args.data_dir !== undefined) {
    if (!args.json) process.stderr.write(`exwallet load: closing the wallet, restarting it on ${args.data_dir} and checking the recovery\n`);
    const samples = outcome.done.flatMap((d) => d?.durable?.samples ?? []);
    const acknowledged = outcome.done.reduce((sum, d) => sum + (d?.durable?.acked_applied ?? 0), 0);
    outcome.restart = await restart_and_verify(wallet, args.data_dir, users, outcome.final_balances, samples, acknowledged);
  }
  const report = build_report(outcome);
  process.stdout.write((args.json ? JSON.stringify(report, null, 2) : format_report(report)) + '\n');
  if (report.interrupted) return EXIT_INTERRUPTED;
  return report.ok ? 0 : 1;
}
