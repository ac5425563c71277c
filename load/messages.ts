// What the parent and the load workers say to each other, and the status
// table both index counts by. One worker posts a few messages a second (never
// one per call): cumulative counters, so a lost or late snapshot costs nothing.

import {
  RS_OK, RS_ERROR_NOT_ENOUGH_MONEY, RS_ERROR_DUPLICATE_TRANSACTION, RS_ERROR_TRANSACTION_DOES_NOT_EXIST,
  RS_ERROR_UNKNOWN, RS_ERROR_WRONG_CURRENCY, RS_ERROR_WRONG_TYPES,
  type WalletHandle, type WalletResponse,
} from 'exwallet';

/** Statuses in counting order; an answer outside the list counts as "other". */
export const STATUS_NAMES = [
  RS_OK,
  RS_ERROR_NOT_ENOUGH_MONEY,
  RS_ERROR_DUPLICATE_TRANSACTION,
  RS_ERROR_TRANSACTION_DOES_NOT_EXIST,
  RS_ERROR_UNKNOWN,
  RS_ERROR_WRONG_CURRENCY,
  RS_ERROR_WRONG_TYPES,
  'other',
] as const;
export const STATUS_COUNT = STATUS_NAMES.length;
export const S_OK = 0;
export const S_NOT_ENOUGH_MONEY = 1;
export const S_DUPLICATE = 2;
export const S_TX_DOES_NOT_EXIST = 3;
export const S_UNKNOWN = 4;
export const S_WRONG_CURRENCY = 5;
export const S_WRONG_TYPES = 6;
export const S_OTHER = 7;

/** Index of `status` in STATUS_NAMES. The wallet returns the interned
 *  constants, so these comparisons are pointer checks in V8. */
export function status_index(status: string): number {
  switch (status) {
    case RS_OK: return S_OK;
    case RS_ERROR_NOT_ENOUGH_MONEY: return S_NOT_ENOUGH_MONEY;
    case RS_ERROR_DUPLICATE_TRANSACTION: return S_DUPLICATE;
    case RS_ERROR_TRANSACTION_DOES_NOT_EXIST: return S_TX_DOES_NOT_EXIST;
    case RS_ERROR_UNKNOWN: return S_UNKNOWN;
    case RS_ERROR_WRONG_CURRENCY: return S_WRONG_CURRENCY;
    case RS_ERROR_WRONG_TYPES: return S_WRONG_TYPES;
    default: return S_OTHER;
  }
}

/** Budget units one applied bet takes: its entry and its settlement's reserve. */
export const BUDGET_UNITS_PER_BET = 2;

/** parent -> worker, as workerData. */
export interface WorkerSetup {
  handle: WalletHandle;
  worker_index: number;
  seed: number;
  /** Names of the wallet's users, index = user index in money arrays. */
  users: string[];
  initial_balance_units: number;
  currency: string;
  /** Calls this worker makes, at most (Infinity: until the deadline). */
  calls_max: number;
  /** Budget units this worker's applied bets may take: its share of the
   *  wallet's maxTransactions budget, so that the table never fills up
   *  mid-run. maxTransactions is a budget (docs/contract.md §12): every
   *  applied bet takes BUDGET_UNITS_PER_BET units (its own entry and the
   *  reserve for its settlement); the win or rollback of an open bet takes
   *  none more (it uses the reserve); a failed request or a replay takes
   *  none (a failure found after its claim keeps an entry from a separate
   *  slack pool, not from the budget). */
  budget_units_max: number;
  progress_interval_ms: number;
  /** Width of one contested slot: every worker sends the same contested bet
   *  once per slot. 0: no contests (a lone worker has no one to race). */
  contest_slot_ms: number;
  /** Falsify one retry check on purpose (--canary): the run must fail. */
  canary: boolean;
  /** A durable run (--data-dir): calls between two awaits of durable(); 0:
   *  a memory-only run (no waits). */
  durable_batch_calls: number;
  /** Durable runs: acknowledged transactions this worker keeps as samples
   *  for the restart check (a uniform sample of those it applied). */
  samples_max: number;
}

/** One acknowledged transaction this worker applied: the request and its answer. */
export interface AckedSample {
  kind: number;
  body: unknown;
  answer: WalletResponse;
}

/** What a worker of a durable run counted about durable(). */
export interface DurableCounters {
  /** Calls whose durable() resolved: the answers a service could send. */
  acked_calls: number;
  /** Transactions this worker applied that were acknowledged. */
  acked_applied: number;
  /** durable() awaits, and their latency (ns, histogram.ts). */
  waits: number;
  wait_histogram: Float64Array;
  /** durable() rejected (EXWALLET_JOURNAL_FAILED, ...): its message. */
  error: string | undefined;
  samples: AckedSample[];
}

export type StopReason = 'time' | 'calls' | 'interrupt' | 'budget' | 'journal_failed';

/** parent -> worker. */
export type ParentMessage =
  | { kind: 'go'; start_epoch_ms: number; end_epoch_ms: number }
  | { kind: 'stop' };

export interface Counters {
  calls: number;
  status_counts: Float64Array;
  latency_histogram: Float64Array;
}

/** A request whose answer broke a rule, kept as evidence (a few per worker). */
export interface FailureSample {
  worker_index: number;
  scenario: string;
  rule: string;
  request: unknown;
  response: WalletResponse;
  expected: string;
}

export interface ContestObservations {
  /** Slot numbers this worker played. */
  slots: number[];
  /** Per slot: the request_uuid of the RS_OK answer to the contested bet, or
   *  "" if this worker's answer was not RS_OK. Every RS_OK answer for one slot
   *  must carry the same request_uuid and balance: that of the one request
   *  that applied it. */
  bet_request_uuids: string[];
  bet_balances: number[];
  /** Per slot: 1 if this worker's settlement (win or rollback) was applied. */
  settled_here: number[];
}

/** worker -> parent. */
export type WorkerMessage =
  | { kind: 'ready' }
  | ({ kind: 'progress' } & Counters)
  | ({
      kind: 'done';
      stopped_by: StopReason;
      elapsed_ms: number;
      scenario_calls: Float64Array;
      scenario_failures: Float64Array;
      /** Σ of the balance changes this worker applied, per user index. */
      money_units: Float64Array;
      applied: number;
      /** Budget units this worker's applied bets took (BUDGET_UNITS_PER_BET each). */
      budget_units: number;
      replay_mismatches: number;
      unexpected_statuses: number;
      negative_balances_seen: number;
      failures: FailureSample[];
      contest: ContestObservations;
      /** Durable runs only. */
      durable?: DurableCounters;
    } & Counters);
