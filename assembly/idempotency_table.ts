// The idempotency table: open addressing on the 128-bit transaction_uuid.
//
// Per generation (layout_constants.ts, "Generations") two regions: the index
// (u64 words, 2 x gen_entries of them, linear probing) and the entries (88
// bytes each, gen_entries of them; how the budget of units relates to them is
// in layout_constants.ts, "Capacity"). An entry is written whole by its
// claimer and only then published by one compare-exchange of an empty index
// word of the CURRENT generation; from then on that word binds the uuid to
// that entry for the generation's life. A failed request does not unbind it:
// it marks the entry RELEASED, and a later request with the same uuid finds
// the entry and claims it again. So two threads inserting one uuid always
// meet at one entry, and one compare-exchange decides which of them owns it.
// Probes look in the current generation, then in the previous one while it
// is live; a RELEASED entry of the previous generation is no binding (the
// uuid is claimed anew in the current one).

import {
  HEADER_OFFSET, H_TX_ENTRIES_NEXT, H_TX_BUDGET_NEXT, INDEX_WORD_BYTES, ENTRY_SIZE_BYTES, ENTRY_CHUNK_MAX,
  BUDGET_CHUNK_MAX, COUNTER_RETRY_MAX, WAIT_MARK_TRIES_MAX,
  E_STATE, E_UUID, PHASE_MASK, PHASE_CLAIMED, PHASE_RELEASED, WAITERS_BIT, OWNER_SHIFT, KIND_SHIFT,
  THREAD_RECORD_BYTES, T_OWNER, T_ENTRY_NEXT, T_ENTRY_END, T_BUDGET_UNITS, T_GEN_SEQ, ADOPTING_OWNER,
  H_GEN_WORD, H_GEN_ENTRIES_NEXT_1, H_GEN_BUDGET_NEXT_1, H_RELEASED_BOUND, H_GEN_RELEASED_BOUND_1, H_ROTATE_WANT,
  FILTER_BLOCK_BYTES, FILTER_PROBES, H_FILTER_KEYS,
} from "./layout";
import { siphash_16, fast_range } from "./hash";
import {
  tx_index, tx_entries, thread_slot, threads, threads_max, thread_record,
  entry_next, entry_end, set_entry_chunk, budget_units, set_budget_units, invariant, hash_key0, hash_key1,
  gen_count, gen_budget, gen_entries, gen_index_capacity, rotate_at, filter, filter_blocks,
} from "./state";

/** The index tag of the uuid last probed by tx_probe: the caller keeps it
 *  for tx_publish (recomputing it would cost a second SipHash per call). */
export let probed_tag: u32 = 0;

// The generation view of the call in progress, read once per call from
// H_GEN_WORD by gen_refresh (after the call announced itself busy: it cannot
// change before the call leaves, see layout_constants.ts "Generations").
export let cur_seq: u32 = 0;
export let cur_gen: u32 = 0;
export let prev_live: bool = false;
/** The generation word as gen_refresh read it (the flip canary waits for it to change). */
export let gen_word_seen: u32 = 0;
let cur_index: usize = 0;
let prev_index: usize = 0;
let cur_entry_base: u32 = 0;

/** Read the generation word; drop this slot's entries and units if they
 *  were reserved in an earlier generation. */
export function gen_refresh(): void {
  const word = atomic.load<u32>(<usize>HEADER_OFFSET + H_GEN_WORD);
  gen_word_seen = word;
  cur_seq = word >> 1;
  cur_gen = gen_count == 1 ? 0 : cur_seq & 1;
  prev_live = gen_count > 1 && (word & 1) != 0;
  cur_index = gen_index_base(cur_gen);
  prev_index = gen_index_base(cur_gen ^ 1);
  cur_entry_base = cur_gen * gen_entries;
  if (load<u32>(thread_record + T_GEN_SEQ) != cur_seq) {
    set_entry_chunk(0, 0);
    set_budget_units(0);
    store<u32>(thread_record + T_GEN_SEQ, cur_seq);
  }
}

// @ts-ignore: decorator
@inline
function gen_index_base(gen: u32): usize {
  return tx_index + <usize>gen * gen_index_capacity * INDEX_WORD_BYTES;
}

/** Header counter of generation `gen`: H_TX_ENTRIES_NEXT-like fields of gen 0, their _1 twins of gen 1. */
// @ts-ignore: decorator
@inline
function gen_counter(gen0_field: u32, gen1_field: u32, gen: u32): usize {
  return <usize>HEADER_OFFSET + (gen == 0 ? gen0_field : gen1_field);
}

/** The current generation's count of RELEASED entries holding no unit. */
export function released_bound_ptr(): usize {
  return gen_counter(H_RELEASED_BOUND, H_GEN_RELEASED_BOUND_1, cur_gen);
}

/** The generation an entry belongs to. */
// @ts-ignore: decorator
@inline
export function gen_of_entry(entry: u32): u32 {
  return entry / gen_entries;
}

/** The keyed hash of the uuid at `uuid_ptr`: computed once per call and
 *  passed to tx_probe_hashed (a restart probes again with the same hash). */
// @ts-ignore: decorator
@inline
export function hash_uuid(uuid_ptr: usize): u64 {
  return siphash_16(uuid_ptr, hash_key0, hash_key1);
}

// @ts-ignore: decorator
@inline
export function entry_ptr(entry: u32): usize {
  return tx_entries + <usize>entry * ENTRY_SIZE_BYTES;
}

// @ts-ignore: decorator
@inline
export function entry_state(entry: u32): u32 {
  return atomic.load<u32>(entry_ptr(entry) + E_STATE);
}

// @ts-ignore: decorator
@inline
export function claimed_state(kind: u32): u32 {
  return PHASE_CLAIMED | (kind << KIND_SHIFT) | (thread_slot << OWNER_SHIFT);
}

function uuid_equals(entry: u32, uuid_ptr: usize): bool {
  const e = entry_ptr(entry);
  return load<u64>(e + E_UUID) == load<u64>(uuid_ptr) && load<u64>(e + E_UUID + 8) == load<u64>(uuid_ptr + 8);
}

/** Find the uuid at `uuid_ptr`. Returns its entry index (>= 0), or -1 - pos
 *  of the first empty index word of the current generation, where the uuid
 *  would be inserted; sets probed_tag. A uuid published after the call may
 *  be missed (the answer can be late), but an answer of "empty at pos" stays
 *  true for as long as that word is 0. */
export function tx_probe(uuid_ptr: usize): i64 {
  return tx_probe_hashed(uuid_ptr, hash_uuid(uuid_ptr));
}

/** tx_probe with the uuid's hash_uuid already computed. */
export function tx_probe_hashed(uuid_ptr: usize, hash: u64): i64 {
  const in_cur = probe_index(cur_index, uuid_ptr, hash);
  if (in_cur >= 0 || !prev_live) return in_cur;
  const in_prev = probe_index(prev_index, uuid_ptr, hash);
  if (in_prev >= 0 && (entry_state(<u32>in_prev) & PHASE_MASK) != PHASE_RELEASED) return in_prev;
  return in_cur;
}

/** Probe the current generation only (rotation: where a carried bet goes). */
export function tx_probe_current(uuid_ptr: usize): i64 {
  return probe_index(cur_index, uuid_ptr, hash_uuid(uuid_ptr));
}

/** One generation's index: the entry of the uuid, or -1 - pos of the first empty word. */
function probe_index(index: usize, uuid_ptr: usize, hash: u64): i64 {
  const tag = <u32>(hash >> 32);
  probed_tag = tag;
  let pos = fast_range(<u32>hash, gen_index_capacity);
  // At most gen_entries words are ever set in 2 x gen_entries positions:
  // an empty word is always found within the bound.
  for (let probe_count: u32 = 0; probe_count < gen_index_capacity; probe_count++) {
    const word = atomic.load<u64>(index + <usize>pos * INDEX_WORD_BYTES);
    if (word == 0) return -1 - <i64>pos;
    if (<u32>(word >> 32) == tag && uuid_equals(<u32>word - 1, uuid_ptr)) return <i64>(<u32>word - 1);
    pos = pos + 1 == gen_index_capacity ? 0 : pos + 1;
  }
  invariant(false);
  return 0;
}

/** The home position (first probe) of the uuid at `uuid_ptr`: how the tests
 *  and the flood benchmark see where keys land under the wallet's key. */
export function tx_home_position(uuid_ptr: usize): u32 {
  return fast_range(<u32>hash_uuid(uuid_ptr), gen_index_capacity);
}

/** True while the current generation's index word at `pos` is still empty:
 *  the uuid that probed to it has still not been published by anyone. */
export function tx_still_absent(pos: u32): bool {
  return atomic.load<u64>(cur_index + <usize>pos * INDEX_WORD_BYTES) == 0;
}

// The retired filter (layout_constants.ts, "Generations"): a split-block
// Bloom filter. A uuid picks one 64-byte block from the low half of a remix
// of its keyed hash, and sets one bit in each of the block's FILTER_PROBES
// (8) words, six bits of a second remix each: one cache line per check, and
// no bit of the block choice reused for a bit position.

// @ts-ignore: decorator
@inline
function filter_mix(hash: u64): u64 {
  let x = hash ^ 0x9e3779b97f4a7c15;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

// @ts-ignore: decorator
@inline
function filter_block(mixed: u64): usize {
  return filter + <usize>fast_range(<u32>mixed, filter_blocks) * FILTER_BLOCK_BYTES;
}

/** May the uuid of `hash` be retired? False: it certainly is not. */
export function filter_maybe(hash: u64): bool {
  if (filter_blocks == 0) return false;
  const mixed = filter_mix(hash);
  const block = filter_block(mixed);
  const bits = filter_mix(mixed);
  for (let probe = 0; probe < FILTER_PROBES; probe++) {
    const word = atomic.load<u64>(block + <usize>probe * 8);
    if ((word & (<u64>1 << ((bits >> <u64>(probe * 6)) & 63))) == 0) return false;
  }
  return true;
}

/** Add the uuid of `hash` to the retired filter (the rotator, recovery). */
export function filter_add(hash: u64): void {
  if (filter_blocks == 0) return;
  const mixed = filter_mix(hash);
  const block = filter_block(mixed);
  const bits = filter_mix(mixed);
  for (let probe = 0; probe < FILTER_PROBES; probe++) {
    atomic.or<u64>(block + <usize>probe * 8, <u64>1 << ((bits >> <u64>(probe * 6)) & 63));
  }
  const keys_ptr = <usize>HEADER_OFFSET + H_FILTER_KEYS;
  if (atomic.load<u32>(keys_ptr) != 0xffffffff) atomic.add<u32>(keys_ptr, 1);
}

/** An entry of this thread's reserved chunk (of the current generation), or
 *  -1 when the generation's entries are spent. The shared counter is touched
 *  once per chunk; chunks shrink as the entries run out so that the last
 *  ones are not stranded in idle threads, and once they are spent, the
 *  chunks left in the records of free (detached) slots are adopted. */
export function entry_reserve(): i32 {
  const next = entry_next();
  if (next < entry_end()) return <i32>next;
  const next_ptr = gen_counter(H_TX_ENTRIES_NEXT, H_GEN_ENTRIES_NEXT_1, cur_gen);
  let seen = atomic.load<u32>(next_ptr);
  for (let attempt = 0; attempt < COUNTER_RETRY_MAX; attempt++) {
    if (seen >= gen_entries) return adopt_free_chunk();
    const remaining = gen_entries - seen;
    let chunk = remaining >> 6;
    if (chunk > <u32>ENTRY_CHUNK_MAX) chunk = <u32>ENTRY_CHUNK_MAX;
    if (chunk == 0) chunk = 1;
    const witnessed = atomic.cmpxchg<u32>(next_ptr, seen, seen + chunk);
    if (witnessed == seen) {
      set_entry_chunk(cur_entry_base + seen, cur_entry_base + seen + chunk);
      return <i32>(cur_entry_base + seen);
    }
    seen = witnessed;
  }
  return -1; // the counter moved COUNTER_RETRY_MAX times under us: answer "full" for now
}

/** Take `units` budget units of the current generation for this thread
 *  slot; false when its budget is spent (then nothing is taken). Like
 *  entries, units are handed out in chunks that shrink as the budget runs
 *  out, and once it is spent the units left in free (detached) slots are
 *  adopted. The chunk that crosses rotate_at asks the rotator for a new
 *  generation (durable wallets). */
export function budget_take(units: u32): bool {
  if (units == 0) return true;
  let held = budget_units();
  if (held >= units) {
    set_budget_units(held - units);
    return true;
  }
  const next_ptr = gen_counter(H_TX_BUDGET_NEXT, H_GEN_BUDGET_NEXT_1, cur_gen);
  let seen = atomic.load<u32>(next_ptr);
  for (let attempt = 0; attempt < COUNTER_RETRY_MAX; attempt++) {
    if (seen >= gen_budget) {
      held += adopt_free_budget();
      if (held < units) {
        set_budget_units(held);
        return false;
      }
      set_budget_units(held - units);
      return true;
    }
    const remaining = gen_budget - seen;
    let chunk = remaining >> 6;
    if (chunk > <u32>BUDGET_CHUNK_MAX) chunk = <u32>BUDGET_CHUNK_MAX;
    if (chunk < units - held) chunk = units - held;
    if (chunk > remaining) chunk = remaining;
    const witnessed = atomic.cmpxchg<u32>(next_ptr, seen, seen + chunk);
    if (witnessed == seen) {
      if (gen_count > 1 && seen < rotate_at && seen + chunk >= rotate_at) want_rotation();
      held += chunk;
      if (held < units) {
        seen = seen + chunk;
        continue; // took the last units and they were not enough: adopt
      }
      set_budget_units(held - units);
      return true;
    }
    seen = witnessed;
  }
  set_budget_units(held);
  return false;
}

/** Wake the rotator: the current generation is running low. */
export function want_rotation(): void {
  const ptr = <usize>HEADER_OFFSET + H_ROTATE_WANT;
  atomic.add<u32>(ptr, 1);
  atomic.notify(ptr, -1);
}

/** Give back units taken by a request that then failed. */
// @ts-ignore: decorator
@inline
export function budget_give(units: u32): void {
  set_budget_units(budget_units() + units);
}

/** Is a free slot's record worth adopting: free, and reserved in this generation? */
function adoptable(record: usize): bool {
  return atomic.load<u32>(record + T_OWNER) == 0 && load<u32>(record + T_GEN_SEQ) == cur_seq;
}

/** The budget units of free thread slots, moved into ours. */
function adopt_free_budget(): u32 {
  let adopted: u32 = 0;
  for (let slot: u32 = 0; slot < threads_max; slot++) {
    const record = threads + <usize>slot * THREAD_RECORD_BYTES;
    if (!adoptable(record) || load<u32>(record + T_BUDGET_UNITS) == 0) continue;
    if (atomic.cmpxchg<u32>(record + T_OWNER, 0, ADOPTING_OWNER) != 0) continue;
    if (load<u32>(record + T_GEN_SEQ) == cur_seq) {
      adopted += load<u32>(record + T_BUDGET_UNITS);
      store<u32>(record + T_BUDGET_UNITS, 0);
    }
    atomic.store<u32>(record + T_OWNER, 0); // publishes the emptied record
    if (adopted >= <u32>BUDGET_CHUNK_MAX) break;
  }
  return adopted;
}

/** Take over the unused entries of a free thread slot: hold the slot (as an
 *  attach would, so nobody else takes it meanwhile), move its chunk into
 *  ours, free it again. Only when the generation's counter is spent. */
function adopt_free_chunk(): i32 {
  for (let slot: u32 = 0; slot < threads_max; slot++) {
    const record = threads + <usize>slot * THREAD_RECORD_BYTES;
    if (!adoptable(record)) continue;
    if (load<u32>(record + T_ENTRY_NEXT) >= load<u32>(record + T_ENTRY_END)) continue;
    if (atomic.cmpxchg<u32>(record + T_OWNER, 0, ADOPTING_OWNER) != 0) continue;
    const same_gen = load<u32>(record + T_GEN_SEQ) == cur_seq;
    const next = load<u32>(record + T_ENTRY_NEXT);
    const end = load<u32>(record + T_ENTRY_END);
    store<u32>(record + T_ENTRY_NEXT, end);
    atomic.store<u32>(record + T_OWNER, 0); // publishes the emptied record
    if (same_gen && next < end) {
      set_entry_chunk(next, end);
      return <i32>next;
    }
  }
  return -1;
}

/** Publish `entry` (already written whole, state CLAIMED) under index `tag`
 *  (tx_probe's probed_tag for its uuid) in the empty word at `pos`. Returns
 *  true if published; false if the word was taken first (the caller probes
 *  again: it may be its twin). */
export function tx_publish(pos: u32, entry: u32, tag: u32): bool {
  invariant(entry == entry_next() && entry < entry_end());
  invariant((entry_state(entry) & PHASE_MASK) == PHASE_CLAIMED);
  const word: u64 = (<u64>tag << 32) | <u64>(entry + 1);
  // Publication: the entry's plain stores above happen-before this
  // sequentially consistent compare-exchange, and every reader loads the
  // index word atomically before reading the entry.
  const witnessed = atomic.cmpxchg<u64>(cur_index + <usize>pos * INDEX_WORD_BYTES, 0, word);
  if (witnessed != 0) return false;
  set_entry_chunk(entry + 1, entry_end());
  return true;
}

/** Move a CLAIMED entry owned by this thread to `next_state`, waking any twin
 *  that sleeps on it. The owner is the only writer of a CLAIMED state word
 *  besides waiters setting WAITERS_BIT, so one exchange suffices. */
export function entry_finish(entry: u32, next_state: u32): void {
  const ptr = entry_ptr(entry) + E_STATE;
  const previous = atomic.xchg<u32>(ptr, next_state);
  invariant((previous & PHASE_MASK) == PHASE_CLAIMED);
  invariant((previous >> OWNER_SHIFT) == thread_slot);
  if ((previous & WAITERS_BIT) != 0) atomic.notify(ptr, -1);
}

/** Called by a thread about to sleep on a twin's claim: sets WAITERS_BIT and
 *  returns the state word to wait on, or 0 if the claim has already ended
 *  (then there is nothing to wait for: probe again). */
export function entry_prepare_wait(entry: u32): u32 {
  const ptr = entry_ptr(entry) + E_STATE;
  let seen = atomic.load<u32>(ptr);
  for (let attempt = 0; attempt < WAIT_MARK_TRIES_MAX; attempt++) {
    if ((seen & PHASE_MASK) != PHASE_CLAIMED) return 0;
    if ((seen & WAITERS_BIT) != 0) return seen;
    const witnessed = atomic.cmpxchg<u32>(ptr, seen, seen | WAITERS_BIT);
    if (witnessed == seen) return seen | WAITERS_BIT;
    seen = witnessed;
  }
  return 0;
}
