// Hooks for this project's own tests and benchmarks. Not part of the public
// API (not exported from the package entry point); may change at any time.

import { Wallet as WalletImpl } from './wallet.js';
import { L, type Layout } from './layout.js';
import type { Wallet as PublicWallet } from './types.js';
import { parse_uuid } from './uuid.js';
import { start, JOURNAL_FAULTS } from './wallet.js';
import type { WalletOptions } from './types.js';
import type { JournalFaults } from './flusher.js';

type Wallet = PublicWallet | WalletImpl;
const core_of = (wallet: Wallet) => WalletImpl.core_of(wallet);

/** Make this thread's next bet/win/rollback on `wallet` abandon its work at
 *  `point` (one of L.CRASH_*), as if its thread died there. The call throws
 *  a WebAssembly.RuntimeError; the wallet is left as a dead thread leaves it. */
export function inject_crash(wallet: Wallet, point: number): void {
  core_of(wallet).exports.set_crash_point(point);
}

export function layout_of(wallet: Wallet): Layout {
  return core_of(wallet).layout;
}

/** Leave the wallet as a thread that died inside createUsers after taking
 *  a user ticket and a user record, before publishing the user, leaves it. */
export function abandon_user_creation(wallet: Wallet): void {
  const core = core_of(wallet);
  Atomics.add(core.u32, (L.HEADER_OFFSET + L.H_USERS_RESERVED) >>> 2, 1);
  Atomics.add(core.u32, (L.HEADER_OFFSET + L.H_USER_RECORDS_NEXT) >>> 2, 1);
}

/** Overwrite a user's balance behind the ledger's back (to prove audit sees it). */
export function corrupt_balance(wallet: Wallet, user: string, balance_units: number): void {
  const core = core_of(wallet);
  const slot = core.user_slots.get(user);
  if (slot === undefined) throw new Error(`no cached slot for ${user}`);
  Atomics.store(core.i64, core.layout.user_balances_offset / 8 + slot, BigInt(balance_units));
}

/** The home index position of `transaction_uuid` under the wallet's hash key
 *  (where its probe starts): the flood tests aim uuids with it. */
export function home_position(wallet: Wallet, transaction_uuid: string): number {
  const core = core_of(wallet);
  if (!parse_uuid(transaction_uuid, core.u32, core.scratch_u32 + (L.S_UUID >>> 2))) throw new TypeError('not a canonical uuid');
  return core.exports.home_position();
}

/** The home position of user name `name` in the user index, under the wallet's key. */
export function user_home_position(wallet: Wallet, name: string): number {
  const core = core_of(wallet);
  const bytes = core.bytes.write(name, core.scratch + L.S_NAME, L.USER_NAME_MAX_BYTES, 'utf8');
  return core.exports.user_home_position(bytes);
}

/** The longest run of occupied words in an index of `capacity` u64 words at
 *  byte `offset`: how far a probe can have to walk. A flood of keys aimed at
 *  one place makes it long. */
function longest_run(core: ReturnType<typeof core_of>, offset: number, capacity: number): number {
  const base = offset >>> 2;
  let longest = 0;
  let run = 0;
  for (let pos = 0; pos < capacity; pos++) {
    run = core.u32[base + pos * 2] === 0 ? 0 : run + 1;
    if (run > longest) longest = run;
  }
  return longest;
}

/** longest_run of the transaction index. */
export function longest_probe_run(wallet: Wallet): number {
  const core = core_of(wallet);
  return longest_run(core, core.layout.tx_index_offset, core.layout.tx_index_capacity);
}

/** longest_run of the user index. */
export function longest_user_probe_run(wallet: Wallet): number {
  const core = core_of(wallet);
  return longest_run(core, core.layout.user_index_offset, core.layout.user_index_capacity);
}

/** Start a wallet whose hash key is `key` instead of a random one: what an
 *  attacker who knew the key could aim at (the flood tests' canary). */
export function set_hash_key(wallet: Wallet, key: readonly [bigint, bigint]): void {
  const core = core_of(wallet);
  if (core.exports.user_count() !== 0) throw new Error('set_hash_key: only on a fresh wallet');
  const view = new DataView(core.memory.buffer as unknown as SharedArrayBuffer, L.HEADER_OFFSET);
  view.setBigUint64(L.H_HASH_KEY, key[0], true);
  view.setBigUint64(L.H_HASH_KEY + 8, key[1], true);
  core.exports.init(core.thread_slot); // re-reads the header into the instance's globals
}

/** The journal ordering canary: this thread's transactions read their epoch
 *  AFTER the balance compare-exchange (and pause there). The prefix checker
 *  of the durability tests must catch what that does. Per thread: call it in
 *  every worker too. */
export function set_epoch_after_cas(wallet: Wallet, on: boolean): void {
  core_of(wallet).exports.set_epoch_after_cas(on ? 1 : 0);
}

/** start() for a durable wallet whose journal writes fail or stall as told. */
export function start_with_journal_faults(options: WalletOptions, faults: JournalFaults): PublicWallet {
  return start({ ...options, [JOURNAL_FAULTS]: faults } as WalletOptions) as unknown as PublicWallet;
}

/** The generation flip's canary: the rotator flips without pausing the
 *  wallet, and calls of this thread linger between reading the generation
 *  word and publishing (layout_constants.ts, "Generations"). A twin storm at
 *  a flip must then catch a uuid applied twice. Per thread: call it in every
 *  worker too. */
export function set_flip_canary(wallet: Wallet, on: boolean): void {
  const core = core_of(wallet);
  core.exports.set_flip_canary(on ? 1 : 0);
  Atomics.store(core.u32, (L.HEADER_OFFSET + L.H_FLIP_CANARY) >>> 2, on ? 1 : 0);
}

/** Make the rotator linger `stall_ms` between the steps of each retirement
 *  (0: not at all), so that a SIGKILL lands inside one. */
export function set_rotation_stall(wallet: Wallet, stall_ms: number): void {
  Atomics.store(core_of(wallet).u32, (L.HEADER_OFFSET + L.H_ROTATION_STALL_MS) >>> 2, stall_ms);
}

/** How many bodies the bytes path (betBytes, …) handed to the object path
 *  because the core did not take them: stats().bytesFallbacks (every thread
 *  of the wallet; the tests and benches that ask call from one). */
export function bytes_fallbacks(wallet: Wallet): number {
  const core = core_of(wallet);
  return Atomics.load(core.u32, (L.HEADER_OFFSET + L.H_BYTES_FALLBACKS) >>> 2);
}

/** The core's key code for `key` (UTF-8), as the bytes path reads it. */
export function body_key_code(wallet: Wallet, key: string): number {
  const core = core_of(wallet);
  const length = core.bytes.write(key, core.scratch + L.S_BODY, 'utf8');
  return core.exports.body_key_at(length);
}

/** The Hub88 status text the bytes path writes for core status `status`. */
export function bytes_status_text(wallet: Wallet, status: number): string {
  const core = core_of(wallet);
  const length = core.exports.status_text_at(status);
  return core.bytes.toString('latin1', core.scratch + L.S_RECORDS, core.scratch + L.S_RECORDS + length);
}
