// The public types of the contract (docs/contract.md §1, §7, §11): Hub88
// Operator Wallet API bodies as plain objects with the same snake_case keys.
// They name only public things: a consumer compiles them with `strict` and
// without `skipLibCheck`.

import type { Status } from './statuses.js';

export interface WalletOptions {
  /** Users the wallet can hold (default 1_048_576). */
  maxUsers?: number;
  /** Budget of the transaction table (default 4_194_304): every applied
   *  transaction takes one unit and every open bet holds one more for its
   *  settlement; past it, new bets get RS_ERROR_UNKNOWN. */
  maxTransactions?: number;
  /** Balance of each new user without one of its own, in the currency's smallest unit (default 100_000). */
  initialBalance?: number;
  /** Currency of users created without one of their own (default "USD"), 1-64 UTF-8 bytes. */
  currency?: string;
  /** Threads that can be attached at once, each with its 128 KiB scratch region (default 1024). A slot is held until detach(), the thread ends by itself, or audit({ deadThreadIds }) frees it. */
  maxThreads?: number;
  /** How long a call waits for a concurrent twin of its transaction_uuid
   *  (or for an audit) before answering RS_ERROR_UNKNOWN, in milliseconds (default 500). */
  twinWaitMs?: number;
  /** Touch every page of the shared memory in start() (default false), so
   *  no call ever pays for a page fault: a first touch of a page costs ~1-2 µs,
   *  and a fresh table faults on many inserts (it is most of p99). The price:
   *  the whole reservation is resident at once (~750 MiB and ~250 ms for the
   *  defaults), which is why it is not the default; latency-critical services
   *  should turn it on. */
  prefault?: boolean;
  /** A durable wallet's directory (contract §9): created, or recovered if it holds a wallet. */
  dataDir?: string;
  /** Durable wallets (contract §10): how long a settled transaction that left
   *  memory stays exactly-once on disk, in days (default 120, Hub88's four
   *  months); then its retired file is deleted. Fractions are allowed. */
  retentionDays?: number;
  /** Durable wallets: retired transactions the in-memory filter is sized for
   *  (default 64 x maxTransactions, at most 67_108_864), 1.5 bytes each. Past
   *  it the filter's false-positive rate rises (more new uuids search the
   *  disk: slower, never wrong); size it for retention x rate. */
  retiredFilterCapacity?: number;
}

/** A user for createUsers: a name, or a name with its own currency and starting balance. */
export type UserEntry = string | { user: string; currency?: string; balance?: number };

/** Fields Hub88 sends on transaction requests besides the ones the wallet
 *  checks. The wallet fingerprints them with the rest (a retry must repeat
 *  them unchanged); at run time any other JSON-like field is accepted too. */
export interface Hub88TransactionFields {
  token?: string;
  game_code?: string;
  round?: string;
  round_closed?: boolean;
  supplier_user?: string;
  supplier_transaction_id?: string;
  reward_uuid?: string | null;
  is_free?: boolean;
  is_aggregated?: boolean;
  bet?: string | null;
  meta?: unknown;
}

/** Hub88 /transaction/bet. */
export interface BetRequest extends Hub88TransactionFields {
  user: string;
  transaction_uuid: string;
  request_uuid: string;
  currency: string;
  amount: number;
}

/** Hub88 /transaction/win: a credit that settles the bet it references. */
export interface WinRequest extends BetRequest {
  reference_transaction_uuid: string;
}

/** Hub88 /transaction/rollback: refunds the referenced bet (no amount). */
export interface RollbackRequest extends Hub88TransactionFields {
  user: string;
  transaction_uuid: string;
  request_uuid: string;
  reference_transaction_uuid: string;
  currency?: string;
}

/** Hub88 /user/balance (and /user/info). */
export interface BalanceRequest {
  user: string;
  request_uuid: string;
  token?: string;
  game_code?: string;
}

export interface WalletResponse {
  user: string;
  status: Status;
  request_uuid: string;
  /** Present on RS_OK and RS_ERROR_NOT_ENOUGH_MONEY: the user's currency. */
  currency?: string;
  /** Present on RS_OK (after the change) and RS_ERROR_NOT_ENOUGH_MONEY (current). */
  balance?: number;
}

/** betBytes / winBytes / rollbackBytes. */
export interface BytesOptions {
  /** true: a replay's answer carries this request's own request_uuid (Hub88's rule for its HTTP answers, which
   *  `exwallet serve` follows) instead of the original's (the library's answer, §5). Default false. */
  ownRequestUuid?: boolean;
}

declare const wallet_brand: unique symbol;
declare const handle_brand: unique symbol;

/** A wallet as one thread sees it, from start() or attach(). Opaque: pass it
 *  to the module's functions. `using` it closes the wallet at the block's end. */
export interface Wallet {
  readonly [wallet_brand]: true;
  [Symbol.dispose](): void;
}

/** What share() returns: structured-cloneable, for postMessage / workerData. Opaque. */
export interface WalletHandle {
  readonly [handle_brand]: true;
}

/** stats(wallet): counts and fill levels. Sums of per-thread counters, read
 *  without stopping anyone: while calls are in flight each figure is one it
 *  really had a moment ago (the figures may be from slightly different moments). */
export interface WalletStats {
  users: number;
  usersMax: number;
  currencies: number;
  /** Transactions applied, in all and by kind. */
  transactions: number;
  bets: number;
  wins: number;
  rollbacks: number;
  /** Bets neither won nor rolled back. */
  openBets: number;
  /** Entries in memory (applied transactions; memory-only wallets keep them all). */
  inMemory: number;
  /** The transaction budget (maxTransactions) and how it is used: applied transactions plus the settlement reserve of open bets. */
  budget: number;
  budgetUsed: number;
  reserveHeld: number;
  /** budgetUsed / budget. */
  tableFill: number;
  /** Failures found after claiming a uuid (races), whose entries stay bound to their uuid. */
  releasedAfterClaim: number;
  threadSlots: number;
  threadSlotsInUse: number;
  /** A durable wallet (dataDir)? Then: the open epoch, the last one on stable
   *  storage, the journal records written by calls and not yet taken by the
   *  flusher (the lag), and whether the journal failed (fail-stop). */
  durable: boolean;
  openEpoch: number;
  durableEpoch: number;
  journalPendingRecords: number;
  journalFailed: boolean;
  /** Durable wallets (contract §10): the window's generations flipped since
   *  start, generations retired to disk (ever), and the retired filter: uuids
   *  in it, what it is sized for, and its estimated false-positive rate (the
   *  share of new uuids that search the disk). */
  rotations: number;
  retirements: number;
  retiredFilterKeys: number;
  retiredFilterCapacity: number;
  retiredFilterFalsePositiveRate: number;
  /** Why the window cannot rotate right now, with what to do (null: it can).
   *  Until it can, new bets wait for room and then answer RS_ERROR_UNKNOWN;
   *  the settlement of every open bet still fits. */
  rotationBlocked: string | null;
  /** Transaction bodies the bytes path (betBytes, …) did not take in WASM and
   *  answered through JSON.parse and the object path instead: nesting, a key
   *  twice, an escape in a compared field, an unknown user, any bad input.
   *  Answers are the same either way; a high share only costs speed. */
  bytesFallbacks: number;
}

/** lookup(wallet, transaction_uuid): one recorded transaction. */
export interface TransactionRecord {
  transactionUuid: string;
  kind: 'bet' | 'win' | 'rollback';
  user: string;
  /** Bet or win: the amount; rollback: the refund. */
  amount: number;
  currency: string;
  balanceAfter: number;
  /** The request_uuid of the request that applied it (replayed to duplicates). */
  requestUuid: string;
  /** Bets only. */
  settlement?: 'open' | 'won' | 'rolled_back';
  /** Wins and rollbacks only: the bet it settled. */
  referenceTransactionUuid?: string;
}

export interface AuditOptions {
  /** Node threadIds of threads known to have died (read `worker.threadId`
   *  while the worker runs: it reads -1 after 'exit'), or those Worker
   *  objects while they are alive: their registry slots are freed. */
  deadThreadIds?: readonly (number | { readonly threadId: number })[];
}

export interface AuditReport {
  /** Every balance equals the ledger's, none negative, every settlement agrees. */
  ok: boolean;
  users: number;
  committed: number;
  released: number;
  /** Dead claims decided applied / not applied by this audit. */
  inFlightCommitted: number;
  inFlightReleased: number;
  balanceMismatches: number;
  negativeBalances: number;
  settlementErrors: number;
  /** Dead claims on one user that more than one choice would explain. */
  ambiguousDecisions: number;
  /** Thread slots freed (deadThreadIds); user tickets and records of dead creations returned. */
  threadSlotsFreed: number;
  userTicketsReturned: number;
  userRecordsRecovered: number;
  /** Node threadIds of slots still inside a call after twinWaitMs: presumed
   *  dead (name them in deadThreadIds to free their slots). */
  presumedDeadThreadIds: number[];
  /** Up to 10 human-readable findings, for the log. */
  findings: string[];
}
