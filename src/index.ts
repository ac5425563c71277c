// exwallet: a Hub88 seamless wallet in shared memory, for many worker threads.
export { start, share, attach, detach, bet, win, rollback, balance, Wallet, DEFAULTS } from './wallet.js';
export { createUsers } from './users.js';
export { audit, type AuditReport, type AuditOptions } from './audit.js';
export * from './statuses.js';
export type {
  WalletOptions, WalletHandle, WalletResponse, BetRequest, WinRequest, RollbackRequest, BalanceRequest,
} from './types.js';
