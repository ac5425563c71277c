// The wallet: start / share / attach / detach / close, and the request
// pipeline of bet, win and rollback (contract §4), decided in one place:
//
//   read echoes -> validate types (§4.1-4.2) -> resolve user -> records ->
//   §4.3-4.4 -> core.apply: idempotency -> currency -> kind checks -> claim ->
//   apply -> publish -> respond
//
// Concurrency: every exported call may run in any thread at any time. A call
// returns only after its effect is visible to every thread; the answers a
// concurrent caller sees are those of some sequential order (contract §8).

import { webcrypto } from 'node:crypto';
import { L, compute_layout, write_header, ring_offset, WASM_PAGE_BYTES, WASM_PAGES_MAX, type Layout } from './layout.js';
import {
  open_data_dir, release_data_dir, merge_options, scan_data_dir, store_options, recover, start_flusher, stop_flusher,
  start_rotator, stop_rotator, wait_durable, wake_flusher, journal_failed, journal_failed_error, type DurableState,
} from './durability.js';
import { audit_for_close } from './audit.js';
import { answer_from_retired, wait_for_rotation } from './retired_answer.js';
import type { JournalFaults } from './flusher.js';
import { ThreadCore, core_for, new_core, remember_core, core_module, forget_core, wait_for_idle_slots } from './core.js';
import { is_plain_object, KEY_GAME_CODE, KEY_ROUND, KEY_REFERENCE } from './fingerprint_encoder.js';
import { parse_uuid } from './uuid.js';
import { user_slot_of } from './users.js';
import { is_well_formed } from './text.js';
import { range_error, type_error } from './errors.js';
import { take_pooled_memory, pool_memory } from './memory_pool.js';
import { RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_WRONG_TYPES, RS_ERROR_NOT_ENOUGH_MONEY, type Status } from './statuses.js';
import { STATUS_OF_CORE } from './core_statuses.js';
import type {
  WalletOptions, WalletHandle, WalletResponse, BetRequest, WinRequest, RollbackRequest, BalanceRequest,
} from './types.js';

export const DEFAULTS = {
  maxUsers: 1_048_576,
  maxTransactions: 4_194_304,
  initialBalance: 100_000,
  currency: 'USD',
  maxThreads: 1024,
  twinWaitMs: 500,
  prefault: false,
  retentionDays: 120,
} as const;

/** What share() hands to another thread (the public type is opaque). */
interface HandleData {
  readonly kind: 'exwallet.handle';
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly wallet_id: string;
}

/** A wallet as seen from one thread. Opaque: use the module's functions. */
export class Wallet {
  #core: ThreadCore;
  #wallet_id: string;
  constructor(core: ThreadCore, wallet_id: string) {
    this.#core = core;
    this.#wallet_id = wallet_id;
  }
  static core_of(wallet: unknown): ThreadCore {
    if (typeof wallet !== 'object' || wallet === null || !(#core in wallet)) {
      throw type_error('EXWALLET_NOT_A_WALLET', 'expected a Wallet (from start() or attach())');
    }
    const core = (wallet as Wallet).#core;
    if (core.closed || Atomics.load(core.u32, core.run_word) === L.RUN_CLOSED) throw closed_error(); // run_state(), inline
    if (core.released) throw type_error('EXWALLET_DETACHED', 'this wallet was detached in this thread; attach() it again');
    return core;
  }
  static id_of(wallet: Wallet): string {
    Wallet.core_of(wallet);
    return wallet.#wallet_id;
  }
  /** `using wallet = start(…)` closes it at the end of the block (a durable
   *  wallet's last flush then finishes in the background: prefer
   *  `await using`, or `await close(wallet)`). */
  [Symbol.dispose](): void {
    if (!this.#core.closed) void close_now(this);
  }
  [Symbol.asyncDispose](): Promise<void> {
    return this.#core.closed ? Promise.resolve() : close(this);
  }
}

export function closed_error(): Error {
  return type_error('EXWALLET_CLOSED', 'this wallet was closed; start() a new one');
}

function option_error(message: string): Error {
  return range_error('EXWALLET_BAD_OPTION', `option ${message}`);
}

function positive_integer(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw option_error(`${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}

interface Resolved {
  users_max: number;
  tx_max: number;
  threads_max: number;
  wait_ms_max: number;
  initial_balance_units: number;
  currency: string;
  currency_utf8: Buffer;
  prefault: boolean;
  retention_ms: number;
  filter_capacity: number;
}

/** Check every option; undefined takes its default. */
function resolve_options(options: Record<string, unknown>): Resolved {
  const users_max = positive_integer('maxUsers', options.maxUsers, DEFAULTS.maxUsers, 1 << 26);
  const tx_max = positive_integer('maxTransactions', options.maxTransactions, DEFAULTS.maxTransactions, 1 << 26);
  const threads_max = positive_integer('maxThreads', options.maxThreads, DEFAULTS.maxThreads, 4096);
  const wait_ms_max = positive_integer('twinWaitMs', options.twinWaitMs, DEFAULTS.twinWaitMs, 60_000);
  const initial_balance_units = options.initialBalance === undefined ? DEFAULTS.initialBalance : options.initialBalance;
  if (typeof initial_balance_units !== 'number' || !Number.isSafeInteger(initial_balance_units) || initial_balance_units < 0) {
    throw option_error(`initialBalance must be a safe integer >= 0, got ${String(initial_balance_units)}`);
  }
  const currency = options.currency === undefined ? DEFAULTS.currency : options.currency;
  // A lone surrogate has no UTF-8 form: stored, it would read back as U+FFFD
  // and no request could ever match the wallet's currency.
  const currency_utf8 = typeof currency === 'string' && is_well_formed(currency) ? Buffer.from(currency, 'utf8') : undefined;
  if (!currency_utf8 || currency_utf8.length === 0 || currency_utf8.length > L.CURRENCY_MAX_BYTES) {
    throw option_error(`currency must be well-formed text of 1 to ${L.CURRENCY_MAX_BYTES} UTF-8 bytes`);
  }
  const prefault = options.prefault === undefined ? DEFAULTS.prefault : options.prefault;
  if (typeof prefault !== 'boolean') throw option_error(`prefault must be a boolean, got ${String(prefault)}`);
  const retention_days = options.retentionDays === undefined ? DEFAULTS.retentionDays : options.retentionDays;
  if (typeof retention_days !== 'number' || !Number.isFinite(retention_days) || retention_days <= 0) {
    throw option_error(`retentionDays must be a number of days > 0, got ${String(retention_days)}`);
  }
  const filter_capacity = positive_integer(
    'retiredFilterCapacity', options.retiredFilterCapacity,
    Math.min(L.FILTER_WINDOWS_DEFAULT * tx_max, L.FILTER_CAPACITY_DEFAULT_MAX), 1 << 30,
  );
  return {
    users_max, tx_max, threads_max, wait_ms_max, initial_balance_units, currency: currency as string, currency_utf8, prefault,
    retention_ms: retention_days * 86_400_000, filter_capacity,
  };
}

/** The memory for `layout`: reused from a closed wallet when one fits. */
function allocate(layout: Layout, prefault: boolean, poolable: boolean): WebAssembly.Memory {
  const pages = layout.memory_bytes / WASM_PAGE_BYTES;
  if (pages > WASM_PAGES_MAX) {
    throw range_error(
      'EXWALLET_NO_MEMORY',
      `these options need ${(layout.memory_bytes / 2 ** 30).toFixed(2)} GiB of shared memory; ` +
      'the limit is 4 GiB (lower maxUsers, maxTransactions or maxThreads)',
    );
  }
  const pooled = poolable ? take_pooled_memory(pages) : undefined;
  if (pooled) return pooled;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch (error) {
    throw range_error('EXWALLET_NO_MEMORY', `cannot allocate ${layout.memory_bytes} bytes of shared memory: ${(error as Error).message}`);
  }
  if (prefault) touch_every_page(memory.buffer as unknown as SharedArrayBuffer);
  return memory;
}

/** Allocate the shared memory for `options`, load the WASM core, and return
 *  the wallet, bound to the calling thread. With `dataDir`, open (create or
 *  recover) a durable wallet there. Throws RangeError on invalid options or
 *  when the memory cannot be had. */
export function start(options: WalletOptions = {}): Wallet {
  if (typeof options !== 'object' || options === null) throw option_error('object: options must be an object');
  if (options.dataDir !== undefined) return start_durable(options);
  const resolved = resolve_options(options as Record<string, unknown>);
  const layout = compute_layout(resolved);
  const memory = allocate(layout, resolved.prefault, true);
  const random = webcrypto.getRandomValues(new BigUint64Array(3));
  write_header(memory.buffer as unknown as SharedArrayBuffer, layout, {
    initial_balance_units: resolved.initial_balance_units, fingerprint_seed: random[0], hash_key: [random[1], random[2]],
    wait_ms_max: resolved.wait_ms_max, currency_utf8: resolved.currency_utf8, first_epoch: 1, data_dir: '',
  });
  const wallet_id = random[0].toString(16);
  const core = new_core(memory, core_module());
  core.pool_on_close = resolved.prefault || layout.memory_bytes <= POOLED_BYTES_MAX;
  return new Wallet(core, wallet_id);
}

/** start({ dataDir }): lock the directory, check the options against the
 *  stored ones, recover users and transactions from the journal, then start
 *  the flusher. Everything recovered is durable by construction. */
function start_durable(options: WalletOptions): Wallet {
  if (typeof options.dataDir !== 'string' || options.dataDir === '') throw option_error('dataDir must be a non-empty path');
  const faults = (options as { [JOURNAL_FAULTS]?: JournalFaults })[JOURNAL_FAULTS];
  const dir = open_data_dir(options.dataDir);
  try {
    const resolved = resolve_options(merge_options(dir, options as Record<string, unknown>, {}));
    const found = scan_data_dir(dir);
    const layout = compute_layout({ ...resolved, ring_records: L.RING_RECORDS_DEFAULT, gen_count: L.GEN_COUNT_DURABLE });
    const memory = allocate(layout, resolved.prefault, false);
    const random = webcrypto.getRandomValues(new BigUint64Array(3));
    const seed = dir.stored ? BigInt(`0x${dir.stored.fingerprint_seed}`) : random[0];
    write_header(memory.buffer as unknown as SharedArrayBuffer, layout, {
      initial_balance_units: resolved.initial_balance_units, fingerprint_seed: seed, hash_key: [random[1], random[2]],
      wait_ms_max: resolved.wait_ms_max, currency_utf8: resolved.currency_utf8, first_epoch: found.last_epoch + 1,
      data_dir: dir.real_path,
    });
    const core = new_core(memory, core_module());
    if (!dir.stored) {
      store_options(dir, {
        format: 'exwallet', layout_version: L.LAYOUT_VERSION, fingerprint_version: L.FINGERPRINT_VERSION,
        maxUsers: resolved.users_max, maxTransactions: resolved.tx_max, maxThreads: resolved.threads_max,
        initialBalance: resolved.initial_balance_units, currency: resolved.currency, fingerprint_seed: seed.toString(16),
      });
    }
    recover(core, found);
    core.durable = start_flusher(core, dir, found.journal_path, found.journal_bytes, found.last_crc, faults);
    (core.durable as DurableState).rotator = start_rotator(core, dir, resolved.retention_ms, core_module());
    return new Wallet(core, `${seed.toString(16)}-${random[1].toString(16)}`);
  } catch (error) {
    release_data_dir(dir);
    throw error;
  }
}

/** The key of start()'s hidden testing option (exwallet/testing): journal faults. */
export const JOURNAL_FAULTS = Symbol('exwallet.journal_faults');

/** Memories up to this size are reused after close() (zeroing them costs
 *  about a millisecond per 10 MiB); larger ones only if prefaulted. */
const POOLED_BYTES_MAX = 64 << 20;
const PAGE_BYTES = 4096;

/** Make the operating system back every page now (a write is needed: a read
 *  maps the shared zero page). The memory is fresh, so writing 0 changes
 *  nothing; nobody else can see it yet. */
function touch_every_page(buffer: SharedArrayBuffer): void {
  const bytes = new Uint8Array(buffer);
  for (let offset = 0; offset < bytes.length; offset += PAGE_BYTES) bytes[offset] = 0;
}

/** A structured-cloneable handle to the same wallet, for another thread. */
export function share(wallet: Wallet): WalletHandle {
  const core = Wallet.core_of(wallet);
  const wallet_id = Wallet.id_of(wallet);
  remember_core(wallet_id, core); // so attach(handle) in this thread reuses this thread's slot
  core.pool_on_close = false; // other threads may hold the memory now
  const handle: HandleData = { kind: 'exwallet.handle', memory: core.memory, module: core_module(), wallet_id };
  return handle as unknown as WalletHandle;
}

/** A Wallet over the memory of `handle`, bound to the calling thread. The
 *  first attach in a thread takes a thread slot; later ones reuse it. */
export function attach(handle: WalletHandle): Wallet {
  const data = handle as unknown as HandleData;
  if (
    typeof data !== 'object' || data === null || data.kind !== 'exwallet.handle' ||
    !(data.memory instanceof WebAssembly.Memory) || !(data.module instanceof WebAssembly.Module) ||
    typeof data.wallet_id !== 'string'
  ) {
    throw type_error('EXWALLET_BAD_HANDLE', 'attach() expects the handle returned by share()');
  }
  const run = Atomics.load(new Uint32Array(data.memory.buffer as unknown as SharedArrayBuffer, L.HEADER_OFFSET + L.H_RUN, 1), 0);
  if (run === L.RUN_CLOSED) throw closed_error();
  return new Wallet(core_for(data.memory, data.module, data.wallet_id), data.wallet_id);
}

/** Give this thread's slot back (a thread that is done with the wallet). Any
 *  Wallet of this thread over that memory stops working; attach() again to
 *  resume. Must not race with a call of this thread (it cannot: JS is single
 *  threaded per thread). */
export function detach(wallet: Wallet): void {
  next_call();
  forget_core(Wallet.id_of(wallet), Wallet.core_of(wallet));
}

/** Close the wallet: every later call on any Wallet of it, in any thread,
 *  throws a TypeError (code EXWALLET_CLOSED). Calls in flight in other
 *  threads finish first (waited for up to twinWaitMs). The memory of a wallet
 *  that was never shared is reused by the next start() of the same size, so
 *  a process that makes many short-lived wallets stays flat; other memories
 *  are freed when V8 collects them (it does not count them as GC pressure,
 *  so that can be late: close() what you start). */
export function close(wallet: Wallet): Promise<void> {
  try {
    const durable = close_now(wallet);
    return durable ?? Promise.resolve();
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Close at once; for a durable wallet, the promise of its last flush and
 *  the directory's release. */
function close_now(wallet: Wallet): Promise<void> | undefined {
  next_call();
  const core = Wallet.core_of(wallet);
  const wallet_id = Wallet.id_of(wallet);
  if (core.journal_on && core.durable === undefined) {
    throw type_error('EXWALLET_NOT_OWNER', 'close() a durable wallet from the thread that started it (others detach())');
  }
  Atomics.store(core.u32, core.run_word, L.RUN_CLOSED);
  Atomics.notify(core.i32, core.run_word); // calls waiting out an audit see it at once
  const idle = wait_for_idle_slots(core, core.wait_ms_max);
  const state = core.durable as DurableState | undefined;
  // A thread that died inside a call holds back its epoch: decide its call
  // now, or the last flush could never close that epoch.
  if (!idle && state) audit_for_close(core);
  core.closed = true;
  forget_core(wallet_id, core);
  if (core.pool_on_close && idle) pool_memory(core.memory);
  if (!state) return undefined;
  const rotator_stopped = state.rotator ? stop_rotator(core, state.rotator) : Promise.resolve();
  return rotator_stopped.then(() => stop_flusher(core, state)).finally(() => release_data_dir(state.dir)).then(() => {
    if (state.failure !== undefined || journal_failed(core)) throw journal_failed_error();
  });
}

/** Resolves once everything every answer this thread received from the
 *  wallet depended on is on stable storage (contract §9). A memory-only
 *  wallet resolves at once. Rejects with EXWALLET_JOURNAL_FAILED if the
 *  journal failed (then nothing more becomes durable: restart to recover). */
export function durable(wallet: Wallet): Promise<void> {
  let core: ThreadCore;
  try {
    core = Wallet.core_of(wallet);
  } catch (error) {
    return Promise.reject(error);
  }
  return wait_durable(core);
}

// ---------------------------------------------------------------------------
// Re-entrancy. The scratch region belongs to the thread slot, not to the
// call: a getter of a body that calls the wallet again would overwrite the
// outer call's parsed uuids and records. Every call of this thread bumps one
// counter (module-wide, so detach() and attach() cannot hand a getter a fresh
// one); a call that finds it changed after reading its body was re-entered,
// and answers RS_ERROR_WRONG_TYPES (such a body is not data).

let thread_call_generation = 0;

export function next_call(): number {
  return ++thread_call_generation;
}

// ---------------------------------------------------------------------------
// Responses. Each call allocates exactly one object: the response.

function reply(user: string, status: Status, request_uuid: string): WalletResponse {
  return { user, status, request_uuid };
}

function reply_with_balance(user: string, status: Status, request_uuid: string, currency: string, balance: number): WalletResponse {
  return { user, status, request_uuid, currency, balance };
}

/** `value[key]` if it is a readable string, else ''. A getter or proxy trap
 *  that throws reads as ''. */
function echo_of(value: object, key: string): string {
  try {
    const field = (value as Record<string, unknown>)[key];
    return typeof field === 'string' ? field : '';
  } catch {
    return '';
  }
}

/** is_plain_object, for a body that may be a revoked or throwing proxy. */
export function is_plain_object_safe(body: unknown): body is Record<string, unknown> {
  try {
    return is_plain_object(body);
  } catch {
    return false;
  }
}

/** §4.1 failed: echo what can be read (§7), answer WRONG_TYPES. */
function not_a_plain_object(body: unknown): WalletResponse {
  if (typeof body !== 'object' || body === null) return reply('', RS_ERROR_WRONG_TYPES, '');
  return reply(echo_of(body, 'user'), RS_ERROR_WRONG_TYPES, echo_of(body, 'request_uuid'));
}

// ---------------------------------------------------------------------------
// The pipeline.

const SPIN_MAX = 64;

/** What the validation stage hands on (one per thread: calls of one thread
 *  do not overlap, except re-entrant ones, which are refused). Exported, like
 *  the stage functions below, for bench/breakdown.ts (exwallet/internal/wallet),
 *  which times these very functions; nothing else may write it. */
export interface Fields {
  amount_units: number;
  currency: unknown;
  reference: unknown;
}
export const fields: Fields = { amount_units: 0, currency: undefined, reference: undefined };

/** §4.2: types, of the fields after user and request_uuid (read by the
 *  caller). Reads each field once (a getter cannot show the checks one value
 *  and the fingerprint another) and parses the uuids into scratch. False on
 *  a type error; throws if a getter or proxy trap throws. */
export function validate(core: ThreadCore, kind: number, b: Record<string, unknown>, user_value: unknown, request_value: unknown): boolean {
  const currency = b.currency;
  const transaction_value = b.transaction_uuid;
  const u32 = core.u32;
  const s = core.scratch_u32;
  let ok =
    typeof user_value === 'string' &&
    typeof request_value === 'string' && parse_uuid(request_value, u32, s + (L.S_REQUEST_UUID >>> 2)) &&
    typeof transaction_value === 'string' && parse_uuid(transaction_value, u32, s + (L.S_UUID >>> 2));
  if (kind === L.KIND_ROLLBACK) {
    ok = ok && (currency === undefined ? !Object.hasOwn(b, 'currency') : typeof currency === 'string');
  } else {
    const amount = b.amount;
    ok = ok && typeof currency === 'string' && typeof amount === 'number' && Number.isSafeInteger(amount);
    if (ok) fields.amount_units = amount as number;
  }
  fields.currency = currency;
  if (kind !== L.KIND_BET) {
    const reference = b.reference_transaction_uuid;
    fields.reference = reference;
    ok = ok && typeof reference === 'string' && parse_uuid(reference, u32, s + (L.S_REF_UUID >>> 2));
  }
  return ok;
}

/** The fingerprint records: every field but the ones compared exactly (user,
 *  kind, amount) and the key. The currency is encoded against the user's own
 *  (`user_currency`, undefined for an unknown user): equal is one mark; for
 *  a bet or win, a different one is another mark with no text, since such a
 *  request can never be applied (WRONG_CURRENCY) and so never equals a
 *  recorded one. Throws Unencodable (or whatever a getter throws). */
export function write_records(core: ThreadCore, kind: number, b: Record<string, unknown>, user_currency: string | undefined): void {
  const records = core.records;
  records.reset();
  const { currency, reference } = fields;
  for (const key in b) {
    switch (key) {
      case 'user':
      case 'transaction_uuid':
      case 'request_uuid':
        continue;
      case 'currency':
        if (currency === user_currency) records.user_currency_field();
        else if (kind !== L.KIND_ROLLBACK) records.other_currency_field();
        else records.value_field(key, currency);
        continue;
      case 'reference_transaction_uuid':
        if (kind !== L.KIND_BET) {
          records.known_string_field(KEY_REFERENCE, reference as string);
          continue;
        }
        break;
      case 'game_code':
      case 'round': {
        const value = b[key];
        if (typeof value === 'string') records.known_string_field(key === 'round' ? KEY_ROUND : KEY_GAME_CODE, value);
        else records.value_field(key, value);
        continue;
      }
      case 'amount':
        if (kind !== L.KIND_ROLLBACK) continue; // compared exactly; on a rollback just a field
        break;
    }
    const value = b[key];
    if (typeof value === 'string') records.string_field(key, value);
    else records.value_field(key, value);
  }
}

export function transact(wallet: Wallet, kind: number, body: unknown): WalletResponse {
  const core = Wallet.core_of(wallet);
  const generation = next_call();
  fields.amount_units = 0;

  // §4.1-4.2: shape and types. Reading a field may run a getter or a proxy
  // trap that throws: bad input, answered as a status, each echo kept if its
  // own field could be read (§7).
  if (!is_plain_object_safe(body)) return not_a_plain_object(body);
  let user_value: unknown;
  let request_value: unknown;
  let readable = true;
  try {
    user_value = body.user;
  } catch {
    readable = false;
  }
  try {
    request_value = body.request_uuid;
  } catch {
    readable = false;
  }
  // Locals, not `fields`: a re-entrant call (from a getter below) reuses that.
  const user = typeof user_value === 'string' ? user_value : '';
  const request_uuid = typeof request_value === 'string' ? request_value : '';
  if (!readable) return reply(user, RS_ERROR_WRONG_TYPES, request_uuid);
  let user_slot: number;
  let user_currency: string | undefined;
  try {
    if (!validate(core, kind, body, user_value, request_value)) return reply(user, RS_ERROR_WRONG_TYPES, request_uuid);
    user_slot = user_slot_of(core, user);
    user_currency = user_slot >= 0 ? core.currency_of_slot(user_slot) : undefined;
    write_records(core, kind, body, user_currency);
  } catch {
    // A throwing getter or proxy trap, an Unencodable extra field, or one
    // nested past the stack: all bad input.
    return reply(user, RS_ERROR_WRONG_TYPES, request_uuid);
  }
  if (thread_call_generation !== generation || core.released || core.closed) {
    return reply(user, RS_ERROR_WRONG_TYPES, request_uuid); // re-entered by a getter
  }

  // §4.3 negative amount, §4.4 unknown user.
  const amount_units = fields.amount_units;
  if (amount_units < 0) return reply(user, RS_ERROR_UNKNOWN, request_uuid);
  if (user_slot < 0) return reply(user, RS_ERROR_UNKNOWN, request_uuid);
  const currency_ok = fields.currency === user_currency ? 1 : 0;

  // §4.5-4.8 in the core.
  const status = apply_waiting(core, kind, user_slot, amount_units, currency_ok, core.records.bytes());
  if (core.journal_on) core.keep_ticket();
  return respond(core, status, user, request_uuid, user_currency as string);
}

/** core.apply, waiting where it must: a concurrent twin of this uuid
 *  (TWIN_IN_FLIGHT: spin briefly, then sleep on the twin's state word) or an
 *  audit holding the wallet (PAUSED: sleep on the run word), within one bound
 *  of twinWaitMs; past it the twin is presumed dead (RS_ERROR_UNKNOWN).
 *  Small on purpose, so that V8 inlines it into transact: the waiting is out
 *  of line, in apply_after_wait. */
export function apply_waiting(
  core: ThreadCore, kind: number, user_slot: number, amount_units: number, currency_ok: number, records_bytes: number,
): number {
  // currency_ok (0 or 1) is the APPLY_CURRENCY_OK bit of the core's flags.
  const status: number = core.exports.apply(kind, user_slot, amount_units, currency_ok, records_bytes);
  if (status <= L.ST_REPLAY) return status; // every final answer but the rare ones
  return apply_after_wait(core, kind, user_slot, amount_units, currency_ok, records_bytes, status);
}

/** Statuses after which apply_after_wait calls the core again. */
function must_call_again(core: ThreadCore, status: number): boolean {
  return status === L.ST_TWIN_IN_FLIGHT || status === L.ST_PAUSED || status === L.ST_RING_FULL ||
    status === L.ST_RETIRED_MAYBE || status === L.ST_REF_RETIRED_MAYBE ||
    (status === L.ST_TABLE_FULL && core.layout.gen_count > 1);
}

/** A rotating wallet's current generation is full until the rotator flips
 *  to a fresh one: a bet waits for that (ROTATION_WAITS x twinWaitMs, at
 *  least ROTATION_WAIT_MS_MIN) rather than being refused. */
const ROTATION_WAITS = 10;
const ROTATION_WAIT_MS_MIN = 1_000;

/** The rest of apply_waiting once the first answer was not final (`status`). */
export function apply_after_wait(
  core: ThreadCore, kind: number, user_slot: number, amount_units: number, flags: number, records_bytes: number,
  status: number,
): number {
  let deadline_ms = 0;
  for (let round = 0; ; round++) {
    if (!must_call_again(core, status)) return status;
    if (status === L.ST_RETIRED_MAYBE || status === L.ST_REF_RETIRED_MAYBE) {
      // The uuid (or the bet it settles) may have left memory: the retired
      // files answer exactly; "not there" lets the core go on.
      const answer = answer_from_retired(core, status, kind, user_slot, amount_units);
      if (answer !== undefined) return answer;
      flags |= status === L.ST_RETIRED_MAYBE ? L.APPLY_OWN_CHECKED : L.APPLY_REF_CHECKED;
    } else if (status === L.ST_TABLE_FULL) {
      const now_ms = performance.now();
      if (deadline_ms === 0) deadline_ms = now_ms + Math.max(core.wait_ms_max * ROTATION_WAITS, ROTATION_WAIT_MS_MIN);
      if (now_ms >= deadline_ms) return L.ST_TABLE_FULL;
      wait_for_rotation(core, deadline_ms - now_ms);
    } else if (round >= SPIN_MAX || status === L.ST_PAUSED) {
      const now_ms = performance.now();
      if (deadline_ms === 0) deadline_ms = now_ms + core.wait_ms_max;
      const remaining_ms = deadline_ms - now_ms;
      if (remaining_ms <= 0) return L.ST_UNKNOWN;
      if (status === L.ST_PAUSED) {
        Atomics.wait(core.i32, core.run_word, L.RUN_PAUSED, remaining_ms);
      } else if (status === L.ST_RING_FULL) {
        wait_for_ring_room(core, remaining_ms);
      } else {
        const entry = core.u32[core.scratch_u32 + (L.S_OUT_ENTRY >>> 2)];
        const expected = core.exports.entry_prepare_wait(entry);
        if (expected !== 0) {
          const word = (core.layout.tx_entries_offset + entry * L.ENTRY_SIZE_BYTES + L.E_STATE) >>> 2;
          Atomics.wait(core.i32, word, expected | 0, remaining_ms);
        }
      }
    }
    status = core.exports.apply(kind, user_slot, amount_units, flags, records_bytes);
  }
}

/** This slot's journal ring is full: sleep until the flusher takes from it
 *  (it notifies the tail word), within the call's bound. */
function wait_for_ring_room(core: ThreadCore, remaining_ms: number): void {
  const ring = ring_offset(core.layout, core.thread_slot);
  const tail_word = (ring + L.RING_TAIL) >>> 2;
  wake_flusher(core);
  Atomics.wait(core.i32, tail_word, Atomics.load(core.i32, tail_word), Math.min(remaining_ms, 5));
}

/** The response to the core's `status`. The common answer inline, the rest
 *  out of line (respond_other), so that V8's inlining budget for transact is
 *  not spent on the rare cases. */
export function respond(core: ThreadCore, status: number, user: string, request_uuid: string, currency: string): WalletResponse {
  if (status === L.ST_OK) return reply_with_balance(user, RS_OK, request_uuid, currency, core.f64[core.scratch_f64 + (L.S_OUT_BALANCE >>> 3)]);
  return respond_other(core, status, user, request_uuid, currency);
}

function respond_other(core: ThreadCore, status: number, user: string, request_uuid: string, currency: string): WalletResponse {
  const balance_units = core.f64[core.scratch_f64 + (L.S_OUT_BALANCE >>> 3)];
  switch (status) {
    case L.ST_OK:
      return reply_with_balance(user, RS_OK, request_uuid, currency, balance_units);
    case L.ST_REPLAY: {
      const text = core.scratch + L.S_OUT_REQUEST_TEXT;
      return reply_with_balance(user, RS_OK, core.bytes.toString('latin1', text, text + L.UUID_TEXT_BYTES), currency, balance_units);
    }
    case L.ST_NOT_ENOUGH_MONEY:
      return reply_with_balance(user, RS_ERROR_NOT_ENOUGH_MONEY, request_uuid, currency, balance_units);
    case L.ST_CLOSED:
      throw closed_error();
    case L.ST_FAILED:
      return reply(user, RS_ERROR_UNKNOWN, request_uuid); // fail-stop: see durability.ts
    default:
      return reply(user, STATUS_OF_CORE[status] ?? RS_ERROR_UNKNOWN, request_uuid);
  }
}

/** Hub88 /transaction/bet. Synchronous; never throws for a bad body. */
export function bet(wallet: Wallet, body: BetRequest): WalletResponse {
  return transact(wallet, L.KIND_BET, body);
}

/** Hub88 /transaction/win. */
export function win(wallet: Wallet, body: WinRequest): WalletResponse {
  return transact(wallet, L.KIND_WIN, body);
}

/** Hub88 /transaction/rollback. */
export function rollback(wallet: Wallet, body: RollbackRequest): WalletResponse {
  return transact(wallet, L.KIND_ROLLBACK, body);
}

/** Hub88 /user/balance. The balance is one atomic load: a concurrent call may
 *  change it right after (the answer can be late, never torn). */
export function balance(wallet: Wallet, body: BalanceRequest): WalletResponse {
  const core = Wallet.core_of(wallet);
  next_call();
  if (!is_plain_object_safe(body)) return not_a_plain_object(body);
  let user_value: unknown;
  let request_value: unknown;
  try {
    user_value = body.user;
  } catch {
    // answered below: not a string
  }
  try {
    request_value = body.request_uuid;
  } catch {
    // answered below: not a string
  }
  const user = typeof user_value === 'string' ? user_value : '';
  const request_uuid = typeof request_value === 'string' ? request_value : '';
  if (typeof user_value !== 'string' || typeof request_value !== 'string') return reply(user, RS_ERROR_WRONG_TYPES, request_uuid);
  const user_slot = user_slot_of(core, user);
  if (user_slot < 0) return reply(user, RS_ERROR_UNKNOWN, request_uuid);
  const balance_units = core.exports.balance_of(user_slot);
  if (core.journal_on) keep_open_epoch(core);
  return reply_with_balance(user, RS_OK, request_uuid, core.currency_of_slot(user_slot), balance_units);
}

/** A read outside the core's calls (balance, lookup): its ticket is the
 *  epoch open after the read. */
function keep_open_epoch(core: ThreadCore): void {
  const epoch = Number(Atomics.load(core.i64, (L.HEADER_OFFSET + L.H_EPOCH) / 8));
  if (epoch > core.max_ticket) core.max_ticket = epoch;
}
