// The bytes path: a server's entry point. The request body as read from the
// socket (UTF-8 JSON) in, the response body out, with no JavaScript per
// character: the body is copied into this thread's scratch, the core parses,
// checks and fingerprints it (assembly/request_bytes.ts), applies it (the
// object path's own apply_waiting), and writes the answer
// (assembly/response_bytes.ts).
//
// The answer is, byte for byte, JSON.stringify of what the object path
// answers for JSON.parse of the same bytes, and the fingerprint is the same:
// a body sent once as bytes and once as an object is one transaction. What
// the core does not take (nesting, a duplicate key, an escape in a compared
// field, an unknown user, any type error, anything not JSON) goes to exactly
// that: JSON.parse, then bet / win / rollback.

import { L } from './layout.js';
import { Wallet, next_call, transact, balance, apply_after_wait, closed_error } from './wallet.js';
import type { ThreadCore } from './core.js';
import { type_error } from './errors.js';
import { RS_OK, RS_ERROR_WRONG_SYNTAX } from './statuses.js';
import type { BytesOptions, WalletResponse } from './types.js';

/** Hub88 /transaction/bet on the body's bytes; the answer's bytes. */
export function betBytes(wallet: Wallet, body: Uint8Array, options?: BytesOptions): Buffer {
  return answer_buffer(wallet, L.KIND_BET, body, options);
}

/** Hub88 /transaction/win on the body's bytes. */
export function winBytes(wallet: Wallet, body: Uint8Array, options?: BytesOptions): Buffer {
  return answer_buffer(wallet, L.KIND_WIN, body, options);
}

/** Hub88 /transaction/rollback on the body's bytes. */
export function rollbackBytes(wallet: Wallet, body: Uint8Array, options?: BytesOptions): Buffer {
  return answer_buffer(wallet, L.KIND_ROLLBACK, body, options);
}

/** betBytes, the answer written into `out` (nothing allocated): its length;
 *  or, when `out` is too short, minus its length, `out` untouched. An answer
 *  that moved money always fits BYTES_ANSWER_FITS bytes; only the echo of a
 *  long bad field is longer, and such an answer changed nothing, so the same
 *  call with a larger `out` gets it. */
export function betBytesInto(wallet: Wallet, body: Uint8Array, out: Uint8Array, options?: BytesOptions): number {
  return answer_into(wallet, L.KIND_BET, body, out, options);
}

/** winBytes into `out` (see betBytesInto). */
export function winBytesInto(wallet: Wallet, body: Uint8Array, out: Uint8Array, options?: BytesOptions): number {
  return answer_into(wallet, L.KIND_WIN, body, out, options);
}

/** rollbackBytes into `out` (see betBytesInto). */
export function rollbackBytesInto(wallet: Wallet, body: Uint8Array, out: Uint8Array, options?: BytesOptions): number {
  return answer_into(wallet, L.KIND_ROLLBACK, body, out, options);
}

/** The longest answer a call that moved money can have: a 255-byte user
 *  name and a 64-byte currency, every byte escaped (\u00xx), and the rest. */
export const BYTES_ANSWER_FITS = 4096;

/** Hub88 /user/balance on the body's bytes (through JSON.parse: a read,
 *  with nothing to fingerprint). */
export function balanceBytes(wallet: Wallet, body: Uint8Array): Buffer {
  Wallet.core_of(wallet);
  const value = parse_json(body, length_of_bytes(body));
  if (value === NOT_JSON) return not_json();
  return Buffer.from(JSON.stringify(balance(wallet, value as never)), 'utf8');
}

function answer_buffer(wallet: Wallet, kind: number, body: Uint8Array, options: BytesOptions | undefined): Buffer {
  const answer_bytes = transact_bytes(wallet, kind, body, options);
  if (answer_bytes < 0) {
    const parsed = parsed_answer as Buffer;
    parsed_answer = undefined;
    return parsed;
  }
  const answer = Buffer.allocUnsafe(answer_bytes);
  answer.set(answer_view(Wallet.core_of(wallet), answer_bytes));
  return answer;
}

function answer_into(wallet: Wallet, kind: number, body: Uint8Array, out: Uint8Array, options: BytesOptions | undefined): number {
  const out_bytes = length_of_bytes(out, 'the answer (`out`)');
  const answer_bytes = transact_bytes(wallet, kind, body, options);
  const answer = answer_bytes < 0 ? parsed_answer as Buffer : answer_view(Wallet.core_of(wallet), answer_bytes);
  parsed_answer = undefined;
  if (answer.length > out_bytes) return -answer.length;
  out.set(answer);
  return answer.length;
}

/** A view of the answer's `bytes` bytes in this thread's scratch, one per
 *  length, made once: no allocation per call. */
function answer_view(core: ThreadCore, bytes: number): Uint8Array {
  const views = core.answer_views;
  const cached = views[bytes];
  if (cached !== undefined) return cached;
  const at = core.scratch + L.S_RECORDS;
  return (views[bytes] = core.u8.subarray(at, at + bytes));
}

/** The answer of a body the core did not take (transact_bytes returned -1). */
let parsed_answer: Buffer | undefined;

/** The call, on the bytes path: the answer's length (in scratch, see
 *  answer_view), or -1 with the answer in parsed_answer. */
function transact_bytes(wallet: Wallet, kind: number, body: Uint8Array, options: BytesOptions | undefined): number {
  const core = Wallet.core_of(wallet);
  // `options` first: its getters are the only code of the caller's that can
  // run here, and after them the body's length is the one that is copied.
  const own_request = options !== undefined && options.ownRequestUuid === true ? 1 : 0;
  const length = length_of_bytes(body);
  if (length > L.S_BODY_MAX_BYTES) return transact_parsed(wallet, kind, body, length, own_request);
  next_call();
  core.u8.set(body, core.scratch + L.S_BODY);
  let answer_bytes = core.exports.transact_body(kind, length, own_request);
  if (answer_bytes < 0) {
    if (answer_bytes === L.BODY_FALLBACK) return transact_parsed(wallet, kind, body, length, own_request);
    answer_bytes = after_wait(core, kind, -2 - answer_bytes, own_request);
  }
  if (core.journal_on) core.keep_ticket();
  return answer_bytes;
}

/** The core answered a status that needs JS (a twin to wait for, the
 *  retired files, a full generation, a closed wallet): the object path's
 *  own loop, on the call the core kept in scratch; then the answer. */
function after_wait(core: ThreadCore, kind: number, status: number, own_request: number): number {
  const scratch = core.scratch;
  status = apply_after_wait(
    core, kind, core.i32[(scratch + L.S_BODY_USER_SLOT) >>> 2], core.f64[(scratch + L.S_BODY_AMOUNT) / 8],
    core.u32[(scratch + L.S_BODY_FLAGS) >>> 2], core.u32[(scratch + L.S_BODY_RECORDS_BYTES) >>> 2], status,
  );
  if (status === L.ST_CLOSED) throw closed_error();
  return core.exports.respond_body(status, own_request);
}

/** What the core did not take: JSON.parse and the object path; the answer
 *  in parsed_answer. */
function transact_parsed(wallet: Wallet, kind: number, body: Uint8Array, length: number, own_request: number): -1 {
  parsed_answer = transact_parsed_answer(wallet, kind, body, length, own_request);
  return -1;
}

function transact_parsed_answer(wallet: Wallet, kind: number, body: Uint8Array, length: number, own_request: number): Buffer {
  const core = Wallet.core_of(wallet);
  Atomics.add(core.u32, (L.HEADER_OFFSET + L.H_BYTES_FALLBACKS) >>> 2, 1);
  const value = parse_json(body, length);
  if (value === NOT_JSON) return not_json();
  let answer: WalletResponse = transact(wallet, kind, value);
  if (own_request === 1 && answer.status === RS_OK) {
    const own = (value as Record<string, unknown>).request_uuid; // RS_OK: a plain object with a uuid
    if (typeof own === 'string' && own !== answer.request_uuid) answer = { ...answer, request_uuid: own };
  }
  return Buffer.from(JSON.stringify(answer), 'utf8');
}

// A body's length and bytes are read with the built-in accessors of typed
// arrays, never through its own properties: a subclass or an instance could
// define a `length` that lies, and the core would parse bytes other than the
// ones copied (or the copy would pass this thread's scratch).
const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array.prototype) as object;
const accessor = (key: PropertyKey) => Object.getOwnPropertyDescriptor(TYPED_ARRAY, key)!.get!;
const tag_of = accessor(Symbol.toStringTag);
const length_of = accessor('length');
const buffer_of = accessor('buffer');
const byte_offset_of = accessor('byteOffset');

/** The length of `bytes`, a Uint8Array (a Buffer is one); TypeError otherwise. */
function length_of_bytes(bytes: unknown, what = 'the request body'): number {
  if (tag_of.call(bytes) !== 'Uint8Array') {
    throw type_error('EXWALLET_NOT_BYTES', `expected ${what} as a Uint8Array or Buffer (UTF-8 JSON)`);
  }
  return length_of.call(bytes) as number;
}

const NOT_JSON = Symbol('not JSON');

/** JSON.parse of the body's first `length` bytes, as UTF-8. */
function parse_json(body: Uint8Array, length: number): unknown {
  const text = Buffer.from(buffer_of.call(body) as ArrayBuffer, byte_offset_of.call(body) as number, length).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

/** Hub88's answer to a body that is not JSON. */
function not_json(): Buffer {
  return Buffer.from(JSON.stringify({ user: '', status: RS_ERROR_WRONG_SYNTAX, request_uuid: '' }), 'utf8');
}
