// exwallet: a Hub88 seamless wallet in shared memory, for many worker threads.
//
// The public surface, typed for the caller (src/types.ts): the functions are
// the implementation's own (no wrapper on the hot path), re-declared with the
// public types so that no internal type (the Wallet class, the thread core,
// WebAssembly) reaches a consumer's compiler.

import * as wallet from './wallet.js';
import * as users from './users.js';
import * as auditing from './audit.js';
import * as statistics from './stats.js';
import * as lookups from './lookup.js';
import * as bytes from './bytes.js';
import type {
  Wallet, WalletOptions, WalletHandle, WalletResponse, BetRequest, WinRequest, RollbackRequest, BalanceRequest,
  UserEntry, WalletStats, TransactionRecord, Hub88TransactionFields, AuditOptions, AuditReport, BytesOptions,
} from './types.js';

/** Reserve the shared memory for `options` and load the core; the wallet is bound to the calling thread. */
export const start = wallet.start as unknown as (options?: WalletOptions) => Wallet;
/** Create the users that do not exist yet (names, or `{ user, currency?, balance? }`). */
export const createUsers = users.createUsers as unknown as (wallet: Wallet, users: readonly UserEntry[]) => void;
/** Hub88 /transaction/bet: synchronous; bad input is a status, never a throw. */
export const bet = wallet.bet as unknown as (wallet: Wallet, body: BetRequest) => WalletResponse;
/** Hub88 /transaction/win. */
export const win = wallet.win as unknown as (wallet: Wallet, body: WinRequest) => WalletResponse;
/** Hub88 /transaction/rollback. */
export const rollback = wallet.rollback as unknown as (wallet: Wallet, body: RollbackRequest) => WalletResponse;
/** Hub88 /user/balance. */
export const balance = wallet.balance as unknown as (wallet: Wallet, body: BalanceRequest) => WalletResponse;
/** Hub88 /transaction/bet on the request body's bytes (UTF-8 JSON, as read from the socket): the response body's
 *  bytes, JSON.stringify of what bet() answers for JSON.parse of them; one transaction whichever path it takes. */
export const betBytes = bytes.betBytes as unknown as (wallet: Wallet, body: Uint8Array, options?: BytesOptions) => Buffer;
/** Hub88 /transaction/win on bytes (see betBytes). */
export const winBytes = bytes.winBytes as unknown as (wallet: Wallet, body: Uint8Array, options?: BytesOptions) => Buffer;
/** Hub88 /transaction/rollback on bytes (see betBytes). */
export const rollbackBytes = bytes.rollbackBytes as unknown as (wallet: Wallet, body: Uint8Array, options?: BytesOptions) => Buffer;
/** betBytes with the answer written into `out` (nothing allocated): its length, or minus it when `out` is too short
 *  (then `out` is untouched; an answer that moved money always fits BYTES_ANSWER_FITS bytes). */
export const betBytesInto = bytes.betBytesInto as unknown as (wallet: Wallet, body: Uint8Array, out: Uint8Array, options?: BytesOptions) => number;
/** winBytes into `out` (see betBytesInto). */
export const winBytesInto = bytes.winBytesInto as unknown as (wallet: Wallet, body: Uint8Array, out: Uint8Array, options?: BytesOptions) => number;
/** rollbackBytes into `out` (see betBytesInto). */
export const rollbackBytesInto = bytes.rollbackBytesInto as unknown as (wallet: Wallet, body: Uint8Array, out: Uint8Array, options?: BytesOptions) => number;
/** An `out` of this many bytes holds the answer of every call that moved money (betBytesInto). */
export const BYTES_ANSWER_FITS: number = bytes.BYTES_ANSWER_FITS;
/** Hub88 /user/balance on bytes (see betBytes). */
export const balanceBytes = bytes.balanceBytes as unknown as (wallet: Wallet, body: Uint8Array) => Buffer;
/** A structured-cloneable handle for another thread's attach(). */
export const share = wallet.share as unknown as (wallet: Wallet) => WalletHandle;
/** The same wallet in this thread (takes a thread slot on first attach). */
export const attach = wallet.attach as unknown as (handle: WalletHandle) => Wallet;
/** Give this thread's slot back. */
export const detach = wallet.detach as unknown as (wallet: Wallet) => void;
/** Close the wallet for every thread; afterwards every call on it throws (EXWALLET_CLOSED). */
export const close = wallet.close as unknown as (wallet: Wallet) => Promise<void>;
/** Resolves once everything every answer this thread received depended on is on stable storage (durable wallets). */
export const durable = wallet.durable as unknown as (wallet: Wallet) => Promise<void>;
/** Counts and fill levels, cheap, from any thread, while calls are in flight. */
export const stats = statistics.stats as unknown as (wallet: Wallet) => WalletStats;
/** The recorded transaction of a transaction_uuid, or undefined. */
export const lookup = lookups.lookup as unknown as (wallet: Wallet, transaction_uuid: string) => TransactionRecord | undefined;
/** Recompute every balance from the ledger (exactly) and resolve calls of threads that died mid-way; holds the wallet briefly. */
export const audit = auditing.audit as unknown as (wallet: Wallet, options?: AuditOptions) => AuditReport;
/** The defaults of start()'s options (retiredFilterCapacity's: 64 x maxTransactions, at most 67_108_864). */
export const DEFAULTS: Readonly<Required<Omit<WalletOptions, 'dataDir' | 'retiredFilterCapacity'>>> = wallet.DEFAULTS;

export * from './statuses.js';
export type { ErrorCode, ExwalletError } from './errors.js';
export type {
  Wallet, WalletOptions, WalletHandle, WalletResponse, BetRequest, WinRequest, RollbackRequest, BalanceRequest,
  UserEntry, WalletStats, TransactionRecord, AuditOptions, AuditReport, Hub88TransactionFields, BytesOptions,
};
export { warmup, type WarmupOptions, type WarmupReport } from './warmup.js';
