// The user-slot table: open addressing on a name's UTF-8 bytes.
//
// Index words bind a tag to a user record for life (see layout.ts). A record
// (name + balance) is fully written *before* the compare-exchange that
// publishes its index word, so a reader that sees the word sees the name and
// the initial balance: there is no half-created user to wait for.
//
// Capacity is exact: a creation first takes a ticket from H_USERS_RESERVED
// (at most users_max are ever taken) and gives it back if the name turns out
// to exist. Records are a separate budget, users_max + threads_max, because a
// thread that loses a race for the same name keeps its written record as a
// spare for its next creation.

import {
  HEADER_OFFSET, H_USERS_RESERVED, H_USERS_PUBLISHED, H_USER_RECORDS_NEXT,
  INDEX_WORD_BYTES, USER_NAME_RECORD_BYTES, USER_NAME_MAX_BYTES, BALANCE_BYTES, S_NAME,
  USER_META_BYTES, M_BASE_UNITS, M_CURRENCY_ID, MAX_SAFE_UNITS,
  USER_NOT_FOUND, USER_TABLE_FULL, USER_PAUSED, USER_CLOSED, USER_FAILED, RUN_OPEN, RUN_PAUSED, RUN_CLOSED,
} from "./layout";
import { siphash_bytes, fast_range } from "./hash";
import {
  user_index, user_names, user_balances, user_meta, user_index_capacity, users_max, user_records_max,
  scratch, user_spare, set_user_spare, invariant, hash_key0, hash_key1, enter, leave,
} from "./state";

/** Names hash under the wallet's key with one bit flipped: a uuid and a name
 *  with the same bytes never share a hash by construction. */
// @ts-ignore: decorator
@inline
function hash_name(name_ptr: usize, name_len: u32): u64 {
  return siphash_bytes(name_ptr, name_len, hash_key0, hash_key1 ^ 1);
}

// @ts-ignore: decorator
@inline
export function meta_ptr(slot: u32): usize {
  return user_meta + <usize>slot * USER_META_BYTES;
}

// @ts-ignore: decorator
@inline
export function balance_ptr(slot: u32): usize {
  return user_balances + <usize>slot * BALANCE_BYTES;
}

function name_equals(record: u32, name_ptr: usize, name_len: u32): bool {
  const stored = user_names + <usize>record * USER_NAME_RECORD_BYTES;
  if (<u32>load<u8>(stored) != name_len) return false;
  return memory.compare(stored + 1, name_ptr, name_len) == 0;
}

/** Probe for the name in scratch; returns its slot or, through `empty_out`,
 *  the first empty index position (where a creator would publish). */
function probe(name_len: u32, hash: u64): i64 {
  const tag = <u32>(hash >> 32);
  const name_ptr = scratch + S_NAME;
  let pos = fast_range(<u32>hash, user_index_capacity);
  // The index holds at most users_max words in 2 x users_max positions, so an
  // empty word is always reached within `capacity` steps.
  for (let probe_count: u32 = 0; probe_count < user_index_capacity; probe_count++) {
    const word = atomic.load<u64>(user_index + <usize>pos * INDEX_WORD_BYTES);
    if (word == 0) return -1 - <i64>pos; // negative: empty at pos
    if (<u32>(word >> 32) == tag) {
      const record = <u32>word - 1;
      if (name_equals(record, name_ptr, name_len)) return <i64>record;
    }
    pos = pos + 1 == user_index_capacity ? 0 : pos + 1;
  }
  invariant(false); // unreachable while load <= 1/2
  return 0;
}

/** Home position (first probe) of the name in scratch: tests and bench aim names with it. */
export function user_home_position(name_len: u32): u32 {
  return fast_range(<u32>hash_name(scratch + S_NAME, name_len), user_index_capacity);
}

/** Slot of the user whose UTF-8 name (name_len bytes) is in scratch, or -1. */
export function user_find(name_len: u32): i32 {
  if (name_len == 0 || name_len > <u32>USER_NAME_MAX_BYTES) return USER_NOT_FOUND;
  const found = probe(name_len, hash_name(scratch + S_NAME, name_len));
  return found >= 0 ? <i32>found : USER_NOT_FOUND;
}

/** Create the user named in scratch unless it exists, with `balance_units`
 *  and currency record `currency_id`. Returns its slot (new or existing), or
 *  USER_TABLE_FULL, USER_PAUSED (audit holds the wallet: retry) or
 *  USER_CLOSED. Linearizes at the publishing CAS, or at the load that found
 *  the name. */
/** What a creation answers when the run word is not RUN_OPEN. */
function refusal(run: u32): i32 {
  return run == RUN_PAUSED ? USER_PAUSED : run == RUN_CLOSED ? USER_CLOSED : USER_FAILED;
}

export function user_create(name_len: u32, balance_f64: f64, currency_id: u32): i32 {
  const run = enter();
  if (run != RUN_OPEN) return refusal(run);
  const slot = create(name_len, <i64>balance_f64, currency_id, true);
  leave();
  return slot;
}

/** Durable wallets, step 1 of 2 (under the wallet's create lock, see
 *  src/users.ts): take a ticket and a record for the name in scratch and
 *  write it, WITHOUT publishing: the caller journals it first, so that no
 *  thread can see a user the journal does not have. Returns the record, or
 *  USER_TABLE_FULL / USER_PAUSED / USER_CLOSED / USER_FAILED. The name must not exist. */
export function user_prepare(name_len: u32, balance_f64: f64, currency_id: u32): i32 {
  const run = enter();
  if (run != RUN_OPEN) return refusal(run);
  const record = create(name_len, <i64>balance_f64, currency_id, false);
  leave();
  return record;
}

/** Durable wallets, step 2: publish a prepared record (its name in scratch). */
export function user_publish(record: u32, name_len: u32): i32 {
  enter(); // a create lock holder cannot be paused out of publishing what it journaled
  const hash = hash_name(scratch + S_NAME, name_len);
  const found = probe(name_len, hash);
  invariant(found < 0); // the create lock keeps other creators of the name out
  const slot = publish(record, name_len, <u32>(hash >> 32), <u32>(-1 - found));
  leave();
  return slot;
}

/** Recovery: create the user named in scratch at record `record`, as the
 *  journal says (single-threaded, before the wallet serves). */
export function user_create_at(record: u32, name_len: u32, balance_f64: f64, currency_id: u32): i32 {
  invariant(record < user_records_max);
  const hash = hash_name(scratch + S_NAME, name_len);
  const found = probe(name_len, hash);
  if (found >= 0) return USER_TABLE_FULL; // the journal names a user twice: corrupt
  const reserved_ptr = <usize>HEADER_OFFSET + H_USERS_RESERVED;
  if (atomic.add<u32>(reserved_ptr, 1) >= users_max) return USER_TABLE_FULL;
  const next_ptr = <usize>HEADER_OFFSET + H_USER_RECORDS_NEXT;
  if (atomic.load<u32>(next_ptr) <= record) atomic.store<u32>(next_ptr, record + 1);
  write_record(record, name_len, <i64>balance_f64, currency_id);
  return publish(record, name_len, <u32>(hash >> 32), <u32>(-1 - found));
}

function write_record(record: u32, name_len: u32, balance_units: i64, currency_id: u32): void {
  const stored = user_names + <usize>record * USER_NAME_RECORD_BYTES;
  store<u8>(stored, <u8>name_len);
  memory.copy(stored + 1, scratch + S_NAME, name_len);
  store<i64>(meta_ptr(record) + M_BASE_UNITS, balance_units);
  store<u32>(meta_ptr(record) + M_CURRENCY_ID, currency_id);
  atomic.store<i64>(balance_ptr(record), balance_units);
}

function create(name_len: u32, balance_units: i64, currency_id: u32, publish_it: bool): i32 {
  invariant(name_len > 0 && name_len <= <u32>USER_NAME_MAX_BYTES);
  invariant(balance_units >= 0 && balance_units <= MAX_SAFE_UNITS);
  const hash = hash_name(scratch + S_NAME, name_len);
  const found = probe(name_len, hash);
  if (found >= 0) return <i32>found;

  // Take a ticket: the count of users can never pass users_max.
  const reserved_ptr = <usize>HEADER_OFFSET + H_USERS_RESERVED;
  if (atomic.add<u32>(reserved_ptr, 1) >= users_max) {
    atomic.sub<u32>(reserved_ptr, 1);
    return USER_TABLE_FULL;
  }
  let record: u32;
  const spare = user_spare();
  if (spare >= 0) {
    record = <u32>spare;
    set_user_spare(-1);
  } else {
    record = atomic.add<u32>(<usize>HEADER_OFFSET + H_USER_RECORDS_NEXT, 1);
    if (record >= user_records_max) {
      atomic.sub<u32>(reserved_ptr, 1);
      return USER_TABLE_FULL;
    }
  }
  // Write the record, then publish it with one compare-exchange.
  write_record(record, name_len, balance_units, currency_id);
  if (!publish_it) return <i32>record;
  return publish(record, name_len, <u32>(hash >> 32), <u32>(-1 - found));
}

/** Publish `record` for the name in scratch from the empty index word at
 *  `pos` on. Returns the record, or the existing slot of the same name if
 *  another thread published it first (our record is kept as a spare). */
function publish(record: u32, name_len: u32, tag: u32, pos: u32): i32 {
  const name_ptr = scratch + S_NAME;
  const reserved_ptr = <usize>HEADER_OFFSET + H_USERS_RESERVED;
  const word: u64 = (<u64>tag << 32) | <u64>(record + 1);
  for (let probe_count: u32 = 0; probe_count < user_index_capacity; probe_count++) {
    const ptr = user_index + <usize>pos * INDEX_WORD_BYTES;
    const witnessed = atomic.cmpxchg<u64>(ptr, 0, word);
    if (witnessed == 0) {
      atomic.add<u32>(<usize>HEADER_OFFSET + H_USERS_PUBLISHED, 1);
      return <i32>record; // published
    }
    if (<u32>(witnessed >> 32) == tag && name_equals(<u32>witnessed - 1, name_ptr, name_len)) {
      // Another thread created the same name first: keep our record for later.
      set_user_spare(<i32>record);
      atomic.sub<u32>(reserved_ptr, 1);
      return <i32>(<u32>witnessed - 1);
    }
    // Someone else's name took this position; go on from the next one. Words
    // never change once set, so the positions behind us need no second look.
    pos = pos + 1 == user_index_capacity ? 0 : pos + 1;
    while (true) {
      const next = atomic.load<u64>(user_index + <usize>pos * INDEX_WORD_BYTES);
      if (next == 0) break;
      if (<u32>(next >> 32) == tag && name_equals(<u32>next - 1, name_ptr, name_len)) {
        set_user_spare(<i32>record);
        atomic.sub<u32>(reserved_ptr, 1);
        return <i32>(<u32>next - 1);
      }
      pos = pos + 1 == user_index_capacity ? 0 : pos + 1;
      probe_count++;
      invariant(probe_count < user_index_capacity);
    }
  }
  invariant(false);
  return USER_TABLE_FULL;
}

/** Tickets taken: users created plus creations in flight. */
export function user_tickets(): u32 {
  return atomic.load<u32>(<usize>HEADER_OFFSET + H_USERS_RESERVED);
}

/** Users created. Can be late by the creations in flight. */
export function user_count(): u32 {
  return atomic.load<u32>(<usize>HEADER_OFFSET + H_USERS_PUBLISHED);
}

/** The balance of `slot`, in units, as an f64 (exact below 2^53). One atomic
 *  load: never a torn value, possibly already stale when JS reads it. */
export function balance_of(slot: u32): f64 {
  return <f64>atomic.load<i64>(balance_ptr(slot));
}

/** The currency record of `slot` (written before the user was published). */
export function currency_of(slot: u32): u32 {
  return load<u32>(meta_ptr(slot) + M_CURRENCY_ID);
}
