// Command-line flags of the load runner: parsed, checked, and explained.
// Anything wrong is a UsageError (tools/cli.ts), which main.ts prints as one
// line with a hint, exit code 2.

import { availableParallelism } from 'node:os';
import { parse_flags, integer_flag, UsageError } from '../tools/cli.js';

export interface LoadArgs {
  workers: number;
  users: number;
  /** Run time; ignored when `ops` is set. */
  seconds: number;
  /** Total calls over all workers, or undefined: run for `seconds`. */
  ops: number | undefined;
  seed: number;
  /** True when --seed was given (the report says whether the seed was drawn). */
  seed_given: boolean;
  json: boolean;
  help: boolean;
  /** The wallet's transaction budget (maxTransactions): 2 units per applied bet. */
  max_transactions: number;
  /** Break the bookkeeping on purpose: the run must fail (proves the checks can). */
  canary: boolean;
  /** A durable run: the wallet's dataDir (undefined: memory only). */
  data_dir: string | undefined;
  /** Durable runs: calls a worker makes between two awaits of durable(). */
  batch: number;
}

export const DEFAULT_SECONDS = 10;
export const DEFAULT_BATCH = 256;
export const DEFAULT_USERS = 10_000;
// The transaction budget (the wallet's maxTransactions) is sized for the run
// unless --max-transactions says otherwise. It is a budget of entries
// (docs/contract.md §12): an applied bet takes 2 units (its entry and the
// reserve for its settlement), its win or rollback none more, a failed call
// or a replay none. So a call takes at most 2 units: --ops N gets 2N (plus
// the headroom main.ts keeps back). A timed run gets what the workers can
// apply in that time: CALLS_PER_WORKER_SECOND_MAX calls per worker-second
// (measured on a 2-core machine: 100-300 k/s per worker; the margin is for
// faster cores) at UNITS_PER_CALL: about 45 % of the mix's calls are applied
// bets (2 units each), so ~0.9 unit per call. Each unit costs 88 × (1 + 1/64)
// ≈ 89 bytes of shared memory, reserved up front (and touched up front: the
// runner starts the wallet with prefault); 40 M of them (3.6 GiB) is about
// the most that fits in a wasm32 memory. Workers stop early, and the report
// says so, if their share runs out: the table never fills mid-run.
const CALLS_PER_WORKER_SECOND_MAX = 400_000;
const UNITS_PER_CALL = 1;
const UNITS_PER_OPS_CALL = 2;
const TABLE_MIN = 100_000;
const TABLE_MAX = 40_000_000;

function default_max_transactions(workers: number, seconds: number, ops: number | undefined): number {
  const wanted = ops !== undefined
    ? Math.ceil(ops * UNITS_PER_OPS_CALL * 1.1) + 1000 + 100 * workers
    : Math.ceil(workers * seconds * CALLS_PER_WORKER_SECOND_MAX * UNITS_PER_CALL);
  return Math.min(TABLE_MAX, Math.max(TABLE_MIN, wanted));
}

export function usage(): string {
  return `Usage: exwallet load [options]      (npm start -- [options])

Drives a shared in-memory wallet from several worker threads with a realistic
Hub88 session mix (bets, wins of 0 or more, rollbacks, retries, duplicates,
conflicting uuids, insufficient funds, malformed requests), then audits it:
money conserved per user, exactly-once answers, no negative balance.
Exits 0 when every check passes, 1 when one fails (or no call was made),
2 on bad flags, 130 when interrupted (Ctrl-C: the partial report is printed).

Options:
  --workers N           worker threads (default: ${availableParallelism()}, the available parallelism)
  --users N             users in the wallet (default: ${DEFAULT_USERS})
  --seconds S           run for S seconds (default: ${DEFAULT_SECONDS})
  --ops N               run until about N calls in total instead (stops at a round's end)
  --seed N              seed of the mix (32-bit integer; default: random, printed)
  --max-transactions N  the transaction budget (the wallet's maxTransactions): an applied
                        bet takes 2 units (its own and its settlement's reserve), its win
                        or rollback none more (default: sized for the run, ${CALLS_PER_WORKER_SECOND_MAX / 1000}k units per
                        worker-second, or 2 per --ops call; at most ${TABLE_MAX / 1e6} M; ~89 bytes each)
  --json                print the report as JSON on stdout (and nothing else there)
  --canary              corrupt one balance and one retry check on purpose: the run
                        must then FAIL (proves that the checks can fail)
  --data-dir DIR        a durable run: the wallet journals to DIR (a new or empty
                        directory; it is left there). Each worker awaits durable()
                        after each batch of calls and counts an answer only once
                        durable() resolved for it, as a service answering only then;
                        the report adds the durable() wait latency and the durable
                        answers per second, then closes the wallet, starts it again
                        on DIR and checks the recovery: up to 20k acknowledged
                        transactions (all, if fewer) replay the same answer, every
                        balance is as before the restart, audit ok; and its time
  --batch N             with --data-dir: calls per worker between two durable()
                        waits (default: ${DEFAULT_BATCH})
  -h, --help            show this help

The mix: with --seed and --ops, one worker sends the same requests every run;
with more workers the interleaving (and so some answers) varies.`;
}

const FLAGS = {
  workers: { type: 'string' },
  users: { type: 'string' },
  seconds: { type: 'string' },
  ops: { type: 'string' },
  seed: { type: 'string' },
  'max-transactions': { type: 'string' },
  json: { type: 'boolean' },
  canary: { type: 'boolean' },
  'data-dir': { type: 'string' },
  batch: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags after `exwallet load`. Throws a UsageError naming the first problem. */
export function parse_load_args(argv: readonly string[]): LoadArgs {
  const values = parse_flags(argv, FLAGS);
  const seconds_text = values.seconds;
  let seconds = DEFAULT_SECONDS;
  if (seconds_text !== undefined) {
    seconds = Number(seconds_text);
    // Any number parses (a negative one too, tools/cli.ts): the range is this rule's to explain.
    if (seconds_text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 86_400) {
      throw new UsageError(`--seconds must be a number of seconds above 0 (at most 86400), got "${seconds_text}"`);
    }
  }
  if (values.ops !== undefined && values.seconds !== undefined) {
    throw new UsageError('give --seconds or --ops, not both');
  }
  const seed_given = values.seed !== undefined;
  // Bounds: each worker is a V8 isolate (~10 MB) with a copy of the user
  // names; beyond these the runner measures the machine's swap, not the wallet.
  const workers = integer_flag('workers', values.workers, availableParallelism(), 1, 256);
  const ops = values.ops === undefined ? undefined : integer_flag('ops', values.ops, 0, 1, Number.MAX_SAFE_INTEGER);
  const data_dir = values['data-dir'];
  if (data_dir !== undefined && data_dir.trim() === '') throw new UsageError('--data-dir needs a directory path, got ""');
  if (values.batch !== undefined && data_dir === undefined) throw new UsageError('--batch is for durable runs: give --data-dir too');
  return {
    workers,
    users: integer_flag('users', values.users, DEFAULT_USERS, 1, 1_048_576),
    seconds,
    ops,
    // The one unseeded draw: the seed itself, printed so that the run can be replayed.
    seed: seed_given ? integer_flag('seed', values.seed, 0, 0, 0xffff_ffff) : (Math.random() * 0x1_0000_0000) >>> 0,
    seed_given,
    json: values.json === true,
    help: values.help === true,
    max_transactions: integer_flag(
      'max-transactions', values['max-transactions'], default_max_transactions(workers, seconds, ops), 1000, TABLE_MAX,
    ),
    canary: values.canary === true,
    data_dir,
    batch: integer_flag('batch', values.batch, DEFAULT_BATCH, 1, 1_000_000),
  };
}
