// The wallet: start / share / attach / detach, and the request pipeline of
// bet, win and rollback (spec §4), decided in one place:
//
//   validate (types, §4.1-4.3) -> resolve user (§4.4) -> core.apply:
//   idempotency -> currency -> kind checks -> claim -> apply -> publish
//
// Concurrency: every exported call may run in any thread at any time. A call
// returns only after its effect is visible to every thread; the answers a
// concurrent caller sees are those of some sequential order (spec §8).

import { webcrypto } from 'node:crypto';
import { L, compute_layout, write_header, WASM_PAGE_BYTES, WASM_PAGES_MAX } from './layout.js';
import { ThreadCore, core_for, new_core, remember_core, core_module, forget_core } from './core.js';
import { is_plain_object, KEY_GAME_CODE, KEY_ROUND, KEY_REFERENCE } from './fingerprint_encoder.js';
import { parse_uuid } from './uuid.js';
import { user_slot_of } from './users.js';
import { is_well_formed } from './text.js';
import {
  RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_WRONG_TYPES, STATUS_OF_CORE, RS_ERROR_NOT_ENOUGH_MONEY, type Status,
} from './statuses.js';
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
} as const;

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
      throw new TypeError('exwallet: expected a Wallet (from start() or attach())');
    }
    const core = (wallet as Wallet).#core;
    if (core.released) throw new TypeError('exwallet: this wallet was detached in this thread; attach() it again');
    return core;
  }
  static id_of(wallet: Wallet): string {
    Wallet.core_of(wallet);
    return wallet.#wallet_id;
  }
}

function positive_integer(name: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`exwallet: option ${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Allocate the shared memory for `options`, load the WASM core, and return
 *  the wallet, bound to the calling thread. Throws RangeError on invalid
 *  options or when the memory cannot be had. */
export function start(options: WalletOptions = {}): Wallet {
  if (typeof options !== 'object' || options === null) throw new RangeError('exwallet: options must be an object');
  const users_max = positive_integer('maxUsers', options.maxUsers, DEFAULTS.maxUsers, 1 << 26);
  const tx_max = positive_integer('maxTransactions', options.maxTransactions, DEFAULTS.maxTransactions, 1 << 26);
  const threads_max = positive_integer('maxThreads', options.maxThreads, DEFAULTS.maxThreads, 4096);
  const wait_ms_max = positive_integer('twinWaitMs', options.twinWaitMs, DEFAULTS.twinWaitMs, 60_000);
  const initial_balance_units = options.initialBalance === undefined ? DEFAULTS.initialBalance : options.initialBalance;
  if (typeof initial_balance_units !== 'number' || !Number.isSafeInteger(initial_balance_units) || initial_balance_units < 0) {
    throw new RangeError(`exwallet: option initialBalance must be a safe integer >= 0, got ${String(initial_balance_units)}`);
  }
  const currency = options.currency === undefined ? DEFAULTS.currency : options.currency;
  // A lone surrogate has no UTF-8 form: stored, it would read back as U+FFFD
  // and no request could ever match the wallet's currency.
  const currency_utf8 = typeof currency === 'string' && is_well_formed(currency) ? Buffer.from(currency, 'utf8') : undefined;
  if (!currency_utf8 || currency_utf8.length === 0 || currency_utf8.length > L.CURRENCY_MAX_BYTES) {
    throw new RangeError(`exwallet: option currency must be well-formed text of 1 to ${L.CURRENCY_MAX_BYTES} UTF-8 bytes`);
  }

  const layout = compute_layout({ users_max, tx_max, threads_max });
  const pages = layout.memory_bytes / WASM_PAGE_BYTES;
  if (pages > WASM_PAGES_MAX) {
    throw new RangeError(
      `exwallet: these options need ${(layout.memory_bytes / 2 ** 30).toFixed(2)} GiB of shared memory; ` +
      'the limit is 4 GiB (lower maxUsers, maxTransactions or maxThreads)',
    );
  }
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch (error) {
    throw new RangeError(`exwallet: cannot allocate ${layout.memory_bytes} bytes of shared memory: ${(error as Error).message}`);
  }
  const prefault = options.prefault === undefined ? DEFAULTS.prefault : options.prefault;
  if (typeof prefault !== 'boolean') throw new RangeError(`exwallet: option prefault must be a boolean, got ${String(prefault)}`);
  if (prefault) touch_every_page(memory.buffer as unknown as SharedArrayBuffer);
  const seed = webcrypto.getRandomValues(new BigUint64Array(1))[0];
  write_header(memory.buffer as unknown as SharedArrayBuffer, layout, {
    initial_balance_units, fingerprint_seed: seed, wait_ms_max, currency_utf8,
  });
  const wallet_id = seed.toString(16);
  return new Wallet(new_core(memory, core_module()), wallet_id);
}

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
  return { kind: 'exwallet.handle', memory: core.memory, module: core_module(), wallet_id };
}

/** A Wallet over the memory of `handle`, bound to the calling thread. The
 *  first attach in a thread takes a thread slot; later ones reuse it. */
export function attach(handle: WalletHandle): Wallet {
  if (
    typeof handle !== 'object' || handle === null || handle.kind !== 'exwallet.handle' ||
    !(handle.memory instanceof WebAssembly.Memory) || !(handle.module instanceof WebAssembly.Module) ||
    typeof handle.wallet_id !== 'string'
  ) {
    throw new TypeError('exwallet: attach() expects the handle returned by share()');
  }
  return new Wallet(core_for(handle.memory, handle.module, handle.wallet_id), handle.wallet_id);
}

/** Give this thread's slot back (a thread that is done with the wallet). Any
 *  Wallet of this thread over that memory stops working; attach() again to
 *  resume. Must not race with a call of this thread (it cannot: JS is single
 *  threaded per thread). */
export function detach(wallet: Wallet): void {
  forget_core(Wallet.id_of(wallet), Wallet.core_of(wallet));
}

/** is_plain_object, for a body that may be a revoked or throwing proxy. */
function is_plain_object_safe(body: unknown): body is Record<string, unknown> {
  try {
    return is_plain_object(body);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Responses. Each call allocates exactly one object: the response.

function reply(user: string, status: Status, request_uuid: string): WalletResponse {
  return { user, status, request_uuid };
}

function reply_with_balance(user: string, status: Status, request_uuid: string, currency: string, balance: number): WalletResponse {
  return { user, status, request_uuid, currency, balance };
}

// ---------------------------------------------------------------------------
// The pipeline.

const SPIN_MAX = 64;

function transact(wallet: Wallet, kind: number, body: unknown): WalletResponse {
  const core = Wallet.core_of(wallet);
  // The scratch region belongs to the thread, not to the call: a getter of
  // this body that calls the wallet again would overwrite our parsed uuids
  // and records. Such a body is not data; it is refused below.
  const generation = ++core.call_generation;
  let user = '';
  let request_uuid = '';
  let amount_units = 0;
  let currency_ok = 0;

  // §4.1-4.2: shape and types. Reading a field may run a getter or a proxy
  // trap that throws: bad input, answered as a status, each echo kept if
  // its own field could be read (§7).
  if (!is_plain_object_safe(body)) return reply('', RS_ERROR_WRONG_TYPES, '');
  const b = body as Record<string, unknown>;
  let user_value: unknown;
  let request_value: unknown;
  let readable = true;
  try {
    user_value = b.user;
  } catch {
    readable = false;
  }
  try {
    request_value = b.request_uuid;
  } catch {
    readable = false;
  }
  if (typeof user_value === 'string') user = user_value;
  if (typeof request_value === 'string') request_uuid = request_value;
  if (!readable) return reply(user, RS_ERROR_WRONG_TYPES, request_uuid);
  try {
    const currency = b.currency;
    const transaction_value = b.transaction_uuid;
    const u32 = core.u32;
    const s = core.scratch_u32;
    let ok =
      typeof user_value === 'string' &&
      typeof request_value === 'string' && parse_uuid(request_value, u32, s + (L.S_REQUEST_UUID >> 2)) &&
      typeof transaction_value === 'string' && parse_uuid(transaction_value, u32, s + (L.S_UUID >> 2));
    let amount: unknown;
    if (kind === L.KIND_ROLLBACK) {
      ok = ok && (currency === undefined ? !Object.hasOwn(b, 'currency') : typeof currency === 'string');
    } else {
      amount = b.amount;
      ok = ok && typeof currency === 'string' && typeof amount === 'number' && Number.isSafeInteger(amount);
      if (ok) {
        amount_units = amount as number;
        currency_ok = currency === core.currency ? 1 : 0;
      }
    }
    let reference: unknown;
    if (kind !== L.KIND_BET) {
      reference = b.reference_transaction_uuid;
      ok = ok && typeof reference === 'string' && parse_uuid(reference, u32, s + (L.S_REF_UUID >> 2));
    }
    if (!ok) return reply(user, RS_ERROR_WRONG_TYPES, request_uuid);

    // Fingerprint records: every field but the ones compared exactly. Each
    // field is read once: a getter cannot show the checks one value and the
    // fingerprint another.
    const records = core.records;
    records.reset();
    for (const key in b) {
      switch (key) {
        case 'user':
        case 'transaction_uuid':
        case 'request_uuid':
          continue;
        case 'currency':
          if (currency === core.currency) records.wallet_currency_field();
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
  } catch {
    // A throwing getter or proxy trap, an Unencodable extra field, or one
    // nested past the stack: all bad input.
    return reply(user, RS_ERROR_WRONG_TYPES, request_uuid);
  }

  // §4.3 negative amount, §4.4 unknown user.
  if (amount_units < 0) return reply(user, RS_ERROR_UNKNOWN, request_uuid);
  if (core.call_generation !== generation) return reply(user, RS_ERROR_WRONG_TYPES, request_uuid);
  const user_slot = user_slot_of(core, user);
  if (user_slot < 0) return reply(user, RS_ERROR_UNKNOWN, request_uuid);

  // §4.5-4.8 in the core. A concurrent twin of this uuid makes it answer
  // TWIN_IN_FLIGHT: spin briefly, then sleep on the twin's state word, within
  // a bound; past the bound the twin is presumed dead (RS_ERROR_UNKNOWN).
  const records_bytes = core.records.bytes();
  let status = core.exports.apply(kind, user_slot, amount_units, currency_ok, records_bytes);
  if (status === L.ST_TWIN_IN_FLIGHT) status = wait_for_twin(core, kind, user_slot, amount_units, currency_ok, records_bytes);

  const f64 = core.f64;
  switch (status) {
    case L.ST_OK:
      return reply_with_balance(user, RS_OK, request_uuid, core.currency, f64[core.scratch_f64 + (L.S_OUT_BALANCE >> 3)]);
    case L.ST_REPLAY:
      return reply_with_balance(
        user, RS_OK, core.bytes.toString('latin1', core.scratch + L.S_OUT_REQUEST_TEXT, core.scratch + L.S_OUT_REQUEST_TEXT + L.UUID_TEXT_BYTES),
        core.currency, f64[core.scratch_f64 + (L.S_OUT_BALANCE >> 3)],
      );
    case L.ST_NOT_ENOUGH_MONEY:
      return reply_with_balance(user, RS_ERROR_NOT_ENOUGH_MONEY, request_uuid, core.currency, f64[core.scratch_f64 + (L.S_OUT_BALANCE >> 3)]);
    default:
      return reply(user, STATUS_OF_CORE[status] ?? RS_ERROR_UNKNOWN, request_uuid);
  }
}

function wait_for_twin(
  core: ThreadCore, kind: number, user_slot: number, amount_units: number, currency_ok: number, records_bytes: number,
): number {
  let deadline_ms = 0;
  for (let round = 0; ; round++) {
    const entry = core.u32[core.scratch_u32 + (L.S_OUT_ENTRY >> 2)];
    if (round >= SPIN_MAX) {
      const now_ms = performance.now();
      if (deadline_ms === 0) deadline_ms = now_ms + core.wait_ms_max;
      const remaining_ms = deadline_ms - now_ms;
      if (remaining_ms <= 0) return L.ST_UNKNOWN;
      const expected = core.exports.entry_prepare_wait(entry);
      if (expected !== 0) {
        const word = (core.layout.tx_entries_offset + entry * L.ENTRY_SIZE_BYTES + L.E_STATE) >> 2;
        Atomics.wait(core.i32, word, expected | 0, remaining_ms);
      }
    }
    const status = core.exports.apply(kind, user_slot, amount_units, currency_ok, records_bytes);
    if (status !== L.ST_TWIN_IN_FLIGHT) return status;
  }
}

export function bet(wallet: Wallet, body: BetRequest | unknown): WalletResponse {
  return transact(wallet, L.KIND_BET, body);
}

export function win(wallet: Wallet, body: WinRequest | unknown): WalletResponse {
  return transact(wallet, L.KIND_WIN, body);
}

export function rollback(wallet: Wallet, body: RollbackRequest | unknown): WalletResponse {
  return transact(wallet, L.KIND_ROLLBACK, body);
}

/** Hub88 /user/balance. The balance is one atomic load: a concurrent call may
 *  change it right after (the answer can be late, never torn). */
export function balance(wallet: Wallet, body: BalanceRequest | unknown): WalletResponse {
  const core = Wallet.core_of(wallet);
  if (!is_plain_object_safe(body)) return reply('', RS_ERROR_WRONG_TYPES, '');
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
  return reply_with_balance(user, RS_OK, request_uuid, core.currency, core.exports.balance_of(user_slot));
}
