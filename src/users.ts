// Users: createUsers (spec §2) and the name -> slot resolution of every call.

import { L } from './layout.js';
import type { ThreadCore } from './core.js';
import { Wallet } from './wallet.js';
import { is_well_formed } from './text.js';

const USER_TABLE_FULL = -2;

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

/** Create every name of `users` that does not exist yet, with the wallet's
 *  currency and initial balance. Ignores "" and existing names (repeats in
 *  the call too). Throws TypeError naming the first bad entry (creating
 *  nothing), or RangeError if the table cannot take the new names (creating
 *  nothing, unless another thread fills the table during the call: then the
 *  names before the one that did not fit stay created). */
export function createUsers(wallet: Wallet, users: string[]): void {
  const core = Wallet.core_of(wallet);
  if (!Array.isArray(users)) throw new TypeError('exwallet: createUsers expects an array of user names');
  const names: string[] = [];
  for (let index = 0; index < users.length; index++) {
    const name: unknown = users[index];
    if (typeof name !== 'string') {
      throw new TypeError(`exwallet: createUsers: entry ${index} is not a string (${describe(name)})`);
    }
    if (!is_well_formed(name)) {
      throw new TypeError(`exwallet: createUsers: entry ${index} is not well-formed Unicode (a lone surrogate)`);
    }
    if (Buffer.byteLength(name, 'utf8') > L.USER_NAME_MAX_BYTES) {
      throw new TypeError(
        `exwallet: createUsers: entry ${index} (${JSON.stringify(name.slice(0, 32))}…) is ${describe(name)}; ` +
        `the limit is ${L.USER_NAME_MAX_BYTES}`,
      );
    }
    if (name !== '') names.push(name);
  }
  create_all(core, [...new Set(names)]);
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
function create_all(core: ThreadCore, names: string[]): void {
  const users_max = core.layout.users_max;
  let deadline_ms = 0;
  for (;;) {
    const tickets = core.exports.user_tickets(); // t0
    const created = core.exports.user_count();
    const fresh = names.filter((name) => user_slot_of(core, name) < 0); // t1
    if (fresh.length === 0) return;
    let full_at: string | undefined;
    if (fresh.length <= users_max - tickets) {
      for (const name of fresh) {
        const slot = core.exports.user_create(write_name(core, name));
        if (slot === USER_TABLE_FULL) {
          full_at = name;
          break;
        }
        core.user_slots.set(name, slot);
      }
      if (full_at === undefined) return;
    } else if (tickets === created) {
      throw new RangeError(
        `exwallet: user table full: ${fresh.length} new users requested, room for ${users_max - tickets} of maxUsers ${users_max}`,
      );
    }
    const now_ms = performance.now();
    if (deadline_ms === 0) deadline_ms = now_ms + core.wait_ms_max;
    if (now_ms >= deadline_ms) {
      throw new RangeError(
        `exwallet: user table full (maxUsers ${users_max})${full_at === undefined ? '' : ` while creating ${JSON.stringify(full_at)}`}: ` +
        `a creation in flight for ${core.wait_ms_max} ms did not finish`,
      );
    }
    Atomics.wait(sleeper, 0, 0, IN_FLIGHT_PAUSE_MS);
  }
}
