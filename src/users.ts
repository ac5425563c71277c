// Users: createUsers (spec §2) and the name -> slot resolution of every call.

import { L } from './layout.js';
import type { ThreadCore } from './core.js';
import { Wallet, next_call } from './wallet.js';
import { is_well_formed } from './text.js';
import { plain_error, range_error, type_error } from './errors.js';
import type { UserEntry } from './types.js';
import { journal_users, journal_failed_error } from './durability.js';
import { threadId } from 'node:worker_threads';

/** Write `name` as UTF-8 into scratch; its byte length, or -1 if it cannot be
 *  a user name (longer than 255 bytes, or not well-formed UTF-16). */
function write_name(core: ThreadCore, name: string): number {
  if (name.length > L.USER_NAME_MAX_BYTES) return -1; // UTF-8 bytes >= UTF-16 units
  if (!is_well_formed(name)) return -1;
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > L.USER_NAME_MAX_BYTES) return -1;
  core.bytes.write(name, core.scratch + L.S_NAME, bytes, 'utf8');
  return bytes;
}

/** Slot of user `name`, or -1 if there is no such user. A user created by
 *  another thread is found as soon as that creation has returned. */
export function user_slot_of(core: ThreadCore, name: string): number {
  const cached = core.user_slots.get(name);
  if (cached !== undefined) return cached;
  return user_slot_uncached(core, name);
}

/** user_slot_of past the cache, out of line: V8 inlines user_slot_of into
 *  the bet path, and this cold part would spend its inlining budget. */
function user_slot_uncached(core: ThreadCore, name: string): number {
  if (name.length === 0) return -1;
  const name_bytes = write_name(core, name);
  if (name_bytes < 0) return -1;
  const slot = core.exports.user_find(name_bytes);
  if (slot >= 0) core.user_slots.set(name, slot);
  return slot;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `a string of ${Buffer.byteLength(value, 'utf8')} UTF-8 bytes`;
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
  try {
    return `${typeof value} ${String(value).slice(0, 40)}`;
  } catch {
    return typeof value;
  }
}

function bad_entry(index: number, why: string): Error {
  return type_error('EXWALLET_BAD_USER_ENTRY', `createUsers: entry ${index} ${why}`);
}

/** One user to create: its name and, resolved, its currency and balance. */
interface NewUser {
  name: string;
  currency: string | undefined;
  balance_units: number | undefined;
}

/** A name as the table stores it: well-formed, 0-255 UTF-8 bytes. */
function check_name(index: number, name: unknown): string {
  if (typeof name !== 'string') throw bad_entry(index, `is not a user name or { user, currency?, balance? } (${describe(name)})`);
  if (!is_well_formed(name)) throw bad_entry(index, 'is not well-formed Unicode (a lone surrogate)');
  if (Buffer.byteLength(name, 'utf8') > L.USER_NAME_MAX_BYTES) {
    throw bad_entry(index, `(${JSON.stringify(name.slice(0, 32))}…) is ${describe(name)}; the limit is ${L.USER_NAME_MAX_BYTES}`);
  }
  return name;
}

/** A string entry, or an object `{ user, currency?, balance? }`. */
function parse_entry(index: number, entry: unknown): NewUser {
  if (typeof entry === 'string') return { name: check_name(index, entry), currency: undefined, balance_units: undefined };
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw bad_entry(index, `is not a user name or { user, currency?, balance? } (${describe(entry)})`);
  }
  const { user, currency, balance } = entry as Record<string, unknown>;
  const name = check_name(index, user);
  if (currency !== undefined) {
    const bytes = typeof currency === 'string' && is_well_formed(currency) ? Buffer.byteLength(currency, 'utf8') : -1;
    if (bytes < 1 || bytes > L.USER_CURRENCY_MAX_BYTES) {
      throw bad_entry(index, `has currency ${describe(currency)}; a currency is well-formed text of 1 to ${L.USER_CURRENCY_MAX_BYTES} UTF-8 bytes`);
    }
  }
  if (balance !== undefined && (typeof balance !== 'number' || !Number.isSafeInteger(balance) || balance < 0)) {
    throw bad_entry(index, `has balance ${describe(balance)}; a balance is a safe integer >= 0`);
  }
  return { name, currency: currency as string | undefined, balance_units: balance as number | undefined };
}

/** Create every user of `users` that does not exist yet: each entry a name
 *  (with the wallet's currency and initial balance) or `{ user, currency?,
 *  balance? }`. Ignores "" and existing names (repeats in the call too: the
 *  first entry of a name wins); an existing user keeps its currency and
 *  balance. Throws TypeError naming the first bad entry (creating nothing),
 *  or RangeError if the table cannot take the new names (creating nothing,
 *  unless another thread fills the table during the call: then the names
 *  before the one that did not fit stay created). */
export function createUsers(wallet: Wallet, users: readonly (string | UserEntry)[]): void {
  const core = Wallet.core_of(wallet);
  next_call();
  if (!Array.isArray(users)) throw type_error('EXWALLET_BAD_USER_ENTRY', 'createUsers expects an array of user names or { user, currency?, balance? }');
  const by_name = new Map<string, NewUser>();
  for (let index = 0; index < users.length; index++) {
    const entry = parse_entry(index, users[index]);
    if (entry.name !== '' && !by_name.has(entry.name)) by_name.set(entry.name, entry);
  }
  const currency_ids = new Map<string, number>();
  for (const { name, currency } of by_name.values()) {
    // Only currencies of users this call may create take a record.
    if (currency === undefined || currency_ids.has(currency) || user_slot_of(core, name) >= 0) continue;
    const id = core.currencies.id_of(currency, Buffer.from(currency, 'utf8'));
    if (id < 0) {
      throw range_error('EXWALLET_CURRENCY_TABLE_FULL', `the wallet already holds ${L.CURRENCIES_MAX} currencies; ${JSON.stringify(currency)} does not fit`);
    }
    currency_ids.set(currency, id);
  }
  const resolved: ResolvedUser[] = [...by_name.values()].map((user) => ({
    name: user.name,
    currency_id: user.currency === undefined ? core.default_currency_id : currency_ids.get(user.currency) ?? -1,
    balance_units: user.balance_units ?? core.initial_balance_units,
  }));
  if (core.journal_on) create_all_durable(core, resolved);
  else create_all(core, resolved);
}

/** The users that do not exist yet. A user is never deleted, so one that
 *  existed when currencies were registered is never among them. */
function fresh_users(core: ThreadCore, users: ResolvedUser[]): ResolvedUser[] {
  const fresh = users.filter((user) => user_slot_of(core, user.name) < 0);
  if (fresh.some((user) => user.currency_id < 0)) throw new Error('exwallet: a user to create has no currency record (a bug)');
  return fresh;
}

/** A user to create with its currency record and balance decided (the
 *  currency is -1 for a user that already existed: it is never created). */
interface ResolvedUser {
  name: string;
  currency_id: number;
  balance_units: number;
}

/** A durable wallet's creations, one thread at a time (the create lock in
 *  the header): the users are written, journaled to users.log and fsync'd,
 *  and only then published, so that no thread ever sees a user the journal
 *  lacks. createUsers is rare: the lock costs nothing that matters, and it
 *  removes the races that would give one name two journaled slots. */
function create_all_durable(core: ThreadCore, users: ResolvedUser[]): void {
  const lock_word = (L.HEADER_OFFSET + L.H_CREATE_LOCK) >>> 2;
  const mark = threadId + 1;
  const deadline_ms = performance.now() + core.wait_ms_max;
  while (Atomics.compareExchange(core.u32, lock_word, 0, mark) !== 0) {
    if (performance.now() >= deadline_ms) {
      throw plain_error('EXWALLET_BUSY', `createUsers waited ${core.wait_ms_max} ms for another thread's createUsers; call it again`);
    }
    Atomics.wait(core.i32, lock_word, Atomics.load(core.i32, lock_word), IN_FLIGHT_PAUSE_MS * 20);
  }
  try {
    const fresh = fresh_users(core, users);
    if (fresh.length === 0) return;
    const room = core.layout.users_max - core.exports.user_tickets();
    if (fresh.length > room) {
      throw range_error('EXWALLET_USER_TABLE_FULL', `user table full: ${fresh.length} new users requested, room for ${room} of maxUsers ${core.layout.users_max}`);
    }
    const prepared: Array<{ user: ResolvedUser; record: number }> = [];
    for (const user of fresh) {
      const record = core.exports.user_prepare(write_name(core, user.name), user.balance_units, user.currency_id);
      if (record === L.USER_CLOSED) throw type_error('EXWALLET_CLOSED', 'this wallet was closed; start() a new one');
      if (record === L.USER_FAILED) throw journal_failed_error();
      if (record === L.USER_PAUSED) throw plain_error('EXWALLET_BUSY', 'createUsers met an audit in progress; call it again');
      if (record < 0) throw range_error('EXWALLET_USER_TABLE_FULL', `user table full (maxUsers ${core.layout.users_max})`);
      prepared.push({ user, record });
    }
    try {
      journal_users(core, prepared.map(({ user, record }) => ({
        slot: record, balance_units: user.balance_units, currency: core.currencies.text_of(user.currency_id), name: user.name,
      })));
    } catch (error) {
      throw plain_error('EXWALLET_JOURNAL_FAILED', `createUsers could not journal the users (${(error as Error).message}); none of them was created`);
    }
    for (const { user, record } of prepared) {
      const slot = core.exports.user_publish(record, write_name(core, user.name));
      core.user_slots.set(user.name, slot);
    }
  } finally {
    Atomics.store(core.u32, lock_word, 0);
    Atomics.notify(core.i32, lock_word);
  }
}

/** Pause used while another thread's creation is in flight: a private word
 *  nobody notifies, so Atomics.wait is a bounded sleep. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const IN_FLIGHT_PAUSE_MS = 0.05;

/** Create the names that do not exist yet, all or (single-threaded) none.
 *
 *  A full table is final only when no creation is in flight: a ticket held
 *  by another thread may be for one of our own names, and if that creation
 *  publishes, our call must not fail (in no sequential order would it). So
 *  the counters are read first (t0), the names looked up after (t1): names
 *  only ever get created, so those missing at t1 were missing at t0, and if
 *  at t0 nothing was in flight and there was no room for them, the table was
 *  full for them at t0 — the instant the RangeError linearizes at. Otherwise
 *  look again, for at most twinWaitMs (a thread that died holding a ticket is
 *  waited out; audit() returns such tickets). */
function create_all(core: ThreadCore, users: ResolvedUser[]): void {
  const users_max = core.layout.users_max;
  let deadline_ms = 0;
  for (;;) {
    const tickets = core.exports.user_tickets(); // t0
    const created = core.exports.user_count();
    const fresh = fresh_users(core, users); // t1
    if (fresh.length === 0) return;
    let full_at: string | undefined;
    let paused = false;
    if (fresh.length <= users_max - tickets) {
      for (const user of fresh) {
        const slot = core.exports.user_create(write_name(core, user.name), user.balance_units, user.currency_id);
        if (slot === L.USER_CLOSED) throw type_error('EXWALLET_CLOSED', 'this wallet was closed; start() a new one');
        if (slot === L.USER_PAUSED) {
          paused = true; // audit holds the wallet: look again shortly
          break;
        }
        if (slot === L.USER_TABLE_FULL) {
          full_at = user.name;
          break;
        }
        core.user_slots.set(user.name, slot);
      }
      if (full_at === undefined && !paused) return;
    } else if (tickets === created) {
      throw range_error(
        'EXWALLET_USER_TABLE_FULL',
        `user table full: ${fresh.length} new users requested, room for ${users_max - tickets} of maxUsers ${users_max}`,
      );
    }
    const now_ms = performance.now();
    if (deadline_ms === 0) deadline_ms = now_ms + core.wait_ms_max;
    if (now_ms >= deadline_ms && paused) {
      throw plain_error('EXWALLET_BUSY', `createUsers waited ${core.wait_ms_max} ms for an audit to finish; call it again`);
    }
    if (now_ms >= deadline_ms) {
      throw range_error(
        'EXWALLET_USER_TABLE_FULL',
        `user table full (maxUsers ${users_max})${full_at === undefined ? '' : ` while creating ${JSON.stringify(full_at)}`}: ` +
        `a creation in flight for ${core.wait_ms_max} ms did not finish`,
      );
    }
    Atomics.wait(sleeper, 0, 0, IN_FLIGHT_PAUSE_MS);
  }
}
