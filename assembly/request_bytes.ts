// The bytes path, in: a Hub88 transaction body as UTF-8 JSON (at S_BODY, put
// there by src/bytes.ts) -> the parsed uuids, user slot, amount and the very
// fingerprint records the object path writes (src/fingerprint_encoder.ts),
// so that one body sent as bytes and as an object is one transaction.
//
// It takes what servers get: one flat JSON object, keys without escapes and
// no key twice, values that are strings, numbers (those JSON.parse reads
// exactly with one division, see number()), true, false or null, the
// checked fields valid (contract §4.1-4.4). Anything else -- nesting, a
// duplicate key, invalid UTF-8, an escape in a field compared exactly, an
// unknown user, any type error -- returns BODY_FALLBACK *before* anything
// is applied: JS then answers through JSON.parse and the object path, which
// decides every such case. So this parser may refuse what it likes, but
// everything it accepts it must read exactly as JSON.parse does.

import {
  S_BODY, S_RECORDS, S_UUID, S_REQUEST_UUID, S_REF_UUID, S_NAME, S_BODY_AMOUNT, S_BODY_USER_AT, S_BODY_USER_BYTES,
  S_BODY_REQUEST_AT, S_BODY_REQUEST_BYTES, S_BODY_USER_SLOT, S_BODY_FLAGS, BODY_FALLBACK, KIND_BET, KIND_ROLLBACK,
  USER_NAME_MAX_BYTES, APPLY_CURRENCY_OK, MAX_SAFE_UNITS, C_LENGTH, C_BYTES, CURRENCY_RECORD_BYTES,
} from "./layout";
import { scratch, currencies } from "./state";
import { copy_bytes, bytes_equal } from "./byte_moves";
import { user_find, currency_of } from "./user_table";
import {
  body_key, BODY_KEY_USER, BODY_KEY_TRANSACTION_UUID, BODY_KEY_REQUEST_UUID, BODY_KEYS_KNOWN,
} from "./texts";

// The record encoding of src/fingerprint_encoder.ts (types and marks).
const T_STRING: u16 = 1, T_NUMBER: u16 = 2, T_TRUE: u16 = 3, T_FALSE: u16 = 4, T_NULL: u16 = 5;
const T_USER_CURRENCY: u16 = 10, T_OTHER_CURRENCY: u16 = 11;
const KNOWN_KEY_MARK: u16 = 0xffff;
const KEY_CURRENCY: i32 = 0, KEY_REFERENCE: i32 = 3, KEY_AMOUNT: i32 = 4;

const QUOTE: u8 = 0x22, BACKSLASH: u8 = 0x5c, COLON: u8 = 0x3a, COMMA: u8 = 0x2c, OPEN: u8 = 0x7b, CLOSE: u8 = 0x7d;

/** Unknown keys kept for the duplicate check; a body with more falls back. */
const UNKNOWN_KEYS_MAX = 16;

// Positions travel in locals and return values: a global is a store and a
// reload per step, a chain of store-to-load forwarding that cost the first
// version of this parser half its time. Globals hold only what a step
// reports besides its position (the last string's extent, a number).

let end: usize = 0; //           one past the body's last byte
let out_end: usize = 0; //       the records stay below it (and below S_BODY)
let string_at: usize = 0; //     the last string scanned: its first byte (past the quote)
let string_bytes: u32 = 0; //    its length in bytes
let string_flags: u32 = 0; //    STRING_ESCAPED | STRING_NON_ASCII
let number_value: f64 = 0; //    the last number scanned
let decoded: u32 = 0; //         the code point utf8_sequence read
let unknown_count: u32 = 0;

const STRING_ESCAPED: u32 = 1, STRING_NON_ASCII: u32 = 2;
/** Returned for "not taken" where a position is expected (p is never 0). */
const NO: usize = 0;

// @ts-ignore: decorator
@inline
function byte_at(p: usize): u32 {
  return p < end ? <u32>load<u8>(p) : 0x100; // 0x100: past the end, matches no byte
}

// @ts-ignore: decorator
@inline
function skip_space(p: usize): usize {
  const stop = end;
  while (p < stop) {
    const c = load<u8>(p);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    p++;
  }
  return p;
}

/** The string whose opening quote is at p: its extent into string_*, and
 *  the position past its closing quote; NO if it is not JSON text (a raw
 *  control byte, no closing quote). UTF-8 is checked where it is used. */
// @ts-ignore: decorator
@inline
function scan_string(p: usize): usize {
  const first = p + 1;
  const stop = end;
  p = first;
  let flags: u32 = 0;
  // 16 bytes a step: the first quote, backslash or control byte, by mask.
  const quote = i8x16.splat(<i8>QUOTE), backslash = i8x16.splat(<i8>BACKSLASH), space = i8x16.splat(0x20);
  while (p + 16 <= stop) {
    const v = v128.load(p);
    const special = i8x16.bitmask(v128.or(v128.or(i8x16.eq(v, quote), i8x16.eq(v, backslash)), i8x16.lt_u(v, space)));
    const high = i8x16.bitmask(v); // bytes >= 0x80
    if (special == 0) {
      if (high != 0) flags |= STRING_NON_ASCII;
      p += 16;
      continue;
    }
    const k = <u32>ctz(special);
    if ((high & ((1 << k) - 1)) != 0) flags |= STRING_NON_ASCII;
    p += k;
    if (load<u8>(p) != BACKSLASH) break;
    flags |= STRING_ESCAPED;
    p += 2; // the escaped byte is never the closing quote
  }
  while (p < stop) {
    const c = load<u8>(p);
    if (c == QUOTE) {
      string_at = first;
      string_bytes = <u32>(p - first);
      string_flags = flags;
      return p + 1;
    }
    if (c < 0x20) return NO;
    if (c == BACKSLASH) {
      flags |= STRING_ESCAPED;
      p += 2;
      continue;
    }
    if (c >= 0x80) flags |= STRING_NON_ASCII;
    p++;
  }
  return NO;
}

/** The JSON number at p into number_value, and the position past it; NO if
 *  it is not one or not read exactly here (then JSON.parse decides). A
 *  number of at most 15 significant digits is an exact integer m, and
 *  m * 10^e or m / 10^-e with |e| <= 22 is one correctly rounded operation
 *  on exact operands (10^22 is the largest exact power of ten): the double
 *  nearest the decimal, which is what JSON.parse returns. */
// @ts-ignore: decorator
@inline
function number(p: usize): usize {
  let negative = false;
  if (byte_at(p) == 0x2d) { negative = true; p++; }
  let mantissa: u64 = 0;
  let digits: i32 = 0; //  significant digits taken into the mantissa
  let exponent: i32 = 0;
  let c = byte_at(p);
  if (c == 0x30) {
    c = byte_at(++p);
    if (c >= 0x30 && c <= 0x39) return NO; // a leading zero: not JSON
  } else if (c >= 0x31 && c <= 0x39) {
    while (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + <u64>(c - 0x30);
      digits++;
      c = byte_at(++p);
    }
  } else {
    return NO;
  }
  if (c == 0x2e) {
    c = byte_at(++p);
    if (c < 0x30 || c > 0x39) return NO;
    while (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + <u64>(c - 0x30);
      if (mantissa != 0) digits++; // the zeros of 0.00x are not significant
      exponent--;
      c = byte_at(++p);
    }
  }
  if (c == 0x65 || c == 0x45) {
    c = byte_at(++p);
    let exponent_negative = false;
    if (c == 0x2b || c == 0x2d) {
      exponent_negative = c == 0x2d;
      c = byte_at(++p);
    }
    if (c < 0x30 || c > 0x39) return NO;
    let written: i32 = 0;
    while (c >= 0x30 && c <= 0x39) {
      // Saturates far past any fraction a 64 KiB body can hold (its digits lower
      // `exponent` one each): a saturated exponent is out of range below, never
      // cancelled back into it.
      if (written < 100_000_000) written = written * 10 + <i32>(c - 0x30);
      c = byte_at(++p);
    }
    exponent += exponent_negative ? -written : written;
  }
  if (digits > 15) return NO; // the mantissa may have wrapped too: either way not exact here
  let value = <f64>mantissa;
  if (mantissa != 0) {
    if (exponent < -22 || exponent > 22) return NO;
    let power: f64 = 1;
    for (let k = exponent < 0 ? -exponent : exponent; k > 0; k--) power *= 10; // exact up to 10^22
    value = exponent < 0 ? value / power : value * power;
  }
  number_value = negative ? -value : value;
  return p;
}

/** Past the literal at p whose first four bytes are `first4` (little-endian),
 *  then `fifth` unless it is 0; NO if it is not there. */
// @ts-ignore: decorator
@inline
function literal(p: usize, first4: u32, fifth: u32): usize {
  const length: usize = fifth == 0 ? 4 : 5;
  if (p + length > end || load<u32>(p) != first4) return NO;
  if (fifth != 0 && <u32>load<u8>(p + 4) != fifth) return NO;
  return p + length;
}

/** The length of the well-formed UTF-8 sequence at p (lead byte >= 0x80),
 *  its code point in `decoded`; 0 if it is not well formed (overlong, a
 *  surrogate, past U+10FFFF, truncated). */
function utf8_sequence(p: usize, stop: usize): u32 {
  const c = <u32>load<u8>(p);
  let length: u32 = 0, low: u32 = 0x80, high: u32 = 0xbf, point: u32 = 0;
  if (c >= 0xc2 && c <= 0xdf) { length = 2; point = c & 0x1f; }
  else if (c >= 0xe0 && c <= 0xef) {
    length = 3; point = c & 0x0f;
    if (c == 0xe0) low = 0xa0;
    if (c == 0xed) high = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4; point = c & 0x07;
    if (c == 0xf0) low = 0x90;
    if (c == 0xf4) high = 0x8f;
  } else return 0;
  if (p + length > stop) return 0;
  for (let k: u32 = 1; k < length; k++) {
    const next = <u32>load<u8>(p + k);
    if (next < low || next > high) return 0;
    low = 0x80;
    high = 0xbf;
    point = (point << 6) | (next & 0x3f);
  }
  decoded = point;
  return length;
}

/** Is the text at p (bytes) valid UTF-8? */
function valid_utf8(p: usize, bytes: u32): bool {
  const stop = p + bytes;
  while (p < stop) {
    if (load<u8>(p) < 0x80) { p++; continue; }
    const length = utf8_sequence(p, stop);
    if (length == 0) return false;
    p += length;
  }
  return true;
}

/** The text at `from` (bytes, `flags` from its scan) as the object path
 *  encodes a string: its UTF-16 length (2 units) and units, its UTF-8 and
 *  escapes decoded as JSON.parse decodes them. The position after, or NO
 *  if it is not valid. The caller checked room (units <= bytes). */
function put_units(q: usize, from: usize, bytes: u32, flags: u32): usize {
  const length_at = q;
  q += 4;
  const first = q;
  let p = from;
  const stop = from + bytes;
  if (flags == 0) {
    // Plain ASCII: 16 bytes to 16 units a step.
    while (p + 16 <= stop) {
      const v = v128.load(p);
      v128.store(q, i16x8.extend_low_i8x16_u(v));
      v128.store(q, i16x8.extend_high_i8x16_u(v), 16);
      p += 16;
      q += 32;
    }
  }
  while (p < stop) {
    const c = <u32>load<u8>(p);
    if (c < 0x80 && c != <u32>BACKSLASH) {
      store<u16>(q, <u16>c);
      q += 2;
      p++;
      continue;
    }
    if (c == <u32>BACKSLASH) {
      const escaped = <u32>load<u8>(p + 1);
      p += 2;
      let value: u32 = 0;
      if (escaped == 0x22 || escaped == 0x5c || escaped == 0x2f) value = escaped;
      else if (escaped == 0x62) value = 0x08;
      else if (escaped == 0x66) value = 0x0c;
      else if (escaped == 0x6e) value = 0x0a;
      else if (escaped == 0x72) value = 0x0d;
      else if (escaped == 0x74) value = 0x09;
      else if (escaped == 0x75) {
        if (p + 4 > stop) return NO;
        for (let k = 0; k < 4; k++) {
          const h = <u32>load<u8>(p + k);
          let digit: u32;
          if (h >= 0x30 && h <= 0x39) digit = h - 0x30;
          else if (h >= 0x61 && h <= 0x66) digit = h - 0x61 + 10;
          else if (h >= 0x41 && h <= 0x46) digit = h - 0x41 + 10;
          else return NO;
          value = (value << 4) | digit;
        }
        p += 4; // a lone surrogate stays one, as in JSON.parse
      } else return NO;
      store<u16>(q, <u16>value);
      q += 2;
      continue;
    }
    const length = utf8_sequence(p, stop);
    if (length == 0) return NO;
    p += length;
    if (decoded >= 0x10000) {
      store<u16>(q, <u16>(0xd800 + ((decoded - 0x10000) >> 10)));
      store<u16>(q + 2, <u16>(0xdc00 + ((decoded - 0x10000) & 0x3ff)));
      q += 4;
    } else {
      store<u16>(q, <u16>decoded);
      q += 2;
    }
  }
  const units = <u32>((q - first) >> 1);
  store<u16>(length_at, <u16>(units & 0xffff));
  store<u16>(length_at + 2, <u16>(units >> 16));
  return q;
}

/** A record under key `code` (a KNOWN_KEYS index): its 8-byte header's
 *  room and the key. The position after the key. */
// @ts-ignore: decorator
@inline
function put_known_key(record: usize, code: i32): usize {
  store<u64>(record + 8, <u64>KNOWN_KEY_MARK | (<u64>KNOWN_KEY_MARK << 16) | (<u64>code << 32));
  return record + 14;
}

/** Close the record that starts at `record` and ends at q: its payload
 *  length, zero padding to 8 bytes. The next record's start. */
// @ts-ignore: decorator
@inline
function finish(record: usize, q: usize): usize {
  store<u32>(record, <u32>(q - record - 8));
  store<u64>(q, 0); // the padding (and a few bytes the next record overwrites)
  return (q + 7) & ~7;
}

/** Where value_record's record ends (the next record's start). */
let records_end: usize = 0;

/** The value at p as a record at q under the key (code, or the text at
 *  key_at). The position past the value; the records' end in `records_end`. */
// @ts-ignore: decorator
@inline
function value_record(p: usize, q: usize, code: i32, key_at: usize, key_bytes: u32, key_flags: u32): usize {
  const record = q;
  // Room for the largest record of a non-string value; a string checks its own.
  if (q + 48 + 2 * <usize>key_bytes > out_end) return NO;
  if (code >= 0) {
    q = put_known_key(record, code);
  } else {
    q = put_units(record + 8, key_at, key_bytes, key_flags);
    if (q == NO) return NO;
  }
  const c = byte_at(p);
  if (c == <u32>QUOTE) {
    p = scan_string(p);
    if (p == NO || q + 16 + 2 * <usize>string_bytes > out_end) return NO;
    store<u16>(q, T_STRING);
    q = put_units(q + 2, string_at, string_bytes, string_flags);
    if (q == NO) return NO;
  } else if (c == 0x74) {
    p = literal(p, 0x65757274, 0); // true
    store<u16>(q, T_TRUE);
    q += 2;
  } else if (c == 0x66) {
    p = literal(p, 0x736c6166, 0x65); // false
    store<u16>(q, T_FALSE);
    q += 2;
  } else if (c == 0x6e) {
    p = literal(p, 0x6c6c756e, 0); // null
    store<u16>(q, T_NULL);
    q += 2;
  } else if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
    p = number(p);
    store<u16>(q, T_NUMBER);
    store<f64>(q + 2, number_value == 0 ? 0 : number_value); // -0 is 0, as the object path writes it
    q += 10;
  } else {
    return NO; // an object or an array: the object path sorts and nests
  }
  records_end = finish(record, q);
  return p;
}

/** A string field compared exactly (user, uuids, currency) at p: no
 *  escapes, valid UTF-8, so that its bytes are its text. Past it, or NO. */
// @ts-ignore: decorator
@inline
function exact_string(p: usize): usize {
  if (byte_at(p) != <u32>QUOTE) return NO;
  p = scan_string(p);
  if (p == NO || (string_flags & STRING_ESCAPED) != 0) return NO;
  return (string_flags & STRING_NON_ASCII) == 0 || valid_utf8(string_at, string_bytes) ? p : NO;
}

const ONES: u64 = 0x0101010101010101;
const HIGHS: u64 = 0x8080808080808080;

/** Bytes of `x` in [low, high], as their high bits (each byte < 0x80). */
// @ts-ignore: decorator
@inline
function in_range(x: u64, low: u64, high: u64): u64 {
  return (x + (0x80 - low) * ONES) & ~(x + (0x7f - high) * ONES) & HIGHS;
}

/** Eight lowercase hex digits (the first at the lowest address) -> their
 *  value, eight at once (SWAR); -1 if any is not one. */
// @ts-ignore: decorator
@inline
function hex8(x: u64): i64 {
  if ((x & HIGHS) != 0) return -1;
  if ((in_range(x, 0x30, 0x39) | in_range(x, 0x61, 0x66)) != HIGHS) return -1;
  const nibbles = (x & (0x0f * ONES)) + ((x >> 6) & ONES) * 9; // '0'-'9' -> 0-9, 'a'-'f' -> 10-15
  const pairs = ((nibbles << 4) & 0x00f000f000f000f0) | ((nibbles >> 8) & 0x000f000f000f000f);
  const quads = ((pairs << 8) & 0x0000ff000000ff00) | ((pairs >> 16) & 0x000000ff000000ff);
  return <i64>(((quads << 16) & 0xffff0000) | ((quads >> 32) & 0xffff));
}

/** The last string, a canonical lowercase uuid -> 16 bytes at `to`, as
 *  src/uuid.ts parse_uuid writes them (four little-endian u32 words: digits
 *  0-7, 9-12 + 14-17, 19-22 + 24-27, 28-35). */
// @ts-ignore: decorator
@inline
function uuid_into(to: usize): bool {
  if (string_bytes != 36) return false;
  const p = string_at;
  if (load<u8>(p + 8) != 0x2d || load<u8>(p + 13) != 0x2d || load<u8>(p + 18) != 0x2d || load<u8>(p + 23) != 0x2d) {
    return false;
  }
  const w0 = hex8(load<u64>(p));
  const w1 = hex8(<u64>load<u32>(p + 9) | (<u64>load<u32>(p + 14) << 32));
  const w2 = hex8(<u64>load<u32>(p + 19) | (<u64>load<u32>(p + 24) << 32));
  const w3 = hex8(load<u64>(p + 28));
  if ((w0 | w1 | w2 | w3) < 0) return false;
  store<u32>(to, <u32>w0);
  store<u32>(to + 4, <u32>w1);
  store<u32>(to + 8, <u32>w2);
  store<u32>(to + 12, <u32>w3);
  return true;
}

/** Has an unknown key with these bytes been seen in this body? Keys are
 *  escape-free and valid UTF-8 here, so equal text is equal bytes. The seen
 *  ones are kept as (offset, length) pairs past the records' limit. */
function unknown_seen(key_at: usize, key_bytes: u32): bool {
  const list = scratch + S_BODY - 8 * UNKNOWN_KEYS_MAX;
  for (let k: u32 = 0; k < unknown_count; k++) {
    const other_at = <usize>load<u32>(list + 8 * k);
    if (load<u32>(list + 8 * k + 4) == key_bytes && bytes_equal(other_at, key_at, key_bytes)) return true;
  }
  store<u32>(list + 8 * unknown_count, <u32>key_at);
  store<u32>(list + 8 * unknown_count + 4, key_bytes);
  unknown_count++;
  return false;
}

/** Bit of a key code in the set of keys seen. */
// @ts-ignore: decorator
@inline
function key_bit(code: i32): u32 {
  return 1 << <u32>(code >= BODY_KEY_USER ? BODY_KEYS_KNOWN + code - BODY_KEY_USER : code);
}

/** Parse the body at S_BODY (body_bytes) for a transaction of `kind`. Its
 *  records' length in bytes, with the outputs at S_BODY_* and the uuids in
 *  scratch; or BODY_FALLBACK, having applied nothing. */
export function parse_body(kind: u32, body_bytes: u32): i32 {
  const body = scratch + S_BODY;
  let p = body;
  end = body + body_bytes;
  const records = scratch + S_RECORDS;
  let q = records;
  out_end = scratch + S_BODY - 8 * UNKNOWN_KEYS_MAX;
  unknown_count = 0;
  let seen: u32 = 0;
  let currency_at: usize = 0, currency_bytes: u32 = 0, currency_flags: u32 = 0;
  let user_at: usize = 0, user_bytes: u32 = 0;
  let amount: f64 = -1;

  p = skip_space(p);
  if (byte_at(p) != <u32>OPEN) return BODY_FALLBACK;
  p = skip_space(p + 1);
  if (byte_at(p) == <u32>CLOSE) return BODY_FALLBACK; // {}: no user, the object path answers
  while (true) {
    if (byte_at(p) != <u32>QUOTE) return BODY_FALLBACK;
    p = scan_string(p);
    if (p == NO || (string_flags & STRING_ESCAPED) != 0) return BODY_FALLBACK;
    const key_at = string_at, key_bytes = string_bytes, key_flags = string_flags;
    const code = body_key(key_at, key_bytes);
    if (code >= 0) {
      const bit = key_bit(code);
      if ((seen & bit) != 0) return BODY_FALLBACK; // JSON.parse keeps the last: the object path decides
      seen |= bit;
    } else {
      if ((key_flags & STRING_NON_ASCII) != 0 && !valid_utf8(key_at, key_bytes)) return BODY_FALLBACK;
      if (unknown_count == UNKNOWN_KEYS_MAX || unknown_seen(key_at, key_bytes)) return BODY_FALLBACK;
    }
    p = skip_space(p);
    if (byte_at(p) != <u32>COLON) return BODY_FALLBACK;
    p = skip_space(p + 1);

    if (code == BODY_KEY_USER) {
      p = exact_string(p);
      user_at = string_at;
      user_bytes = string_bytes;
    } else if (code == BODY_KEY_REQUEST_UUID) {
      p = exact_string(p);
      if (p == NO || !uuid_into(scratch + S_REQUEST_UUID)) return BODY_FALLBACK;
      store<u32>(scratch + S_BODY_REQUEST_AT, <u32>(string_at - body));
      store<u32>(scratch + S_BODY_REQUEST_BYTES, string_bytes);
    } else if (code == BODY_KEY_TRANSACTION_UUID) {
      p = exact_string(p);
      if (p == NO || !uuid_into(scratch + S_UUID)) return BODY_FALLBACK;
    } else if (code == KEY_CURRENCY) {
      // Its record needs the user's currency: written after the loop.
      p = exact_string(p);
      currency_at = string_at;
      currency_bytes = string_bytes;
      currency_flags = string_flags;
    } else if (code == KEY_AMOUNT && kind != KIND_ROLLBACK) {
      if (byte_at(p) == <u32>QUOTE) return BODY_FALLBACK;
      p = number(p);
      amount = number_value;
      // A safe integer >= 0 (-0 is 0); anything else is the object path's answer.
      if (p == NO || !(amount >= 0 && amount <= <f64>MAX_SAFE_UNITS && Math.floor(amount) == amount)) return BODY_FALLBACK;
    } else if (code == KEY_REFERENCE && kind != KIND_BET) {
      p = exact_string(p);
      if (p == NO || !uuid_into(scratch + S_REF_UUID)) return BODY_FALLBACK;
      if (q + 128 > out_end) return BODY_FALLBACK;
      const record = q;
      q = put_known_key(record, KEY_REFERENCE);
      store<u16>(q, T_STRING);
      q = finish(record, put_units(q + 2, string_at, 36, 0));
    } else {
      p = value_record(p, q, code, key_at, key_bytes, key_flags);
      q = records_end;
    }
    if (p == NO) return BODY_FALLBACK;

    p = skip_space(p);
    const c = byte_at(p);
    if (c == <u32>COMMA) { p = skip_space(p + 1); continue; }
    if (c == <u32>CLOSE) { p++; break; }
    return BODY_FALLBACK;
  }
  if (skip_space(p) != end) return BODY_FALLBACK; // trailing bytes: not one JSON value

  // Every field the kind needs (§4.2).
  const required = key_bit(BODY_KEY_USER) | key_bit(BODY_KEY_TRANSACTION_UUID) | key_bit(BODY_KEY_REQUEST_UUID);
  if ((seen & required) != required) return BODY_FALLBACK;
  const has_currency = (seen & key_bit(KEY_CURRENCY)) != 0;
  if (kind != KIND_ROLLBACK && (!has_currency || amount < 0)) return BODY_FALLBACK;
  if (kind != KIND_BET && (seen & key_bit(KEY_REFERENCE)) == 0) return BODY_FALLBACK;

  // §4.4: the user, by its UTF-8 name.
  if (user_bytes == 0 || user_bytes > <u32>USER_NAME_MAX_BYTES) return BODY_FALLBACK;
  copy_bytes(scratch + S_NAME, user_at, user_bytes);
  const slot = user_find(user_bytes);
  if (slot < 0) return BODY_FALLBACK;

  // The currency, against the user's own (fingerprint_encoder.ts write_records).
  let flags: u32 = 0;
  if (has_currency) {
    const own = currencies + <usize>currency_of(<u32>slot) * CURRENCY_RECORD_BYTES;
    if (q + 32 + 2 * <usize>currency_bytes > out_end) return BODY_FALLBACK;
    const record = q;
    q = put_known_key(record, KEY_CURRENCY);
    if (atomic.load<u32>(own + C_LENGTH) == currency_bytes && bytes_equal(own + C_BYTES, currency_at, currency_bytes)) {
      flags = APPLY_CURRENCY_OK;
      store<u16>(q, T_USER_CURRENCY);
      q += 2;
    } else if (kind != KIND_ROLLBACK) {
      store<u16>(q, T_OTHER_CURRENCY);
      q += 2;
    } else {
      store<u16>(q, T_STRING);
      q = put_units(q + 2, currency_at, currency_bytes, currency_flags);
      if (q == NO) return BODY_FALLBACK;
    }
    q = finish(record, q);
  }

  store<f64>(scratch + S_BODY_AMOUNT, kind == KIND_ROLLBACK ? 0 : amount);
  store<u32>(scratch + S_BODY_USER_AT, <u32>(user_at - body));
  store<u32>(scratch + S_BODY_USER_BYTES, user_bytes);
  store<i32>(scratch + S_BODY_USER_SLOT, slot);
  store<u32>(scratch + S_BODY_FLAGS, flags);
  return <i32>(q - records);
}
