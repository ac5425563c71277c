// One thread's binding to one wallet: its WASM instance over the shared
// memory, its registry slot (owner id + scratch region), typed views, and its
// private cache of user name -> slot. Made once per (thread, wallet) and
// reused by every Wallet object of that thread over that memory.

import { readFileSync } from 'node:fs';
import { threadId, isMainThread } from 'node:worker_threads';
import { L, read_header, type Layout } from './layout.js';
import { RecordWriter } from './fingerprint_encoder.js';
import { CurrencyTable } from './currencies.js';
import { plain_error, range_error } from './errors.js';

export interface CoreExports {
  init(slot: number): number;
  layout_fingerprint(): number;
  user_find(name_len: number): number;
  user_create(name_len: number, balance_units: number, currency_id: number): number;
  user_count(): number;
  user_tickets(): number;
  balance_of(slot: number): number;
  currency_of(slot: number): number;
  apply(kind: number, user_slot: number, amount: number, flags: number, records_bytes: number): number;
  tx_lookup(): number;
  recover_records(count: number, flags: number, no_delta: number): number;
  carry_open_bets(from_gen: number): number;
  filter_add_uuids(count: number): void;
  filter_knows(): number;
  set_flip_canary(on: number): void;
  format_uuid_text(from: number, to: number): void;
  user_prepare(name_len: number, balance_units: number, currency_id: number): number;
  user_publish(record: number, name_len: number): number;
  user_create_at(record: number, name_len: number, balance_units: number, currency_id: number): number;
  set_epoch_after_cas(on: number): void;
  entry_prepare_wait(entry: number): number;
  home_position(): number;
  user_home_position(name_len: number): number;
  set_crash_point(point: number): void;
  parse_body(kind: number, body_bytes: number): number;
  respond_body(status: number, own_request: number): number;
  transact_body(kind: number, body_bytes: number, own_request: number): number;
  body_key_at(len: number): number;
  status_text_at(status: number): number;
}

let compiled: WebAssembly.Module | undefined;

/** The compiled core, compiled once per thread (or received in a handle). */
export function core_module(): WebAssembly.Module {
  if (!compiled) {
    const url = new URL('../build/exwallet.wasm', import.meta.url);
    compiled = new WebAssembly.Module(readFileSync(url));
  }
  return compiled;
}

export class ThreadCore {
  readonly exports: CoreExports;
  readonly layout: Layout;
  readonly currencies: CurrencyTable;
  /** The currency record of users created without a currency of their own. */
  readonly default_currency_id: number;
  readonly wait_ms_max: number;
  readonly initial_balance_units: number;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly i64: BigInt64Array;
  readonly bytes: Buffer;
  readonly thread_slot: number;
  /** Byte offset of this thread's scratch region, and the same in words. */
  readonly scratch: number;
  readonly scratch_u32: number;
  readonly scratch_f64: number;
  readonly records: RecordWriter;
  /** name -> slot, for users seen to exist. Users are never deleted, so an
   *  entry never goes stale; a miss asks the shared table. */
  readonly user_slots = new Map<string, number>();
  /** u32 index of slot 0's currency id in the user meta records (a
   *  user's currency is read from there: see currency_of_slot). */
  readonly currency_id_word: number;
  released = false;
  /** close() was called on this wallet by this thread. */
  closed = false;
  /** close() may hand the memory to the next start() (never shared, small or prefaulted). */
  pool_on_close = false;
  /** Word index of the header's run word. */
  readonly run_word: number;
  /** A durable wallet: calls append to the journal; durable() waits for tickets. */
  readonly journal_on: boolean;
  /** Its data directory (where createUsers journals users), '' for a memory wallet. */
  readonly data_dir: string;
  /** The largest ticket of any answer this thread got (durable() waits for it). */
  max_ticket = 0;
  /** The bytes path's views of its answer in scratch, by length (src/bytes.ts answer_view). */
  answer_views: Uint8Array[] = [];
  readonly ticket_index: number;
  durable_waiters: Array<{ ticket: number; resolve: () => void; reject: (error: Error) => void }> = [];
  durable_waiting = false;
  /** The durable side (flusher, data directory), in the thread that started the wallet. */
  durable: unknown = undefined;
  /** This thread's RetiredStore (src/retired_answer.ts), and the H_RETIRED_SEQ it last saw. */
  retired: unknown = undefined;
  retired_seen = -1;

  constructor(readonly memory: WebAssembly.Memory, module: WebAssembly.Module) {
    const buffer = memory.buffer as unknown as SharedArrayBuffer;
    const header = read_header(buffer);
    this.layout = header.layout;
    this.default_currency_id = header.currency_id;
    this.journal_on = header.journal_on;
    this.data_dir = header.data_dir;
    this.wait_ms_max = header.wait_ms_max;
    this.initial_balance_units = header.initial_balance_units;
    this.u8 = new Uint8Array(buffer);
    this.u16 = new Uint16Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.i64 = new BigInt64Array(buffer);
    this.bytes = Buffer.from(buffer);
    this.currencies = new CurrencyTable(this.u32, this.bytes, this.layout.currencies_offset);
    this.currency_id_word = (this.layout.user_meta_offset + L.M_CURRENCY_ID) >>> 2;

    const instance = new WebAssembly.Instance(module, {
      env: {
        memory,
        abort() {
          throw new Error('exwallet: the WASM core aborted (a bug: please report)');
        },
      },
    });
    this.exports = instance.exports as unknown as CoreExports;
    if (this.exports.layout_fingerprint() !== L.LAYOUT_FINGERPRINT) {
      throw plain_error('EXWALLET_BAD_BUILD', 'build/exwallet.wasm was compiled from another layout_constants.ts; run `npm run build`');
    }
    this.thread_slot = claim_thread_slot(this.i32, this.layout);
    const status = this.exports.init(this.thread_slot);
    if (status !== L.INIT_OK) throw plain_error('EXWALLET_BAD_BUILD', `core init failed (${status})`);
    // Byte offsets pass 2^31 in wallets over 2 GiB: word indexes come from
    // unsigned shifts or divisions, never from `>>`.
    this.scratch = this.layout.scratch_offset + this.thread_slot * L.SCRATCH_SIZE_BYTES;
    this.scratch_u32 = this.scratch >>> 2;
    this.scratch_f64 = this.scratch / 8;
    this.ticket_index = (this.scratch + L.S_OUT_TICKET) / 8;
    this.run_word = (L.HEADER_OFFSET + L.H_RUN) >>> 2;
    this.records = new RecordWriter(this.u16, this.u32, this.scratch);
  }

  /** After a call into the core: keep its ticket (durable wallets). */
  keep_ticket(): void {
    const ticket = this.f64[this.ticket_index];
    if (ticket > this.max_ticket) this.max_ticket = ticket;
  }

  /** The run word: RUN_OPEN, RUN_PAUSED (audit), RUN_CLOSED or RUN_FAILED. */
  run_state(): number {
    return Atomics.load(this.u32, this.run_word);
  }

  /** The currency text of user `slot`: its id, one load from its meta
   *  record (written before the user was published, and the slot came from
   *  the atomic load that found it), then the id's text from the currency
   *  table's dense cache. No per-slot cache: a sparse array over up to 2^26
   *  slots went to dictionary mode, and each thread had to fill it again. */
  currency_of_slot(slot: number): string {
    return this.currencies.text_of(this.u32[this.currency_id_word + slot * (L.USER_META_BYTES >>> 2)]);
  }

  /** Give the registry slot back. The caller guarantees no call of this
   *  thread is in flight (true for detach(), for the finalizer: a core no
   *  Wallet object can reach makes no calls, and at thread exit). The slot's
   *  reserved entries stay in its record for the next holder. */
  release(): void {
    if (this.released) return;
    this.released = true;
    slot_finalizer.unregister(this);
    Atomics.store(this.i32, owner_word(this.layout, this.thread_slot), 0);
  }
}

const ADOPTION_LOOKS_MAX = 1000;

/** Is thread slot `slot` inside a call (its announce word is set)? */
export function slot_busy(core: ThreadCore, slot: number): boolean {
  return Atomics.load(core.i64, (core.layout.threads_offset + slot * L.THREAD_RECORD_BYTES + L.T_ANNOUNCE) / 8) !== 0n;
}

/** Wait until no other thread slot is busy (announced inside a call), for at
 *  most `wait_ms_max`; true if they all went idle. A slot whose thread died
 *  mid-call stays busy: the caller decides what that means. */
export function wait_for_idle_slots(core: ThreadCore, wait_ms_max: number, skip?: ReadonlySet<number>): boolean {
  const deadline_ms = performance.now() + wait_ms_max;
  for (let slot = 0; slot < core.layout.threads_max; slot++) {
    if (slot === core.thread_slot || skip?.has(slot)) continue;
    while (slot_busy(core, slot)) {
      if (performance.now() >= deadline_ms) return false;
      Atomics.wait(pause_word, 0, 0, IDLE_POLL_MS);
    }
  }
  return true;
}

/** A private word nobody notifies: Atomics.wait on it is a bounded sleep. */
const pause_word = new Int32Array(new SharedArrayBuffer(4));
const IDLE_POLL_MS = 0.05;

/** Clear the announce word of a slot whose thread died inside a call. */
export function clear_slot_busy(core: ThreadCore, slot: number): void {
  Atomics.store(core.i64, (core.layout.threads_offset + slot * L.THREAD_RECORD_BYTES + L.T_ANNOUNCE) / 8, 0n);
}

export function owner_word(layout: Layout, slot: number): number {
  return (layout.threads_offset + slot * L.THREAD_RECORD_BYTES + L.T_OWNER) >>> 2;
}

/** Take a free slot of the thread registry by compare-exchange. The slot
 *  gives the thread its scratch region and its owner id in claims. */
function claim_thread_slot(i32: Int32Array, layout: Layout): number {
  const mark = threadId + 1;
  for (let slot = 0; slot < layout.threads_max; slot++) {
    const word = owner_word(layout, slot);
    // A free slot is held for a few instructions while another thread adopts
    // its leftover entries (ADOPTING_OWNER): look again rather than skip it.
    for (let look = 0; look < ADOPTION_LOOKS_MAX; look++) {
      const owner = Atomics.compareExchange(i32, word, 0, mark);
      if (owner === 0) return slot;
      if (owner !== (L.ADOPTING_OWNER | 0)) break;
    }
  }
  throw range_error(
    'EXWALLET_THREAD_SLOTS_FULL',
    `all ${layout.threads_max} thread slots are taken; detach() wallets of threads that are done, free the slots of ` +
    'killed workers with audit(wallet, { deadThreadIds }), or start the wallet with a larger maxThreads',
  );
}

/** Frees the thread slot of a shared core that no Wallet object of this
 *  thread can reach any more (a wallet dropped without detach), so that slots
 *  are not held for the life of the thread. Its held value keeps a view of
 *  the memory until the callback runs (after the current job), so only
 *  shared wallets are registered: a wallet no other thread has needs no slot
 *  freed, and must stay collectable at once. */
const slot_finalizer = new FinalizationRegistry<{ i32: Int32Array; word: number; wallet_id: string }>((held) => {
  Atomics.store(held.i32, held.word, 0);
  const ref = shared_cores.get(held.wallet_id);
  if (ref && !ref.deref()) shared_cores.delete(held.wallet_id);
});

/** Cores of this thread that were shared or attached, by wallet identity (the
 *  random seed in the header), so a second attach() in this thread finds the
 *  one it has. Weak: Wallet objects hold their core; this map only finds it
 *  again. start() does not register here because creating or dereferencing a
 *  WeakRef keeps its target alive until the current job ends: a synchronous
 *  loop that starts and drops wallets would keep every one of them (and its
 *  address-space reservation) until the loop returned. */
const shared_cores = new Map<string, WeakRef<ThreadCore>>();

let release_on_exit_registered = false;

/** A core for a fresh memory (start()): bound to this thread, not yet shared. */
export function new_core(memory: WebAssembly.Memory, module: WebAssembly.Module): ThreadCore {
  if (!isMainThread && !release_on_exit_registered) {
    // A worker that ends by itself (or by process.exit) gives its slots back.
    // worker.terminate() from outside runs no JS: those slots stay taken.
    release_on_exit_registered = true;
    process.once('exit', () => {
      for (const ref of shared_cores.values()) ref.deref()?.release();
    });
  }
  return new ThreadCore(memory, module);
}

/** `core`'s wallet is shared: make the core findable by a later attach() of
 *  the same wallet in this thread, and free its slot if it is dropped. */
export function remember_core(wallet_id: string, core: ThreadCore): void {
  if (shared_cores.get(wallet_id)?.deref() === core) return;
  shared_cores.set(wallet_id, new WeakRef(core));
  slot_finalizer.register(core, { i32: core.i32, word: owner_word(core.layout, core.thread_slot), wallet_id }, core);
}

/** This thread's core for the wallet in `memory` (attach()): the one it has,
 *  or a new one that takes a thread slot. */
export function core_for(memory: WebAssembly.Memory, module: WebAssembly.Module, wallet_id: string): ThreadCore {
  const cached = shared_cores.get(wallet_id)?.deref();
  if (cached && !cached.released) return cached;
  const core = new_core(memory, module);
  remember_core(wallet_id, core);
  return core;
}

export function forget_core(wallet_id: string, core: ThreadCore): void {
  core.release();
  if (shared_cores.get(wallet_id)?.deref() === core) shared_cores.delete(wallet_id);
}
