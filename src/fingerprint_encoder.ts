// Encodes the fingerprinted fields of a body as records in this thread's
// scratch region; the WASM core hashes them (assembly/fingerprint.ts).
//
// Record: u32 payload_bytes, u32 padding, then the payload as UTF-16 code
// units (u16), zero-padded to a multiple of 8 bytes:
//
//   key_units  key...  type  value...
//
// A key is its length (2 units, lo hi) and its units — or, for the keys of
// Hub88 bodies listed in KNOWN_KEYS, the impossible length 0xffff_ffff and
// the key's number: same meaning, a few dozen fewer units to copy per call.
// The value of `currency` equal to the user's currency is encoded as type 10
// with no units (the same field never encodes it as a string: injective,
// since the user is compared exactly beside the fingerprint). On a bet or
// win, any other currency is type 11 with no units: such a request is never
// applied (WRONG_CURRENCY), so its fingerprint is only ever compared with
// recorded ones, which all have type 10 — it differs from each, whatever the
// text, and a currency of any length costs nothing to encode.
//
// A value is encoded by type so that different values never share an
// encoding (1 and "1" differ; so do [] and {}):
//
//   type  value                                   encoding after the type unit
//   1     string                                  length (2 units, lo hi), units
//   2     number                                  the f64's 4 units (-0 as 0, one NaN)
//   3/4   true / false                            -
//   5/6   null / undefined                        -
//   7     bigint                                  as a string: length, decimal units
//   8     array                                   count (2 units), each element
//   9     plain object (nested)                   count, then key/value pairs sorted
//                                                 by key (top-level order is free
//                                                 because the core sums records)
//
// Anything else (symbol, function, class instance, a cycle, nesting past
// DEPTH_MAX, a record past the scratch region) is not data a Hub88 body can
// carry: the request is answered RS_ERROR_WRONG_TYPES.

import { L } from './layout.js';

const T_STRING = 1, T_NUMBER = 2, T_TRUE = 3, T_FALSE = 4, T_NULL = 5, T_UNDEFINED = 6;
const T_BIGINT = 7, T_ARRAY = 8, T_OBJECT = 9;
const T_USER_CURRENCY = 10;
const T_OTHER_CURRENCY = 11;
const DEPTH_MAX = 32;
const KNOWN_KEY_MARK = 0xffff;

/** Keys of Hub88 transaction bodies, encoded by number. Append only: the
 *  numbers are part of every stored fingerprint. */
export const KNOWN_KEYS = [
  'currency', 'game_code', 'round', 'reference_transaction_uuid', 'amount', 'token', 'supplier_transaction_id',
  'supplier_user', 'round_closed', 'reward_uuid', 'is_free', 'is_aggregated', 'bet', 'meta',
] as const;
const KNOWN_KEY_CODE = new Map<string, number>(KNOWN_KEYS.map((key, code) => [key, code]));
export const KEY_CURRENCY = 0;
export const KEY_GAME_CODE = 1;
export const KEY_ROUND = 2;
export const KEY_REFERENCE = 3;

const number_bits = new Float64Array(1);
const number_units = new Uint16Array(number_bits.buffer);

/** Thrown (and caught by the caller) when a value cannot be encoded. */
export class Unencodable extends Error {}
const UNENCODABLE = new Unencodable('value cannot be fingerprinted');

export class RecordWriter {
  /** Byte offset in memory of the records area, and the u16 index of its end. */
  private readonly records_base_bytes: number;
  private readonly end_unit: number;
  /** u16 index where the next unit goes; u32 index of the open record's header. */
  private unit = 0;
  private header_word = 0;

  constructor(private readonly u16: Uint16Array, private readonly u32: Uint32Array, scratch_offset: number) {
    this.records_base_bytes = scratch_offset + L.S_RECORDS;
    this.end_unit = (this.records_base_bytes + L.S_RECORDS_MAX_BYTES) >>> 1;
    this.reset();
  }

  reset(): void {
    this.unit = (this.records_base_bytes >> 1);
  }

  /** Bytes written so far, for the core's `fingerprint(records_bytes)`. */
  bytes(): number {
    return (this.unit << 1) - this.records_base_bytes;
  }

  /** Start a record for `key`. */
  begin(key: string): void {
    this.header_word = this.unit >> 1;
    this.unit += 4; // 8-byte header
    const code = KNOWN_KEY_CODE.get(key);
    if (code === undefined) this.put_string_units(key);
    else this.put_known_key(code);
  }

  private put_known_key(code: number): void {
    this.room(3);
    this.u16[this.unit++] = KNOWN_KEY_MARK;
    this.u16[this.unit++] = KNOWN_KEY_MARK;
    this.u16[this.unit++] = code;
  }

  /** A string field under a key of KNOWN_KEYS, by its code: the hot path,
   *  which already knows the key from a switch. */
  known_string_field(code: number, value: string): void {
    this.header_word = this.unit >> 1;
    this.unit += 4;
    this.put_known_key(code);
    this.u16[this.unit++] = T_STRING;
    this.put_string_units(value);
    this.end();
  }

  /** The `currency` field whose value is the user's own currency. */
  user_currency_field(): void {
    this.mark_field(KEY_CURRENCY, T_USER_CURRENCY);
  }

  /** The `currency` field of a bet or win, not the user's currency. */
  other_currency_field(): void {
    this.mark_field(KEY_CURRENCY, T_OTHER_CURRENCY);
  }

  private mark_field(code: number, type: number): void {
    this.header_word = this.unit >>> 1;
    this.unit += 4;
    this.put_known_key(code);
    this.u16[this.unit++] = type;
    this.end();
  }

  /** Close the open record: write its length and pad to 8 bytes. */
  end(): void {
    const payload_units = this.unit - (this.header_word << 1) - 4;
    this.u32[this.header_word] = payload_units << 1;
    while ((this.unit & 3) !== 0) this.u16[this.unit++] = 0;
  }

  /** A string field: the common case, kept free of dispatch. */
  string_field(key: string, value: string): void {
    this.begin(key);
    this.u16[this.unit++] = T_STRING;
    this.put_string_units(value);
    this.end();
  }

  /** Any other field value; throws Unencodable. */
  value_field(key: string, value: unknown): void {
    this.begin(key);
    this.put_value(value, 0);
    this.end();
  }

  private room(units: number): void {
    // +5: a type unit and a count may follow without their own check.
    if (this.unit + units + 5 > this.end_unit) throw UNENCODABLE;
  }

  private put_string_units(text: string): void {
    const length = text.length;
    this.room(length + 2);
    const u16 = this.u16;
    let at = this.unit;
    u16[at++] = length & 0xffff;
    u16[at++] = length >>> 16;
    for (let i = 0; i < length; i++) u16[at++] = text.charCodeAt(i);
    this.unit = at;
  }

  private put_value(value: unknown, depth: number): void {
    this.room(5);
    switch (typeof value) {
      case 'string':
        this.u16[this.unit++] = T_STRING;
        this.put_string_units(value);
        return;
      case 'number':
        this.u16[this.unit++] = T_NUMBER;
        number_bits[0] = value === 0 ? 0 : value; // -0 equals 0; every NaN is one NaN
        if (value !== value) number_bits[0] = NaN;
        for (let k = 0; k < 4; k++) this.u16[this.unit++] = number_units[k];
        return;
      case 'boolean':
        this.u16[this.unit++] = value ? T_TRUE : T_FALSE;
        return;
      case 'undefined':
        this.u16[this.unit++] = T_UNDEFINED;
        return;
      case 'bigint':
        this.u16[this.unit++] = T_BIGINT;
        this.put_string_units(value.toString());
        return;
      case 'object':
        if (value === null) {
          this.u16[this.unit++] = T_NULL;
          return;
        }
        if (depth >= DEPTH_MAX) throw UNENCODABLE;
        if (Array.isArray(value)) {
          this.u16[this.unit++] = T_ARRAY;
          this.put_count(value.length);
          for (let i = 0; i < value.length; i++) this.put_value(value[i], depth + 1);
          return;
        }
        if (!is_plain_object(value)) throw UNENCODABLE;
        {
          const keys = Object.keys(value).sort();
          this.u16[this.unit++] = T_OBJECT;
          this.put_count(keys.length);
          for (const key of keys) {
            this.put_string_units(key);
            this.put_value((value as Record<string, unknown>)[key], depth + 1);
          }
        }
        return;
      default: // symbol, function
        throw UNENCODABLE;
    }
  }

  private put_count(count: number): void {
    this.room(2);
    this.u16[this.unit++] = count & 0xffff;
    this.u16[this.unit++] = count >>> 16;
  }
}

/** A plain object: made by a literal, JSON.parse or Object.create(null), in
 *  this realm or another (a `vm` context has its own Object.prototype). Not
 *  an array, even behind a proxy whose getPrototypeOf lies. May throw (a
 *  proxy trap): callers catch. */
export function is_plain_object(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return !Array.isArray(value);
  return is_object_prototype_of_another_realm(proto) && !Array.isArray(value);
}

const native_object_source = Function.prototype.toString.call(Object);

/** True for the Object.prototype of another realm: the end of its chain, with
 *  that realm's native Object as its constructor. */
function is_object_prototype_of_another_realm(proto: object): boolean {
  if (Object.getPrototypeOf(proto) !== null) return false;
  const constructor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as unknown;
  return (
    typeof constructor === 'function' && constructor.prototype === proto && constructor.name === 'Object' &&
    Function.prototype.toString.call(constructor) === native_object_source
  );
}
