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

// One parse's state (one thread per instance, one call at a time).
let at: usize = 0; //            next byte of the body
let end: usize = 0; //           one past its last byte
let out: usize = 0; //           next byte of the records
let out_end: usize = 0; //       the records stay below S_BODY
let string_at: usize = 0; //     the last string's first byte (past the quote)
let string_bytes: u32 = 0; //    its length in bytes
let string_flags: u32 = 0; //    STRING_ESCAPED | STRING_NON_ASCII
let number_value: f64 = 0;
let seen_lo: u32 = 0; //         known keys seen, by code (bit per code)
let unknown_count: u32 = 0;

const STRING_ESCAPED: u32 = 1, STRING_NON_ASCII: u32 = 2;

// @ts-ignore: decorator
@inline
function peek(): u32 {
  return at < end ? <u32>load<u8>(at) : 0x100; // 0x100: past the end, matches no byte
}

// Loops keep the position in a local: a global is a store and a reload per
// step, a chain of store-to-load forwarding that made these loops ~5x slower.

function skip_space(): void {
  let p = at;
  const stop = end;
  while (p < stop) {
    const c = load<u8>(p);
    if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
    p++;
  }
  at = p;
}

/** Scan the string whose opening quote is at `at`; false if it is not valid
 *  JSON text (a raw control character, no closing quote). UTF-8 validity is
 *  checked where the string is used (utf8_units, or valid_utf8). */
function scan_string(): bool {
  const first = at + 1; // past the quote
  const stop = end;
  let p = first;
  let flags: u32 = 0;
  while (p < stop) {
    const c = load<u8>(p);
    if (c == QUOTE) {
      string_at = first;
      string_bytes = <u32>(p - first);
      string_flags = flags;
      at = p + 1;
      return true;
    }
    if (c < 0x20) return false;
    if (c == BACKSLASH) {
      flags |= STRING_ESCAPED;
      p += 2; // the escaped byte is never the closing quote
      continue;
    }
    if (c >= 0x80) flags |= STRING_NON_ASCII;
    p++;
  }
  return false;
}

/** Scan a JSON number at `at` into number_value; false if it is not one or
 *  is not read exactly by this fast path (then JSON.parse decides). A
 *  number with at most 15 significant digits is an exact integer m, and
 *  m * 10^e or m / 10^-e with |e| <= 22 is one correctly rounded operation
 *  on exact operands (10^22 is the largest exact power of ten): the double
 *  nearest the decimal, which is what JSON.parse returns. */
function number(): bool {
  let p = at;
  const stop = end;
  let negative = false;
  if (p < stop && load<u8>(p) == 0x2d) { negative = true; p++; }
  let mantissa: u64 = 0;
  let digits: i32 = 0; //  significant digits taken into the mantissa
  let exponent: i32 = 0;
  let c: u32 = p < stop ? <u32>load<u8>(p) : 0x100;
  if (c == 0x30) {
    p++;
    c = p < stop ? <u32>load<u8>(p) : 0x100;
    if (c >= 0x30 && c <= 0x39) return false; // a leading zero: not JSON
  } else if (c >= 0x31 && c <= 0x39) {
    while (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + <u64>(c - 0x30);
      digits++;
      p++;
      c = p < stop ? <u32>load<u8>(p) : 0x100;
    }
  } else {
    return false;
  }
  if (c == 0x2e) {
    p++;
    c = p < stop ? <u32>load<u8>(p) : 0x100;
    if (c < 0x30 || c > 0x39) return false;
    while (c >= 0x30 && c <= 0x39) {
      mantissa = mantissa * 10 + <u64>(c - 0x30);
      if (mantissa != 0) digits++; // leading zeros of 0.00x are not significant
      exponent--;
      p++;
      c = p < stop ? <u32>load<u8>(p) : 0x100;
    }
  }
  if (c == 0x65 || c == 0x45) {
    p++;
    c = p < stop ? <u32>load<u8>(p) : 0x100;
    let exponent_negative = false;
    if (c == 0x2b || c == 0x2d) {
      exponent_negative = c == 0x2d;
      p++;
      c = p < stop ? <u32>load<u8>(p) : 0x100;
    }
    if (c < 0x30 || c > 0x39) return false;
    let written: i32 = 0;
    while (c >= 0x30 && c <= 0x39) {
      if (written < 1000) written = written * 10 + <i32>(c - 0x30);
      p++;
      c = p < stop ? <u32>load<u8>(p) : 0x100;
    }
    exponent += exponent_negative ? -written : written;
  }
  at = p;
  if (digits > 15) return false;
  let value = <f64>mantissa;
  if (mantissa != 0) {
    if (exponent < -22 || exponent > 22) return false;
    let power: f64 = 1;
    for (let k = exponent < 0 ? -exponent : exponent; k > 0; k--) power *= 10; // exact up to 10^22
    value = exponent < 0 ? value / power : value * power;
  }
  number_value = negative ? -value : value;
  return true;
}

/** Consume the literal whose first four bytes are `first4` (little-endian),
 *  followed by `fifth` unless it is 0; false if it is not at `at`. */
function literal(first4: u32, fifth: u32): bool {
  const length: usize = fifth == 0 ? 4 : 5;
  if (length > end - at || load<u32>(at) != first4) return false;
  if (fifth != 0 && <u32>load<u8>(at + 4) != fifth) return false;
  at += length;
  return true;
}

/** Is the string just scanned valid UTF-8 (as well as JSON text)? */
function valid_utf8(p: usize, bytes: u32): bool {
  const stop = p + bytes;
  while (p < stop) {
    const c = <u32>load<u8>(p);
    if (c < 0x80) { p++; continue; }
    const length = utf8_sequence(p, stop);
    if (length == 0) return false;
    p += length;
  }
  return true;
}

let decoded: u32 = 0; // the code point of the sequence utf8_sequence read

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

/** Room for `bytes` more record bytes? */
// @ts-ignore: decorator
@inline
function room(bytes: usize): bool {
  return out + bytes <= out_end;
}

// @ts-ignore: decorator
@inline
function unit(value: u32): void {
  store<u16>(out, <u16>value);
  out += 2;
}

/** Write the last string's UTF-16 length (2 units) and units, decoding its
 *  UTF-8 and escapes as JSON.parse does; false if it is not valid. */
function string_units(): bool {
  const length_at = out;
  let q = out + 4;
  const first = q;
  let p = string_at;
  const stop = string_at + string_bytes;
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
        if (p + 4 > stop) return false;
        for (let k = 0; k < 4; k++) {
          const h = <u32>load<u8>(p + k);
          let digit: u32;
          if (h >= 0x30 && h <= 0x39) digit = h - 0x30;
          else if (h >= 0x61 && h <= 0x66) digit = h - 0x61 + 10;
          else if (h >= 0x41 && h <= 0x46) digit = h - 0x41 + 10;
          else return false;
          value = (value << 4) | digit;
        }
        p += 4; // a lone surrogate stays one, as in JSON.parse
      } else return false;
      store<u16>(q, <u16>value);
      q += 2;
      continue;
    }
    const length = utf8_sequence(p, stop);
    if (length == 0) return false;
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
  out = q;
  return true;
}

let record_at: usize = 0;

/** Open a record under key `code` (a KNOWN_KEYS index), or, for -1, under
 *  the key text at key_at (key_bytes). False if the key is not valid text. */
function begin(code: i32, key_at: usize, key_bytes: u32): bool {
  record_at = out;
  out += 8;
  if (code >= 0) {
    unit(KNOWN_KEY_MARK);
    unit(KNOWN_KEY_MARK);
    unit(<u32>code);
    return true;
  }
  string_at = key_at;
  string_bytes = key_bytes;
  return string_units();
}

/** Close the record: its payload length, zero padding to 8 bytes. */
function finish(): void {
  store<u32>(record_at, <u32>(out - record_at - 8));
  while ((out & 7) != 0) unit(0);
}

/** The value at `at` as a record under the key (code, or text). */
function value_record(code: i32, key_at: usize, key_bytes: u32): bool {
  const c = peek();
  if (c == <u32>QUOTE) {
    if (!scan_string()) return false;
    const value_at = string_at, value_bytes = string_bytes;
    if (!room(32 + 2 * (<usize>key_bytes + <usize>value_bytes))) return false;
    if (!begin(code, key_at, key_bytes)) return false; // a key's text moves string_at
    unit(T_STRING);
    string_at = value_at;
    string_bytes = value_bytes;
    if (!string_units()) return false;
  } else if (c == 0x74) {
    if (!literal(0x65757274, 0)) return false; // true
    if (!room(32 + 2 * <usize>key_bytes) || !begin(code, key_at, key_bytes)) return false;
    unit(T_TRUE);
  } else if (c == 0x66) {
    if (!literal(0x736c6166, 0x65)) return false; // false
    if (!room(32 + 2 * <usize>key_bytes) || !begin(code, key_at, key_bytes)) return false;
    unit(T_FALSE);
  } else if (c == 0x6e) {
    if (!literal(0x6c6c756e, 0)) return false; // null
    if (!room(32 + 2 * <usize>key_bytes) || !begin(code, key_at, key_bytes)) return false;
    unit(T_NULL);
  } else if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
    if (!number()) return false;
    if (!room(40 + 2 * <usize>key_bytes) || !begin(code, key_at, key_bytes)) return false;
    unit(T_NUMBER);
    store<f64>(out, number_value == 0 ? 0 : number_value); // -0 is 0, as the object path writes it
    out += 8;
  } else {
    return false; // an object or an array: the object path sorts and nests
  }
  finish();
  return true;
}

/** A string field compared exactly (user, uuids, currency): no escapes, and
 *  valid UTF-8, so its bytes are its text. */
function exact_string(): bool {
  if (peek() != <u32>QUOTE || !scan_string()) return false;
  if ((string_flags & STRING_ESCAPED) != 0) return false;
  return (string_flags & STRING_NON_ASCII) == 0 || valid_utf8(string_at, string_bytes);
}

/** A canonical lowercase uuid at string_at -> 16 bytes at `to`, as
 *  src/uuid.ts parse_uuid writes them (four little-endian u32 words). */
function uuid_into(to: usize): bool {
  if (string_bytes != 36) return false;
  const p = string_at;
  if (load<u8>(p + 8) != 0x2d || load<u8>(p + 13) != 0x2d || load<u8>(p + 18) != 0x2d || load<u8>(p + 23) != 0x2d) {
    return false;
  }
  let bad: u32 = 0;
  let w0: u32 = 0, w1: u32 = 0, w2: u32 = 0, w3: u32 = 0;
  for (let k = 0; k < 36; k++) {
    if (k == 8 || k == 13 || k == 18 || k == 23) continue;
    const c = <u32>load<u8>(p + k);
    let digit: u32;
    if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) digit = c - 0x61 + 10;
    else { bad = 1; digit = 0; }
    if (k < 8) w0 = (w0 << 4) | digit;
    else if (k < 18) w1 = (w1 << 4) | digit;
    else if (k < 28) w2 = (w2 << 4) | digit;
    else w3 = (w3 << 4) | digit;
  }
  if (bad != 0) return false;
  store<u32>(to, w0);
  store<u32>(to + 4, w1);
  store<u32>(to + 8, w2);
  store<u32>(to + 12, w3);
  return true;
}

/** Has an unknown key with these bytes been seen in this body? Keys are
 *  escape-free and valid UTF-8 here, so equal text is equal bytes. The seen
 *  ones are kept as (offset, length) pairs after the records' limit. */
function unknown_seen(key_at: usize, key_bytes: u32): bool {
  const list = scratch + S_BODY - 8 * UNKNOWN_KEYS_MAX;
  for (let k: u32 = 0; k < unknown_count; k++) {
    const other_at = <usize>load<u32>(list + 8 * k);
    if (load<u32>(list + 8 * k + 4) == key_bytes && memory.compare(other_at, key_at, key_bytes) == 0) return true;
  }
  store<u32>(list + 8 * unknown_count, <u32>key_at);
  store<u32>(list + 8 * unknown_count + 4, key_bytes);
  unknown_count++;
  return false;
}

/** Parse the body at S_BODY (body_bytes) for a transaction of `kind`. Its
 *  records' length in bytes, with the outputs at S_BODY_* and the uuids in
 *  scratch; or BODY_FALLBACK, having applied nothing. */
export function parse_body(kind: u32, body_bytes: u32): i32 {
  at = scratch + S_BODY;
  end = at + body_bytes;
  out = scratch + S_RECORDS;
  out_end = scratch + S_BODY - 8 * UNKNOWN_KEYS_MAX;
  seen_lo = 0;
  unknown_count = 0;
  let currency_at: usize = 0, currency_bytes: u32 = 0, has_currency = false;
  let user_at: usize = 0, user_bytes: u32 = 0;
  let amount: f64 = -1;

  skip_space();
  if (peek() != <u32>OPEN) return BODY_FALLBACK;
  at++;
  skip_space();
  if (peek() == <u32>CLOSE) return BODY_FALLBACK; // {}: no user, the object path answers
  while (true) {
    if (peek() != <u32>QUOTE || !scan_string()) return BODY_FALLBACK;
    if ((string_flags & STRING_ESCAPED) != 0) return BODY_FALLBACK;
    const key_at = string_at, key_bytes = string_bytes;
    const code = body_key(key_at, key_bytes);
    if (code >= 0) {
      const bit: u32 = 1 << <u32>(code >= 100 ? BODY_KEYS_KNOWN + code - 100 : code);
      if ((seen_lo & bit) != 0) return BODY_FALLBACK; // JSON.parse keeps the last: the object path decides
      seen_lo |= bit;
    } else {
      if ((string_flags & STRING_NON_ASCII) != 0 && !valid_utf8(key_at, key_bytes)) return BODY_FALLBACK;
      if (unknown_count == UNKNOWN_KEYS_MAX || unknown_seen(key_at, key_bytes)) return BODY_FALLBACK;
    }
    skip_space();
    if (peek() != <u32>COLON) return BODY_FALLBACK;
    at++;
    skip_space();

    if (code == BODY_KEY_USER) {
      if (!exact_string()) return BODY_FALLBACK;
      user_at = string_at;
      user_bytes = string_bytes;
    } else if (code == BODY_KEY_REQUEST_UUID) {
      if (!exact_string() || !uuid_into(scratch + S_REQUEST_UUID)) return BODY_FALLBACK;
      store<u32>(scratch + S_BODY_REQUEST_AT, <u32>(string_at - scratch - S_BODY));
      store<u32>(scratch + S_BODY_REQUEST_BYTES, string_bytes);
    } else if (code == BODY_KEY_TRANSACTION_UUID) {
      if (!exact_string() || !uuid_into(scratch + S_UUID)) return BODY_FALLBACK;
    } else if (code == KEY_CURRENCY) {
      // Its record needs the user's currency: written after the loop.
      if (!exact_string()) return BODY_FALLBACK;
      currency_at = string_at;
      currency_bytes = string_bytes;
      has_currency = true;
    } else if (code == KEY_AMOUNT && kind != KIND_ROLLBACK) {
      if (peek() == <u32>QUOTE || !number()) return BODY_FALLBACK;
      amount = number_value;
      // A safe integer >= 0 (-0 is 0); anything else is the object path's answer.
      if (!(amount >= 0 && amount <= <f64>MAX_SAFE_UNITS && Math.floor(amount) == amount)) return BODY_FALLBACK;
    } else if (code == KEY_REFERENCE && kind != KIND_BET) {
      if (!exact_string() || !uuid_into(scratch + S_REF_UUID)) return BODY_FALLBACK;
      if (!room(64) || !begin(KEY_REFERENCE, 0, 0)) return BODY_FALLBACK;
      unit(T_STRING);
      if (!string_units()) return BODY_FALLBACK;
      finish();
    } else {
      if (!value_record(code, key_at, key_bytes)) return BODY_FALLBACK;
    }

    skip_space();
    const c = peek();
    if (c == <u32>COMMA) { at++; skip_space(); continue; }
    if (c == <u32>CLOSE) { at++; break; }
    return BODY_FALLBACK;
  }
  skip_space();
  if (at != end) return BODY_FALLBACK; // trailing bytes: not one JSON value

  // Every field the kind needs (§4.2).
  const required: u32 = (1 << <u32>(BODY_KEYS_KNOWN + BODY_KEY_USER - 100)) |
    (1 << <u32>(BODY_KEYS_KNOWN + BODY_KEY_TRANSACTION_UUID - 100)) | (1 << <u32>(BODY_KEYS_KNOWN + BODY_KEY_REQUEST_UUID - 100));
  if ((seen_lo & required) != required) return BODY_FALLBACK;
  if (kind != KIND_ROLLBACK && (!has_currency || amount < 0)) return BODY_FALLBACK;
  if (kind != KIND_BET && (seen_lo & (1 << <u32>KEY_REFERENCE)) == 0) return BODY_FALLBACK;

  // §4.4: the user, by its UTF-8 name.
  if (user_bytes == 0 || user_bytes > <u32>USER_NAME_MAX_BYTES) return BODY_FALLBACK;
  memory.copy(scratch + S_NAME, user_at, user_bytes);
  const slot = user_find(user_bytes);
  if (slot < 0) return BODY_FALLBACK;

  // The currency, against the user's own (fingerprint_encoder.ts write_records).
  let flags: u32 = 0;
  if (has_currency) {
    const record = currencies + <usize>currency_of(<u32>slot) * CURRENCY_RECORD_BYTES;
    const own_bytes = atomic.load<u32>(record + C_LENGTH);
    if (!room(64)) return BODY_FALLBACK;
    if (own_bytes == currency_bytes && memory.compare(record + C_BYTES, currency_at, currency_bytes) == 0) {
      flags = APPLY_CURRENCY_OK;
      begin(KEY_CURRENCY, 0, 0);
      unit(T_USER_CURRENCY);
    } else if (kind != KIND_ROLLBACK) {
      begin(KEY_CURRENCY, 0, 0);
      unit(T_OTHER_CURRENCY);
    } else {
      if (!room(32 + 2 * <usize>currency_bytes)) return BODY_FALLBACK;
      begin(KEY_CURRENCY, 0, 0);
      unit(T_STRING);
      string_at = currency_at;
      string_bytes = currency_bytes;
      if (!string_units()) return BODY_FALLBACK;
    }
    finish();
  }

  store<f64>(scratch + S_BODY_AMOUNT, kind == KIND_ROLLBACK ? 0 : amount);
  store<u32>(scratch + S_BODY_USER_AT, <u32>(user_at - scratch - S_BODY));
  store<u32>(scratch + S_BODY_USER_BYTES, user_bytes);
  store<i32>(scratch + S_BODY_USER_SLOT, slot);
  store<u32>(scratch + S_BODY_FLAGS, flags);
  return <i32>(out - scratch - S_RECORDS);
}
