// The public types of the contract (spec §1, §7): Hub88 Operator Wallet API
// bodies as plain objects with the same snake_case keys.

import type { Status } from './statuses.js';

export interface WalletOptions {
  /** Users the wallet can hold (default 1_048_576). */
  maxUsers?: number;
  /** Applied transactions it can record (default 4_194_304). */
  maxTransactions?: number;
  /** Balance of each new user, in the currency's smallest unit (default 100_000). */
  initialBalance?: number;
  /** The currency of every user (default "USD"), at most 64 UTF-8 bytes. */
  currency?: string;
  /** Threads that can be attached at once, each with its 64 KiB scratch region (default 1024). A slot is held until detach(), the thread ends by itself, or audit({ deadThreadIds }) frees it. */
  maxThreads?: number;
  /** How long a call waits for a concurrent twin of its transaction_uuid
   *  before answering RS_ERROR_UNKNOWN, in milliseconds (default 500). */
  twinWaitMs?: number;
  /** Touch every page of the shared memory in start() (default false), so
   *  no call ever pays for a page fault: a first touch of a page costs ~1-2 µs,
   *  and a fresh table faults on many inserts (it is most of p99). The price:
   *  the whole reservation is resident at once (~700 MiB and ~250 ms for the
   *  defaults), which is why it is not the default; latency-critical services
   *  should turn it on. */
  prefault?: boolean;
}

export interface BetRequest {
  user: string;
  transaction_uuid: string;
  request_uuid: string;
  currency: string;
  amount: number;
  [field: string]: unknown;
}

export interface WinRequest extends BetRequest {
  reference_transaction_uuid: string;
}

export interface RollbackRequest {
  user: string;
  transaction_uuid: string;
  request_uuid: string;
  reference_transaction_uuid: string;
  currency?: string;
  [field: string]: unknown;
}

export interface BalanceRequest {
  user: string;
  request_uuid: string;
  [field: string]: unknown;
}

export interface WalletResponse {
  user: string;
  status: Status;
  request_uuid: string;
  /** Present on RS_OK and RS_ERROR_NOT_ENOUGH_MONEY. */
  currency?: string;
  /** Present on RS_OK (after the change) and RS_ERROR_NOT_ENOUGH_MONEY (current). */
  balance?: number;
}

/** What share() returns: structured-cloneable, for postMessage / workerData. */
export interface WalletHandle {
  readonly kind: 'exwallet.handle';
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly wallet_id: string;
}
