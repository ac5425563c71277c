// Hooks for this project's own tests and benchmarks. Not part of the public
// API (not exported from the package entry point); may change at any time.

import { Wallet } from './wallet.js';
import { L, type Layout } from './layout.js';

/** Make this thread's next bet/win/rollback on `wallet` abandon its work at
 *  `point` (one of L.CRASH_*), as if its thread died there. The call throws
 *  a WebAssembly.RuntimeError; the wallet is left as a dead thread leaves it. */
export function inject_crash(wallet: Wallet, point: number): void {
  Wallet.core_of(wallet).exports.set_crash_point(point);
}

export function layout_of(wallet: Wallet): Layout {
  return Wallet.core_of(wallet).layout;
}

/** Leave the wallet as a thread that died inside createUsers after taking
 *  a user ticket and a user record, before publishing the user, leaves it. */
export function abandon_user_creation(wallet: Wallet): void {
  const core = Wallet.core_of(wallet);
  Atomics.add(core.u32, (L.HEADER_OFFSET + L.H_USERS_RESERVED) >> 2, 1);
  Atomics.add(core.u32, (L.HEADER_OFFSET + L.H_USER_RECORDS_NEXT) >> 2, 1);
}

/** Overwrite a user's balance behind the ledger's back (to prove audit sees it). */
export function corrupt_balance(wallet: Wallet, user: string, balance_units: number): void {
  const core = Wallet.core_of(wallet);
  const slot = core.user_slots.get(user);
  if (slot === undefined) throw new Error(`no cached slot for ${user}`);
  const i64 = new BigInt64Array(core.memory.buffer);
  Atomics.store(i64, (core.layout.user_balances_offset >> 3) + slot, BigInt(balance_units));
}
