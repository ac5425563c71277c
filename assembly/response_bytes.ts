// The bytes path, out: the answer to a body parse_body took, as the UTF-8
// JSON that JSON.stringify writes for the object path's answer (src/wallet.ts
// respond): the same fields in the same order, strings escaped the same way.
// It is written over the records (at S_RECORDS), which the core no longer
// needs once it has answered.
//
//   {"user":U,"status":"S","request_uuid":R}                          errors
//   {"user":U,"status":"S","request_uuid":R,"currency":C,"balance":N}  RS_OK, NOT_ENOUGH_MONEY

import {
  S_BODY, S_RECORDS, S_OUT_BALANCE, S_OUT_REQUEST_TEXT, S_BODY_USER_AT, S_BODY_USER_BYTES, S_BODY_REQUEST_AT,
  S_BODY_REQUEST_BYTES, S_BODY_USER_SLOT, UUID_TEXT_BYTES, C_LENGTH, C_BYTES, CURRENCY_RECORD_BYTES,
  ST_OK, ST_REPLAY, ST_NOT_ENOUGH_MONEY, ST_DUPLICATE, ST_WRONG_CURRENCY, ST_TX_DOES_NOT_EXIST,
} from "./layout";
import { scratch, currencies } from "./state";
import { copy_bytes } from "./byte_moves";
import { currency_of } from "./user_table";
import {
  put_open_user, put_status_open, put_request_open, put_currency_open, put_balance_open, put_RS_OK,
  put_RS_ERROR_UNKNOWN, put_RS_ERROR_NOT_ENOUGH_MONEY, put_RS_ERROR_DUPLICATE_TRANSACTION, put_RS_ERROR_WRONG_CURRENCY,
  put_RS_ERROR_TRANSACTION_DOES_NOT_EXIST,
} from "./texts";

/** The Hub88 status of a core status (src/core_statuses.ts STATUS_OF_CORE). */
export function put_status(p: usize, status: i32): usize {
  if (status == ST_OK || status == ST_REPLAY) return put_RS_OK(p);
  if (status == ST_NOT_ENOUGH_MONEY) return put_RS_ERROR_NOT_ENOUGH_MONEY(p);
  if (status == ST_DUPLICATE) return put_RS_ERROR_DUPLICATE_TRANSACTION(p);
  if (status == ST_WRONG_CURRENCY) return put_RS_ERROR_WRONG_CURRENCY(p);
  if (status == ST_TX_DOES_NOT_EXIST) return put_RS_ERROR_TRANSACTION_DOES_NOT_EXIST(p);
  return put_RS_ERROR_UNKNOWN(p); // a full table, an overflow, a settled bet, the journal failed, …
}

/** `bytes` of text that needs no escape (checked by parse_body), quoted. */
function put_plain(p: usize, from: usize, bytes: u32): usize {
  store<u8>(p, 0x22);
  copy_bytes(p + 1, from, bytes);
  store<u8>(p + 1 + bytes, 0x22);
  return p + 2 + bytes;
}

function hex_digit(value: u32): u32 {
  return value < 10 ? 0x30 + value : 0x61 + value - 10;
}

/** Well-formed UTF-8 text (a currency, as createUsers stored it) as a JSON
 *  string, escaped as JSON.stringify escapes: \" \\ \b \t \n \f \r, other
 *  controls as \u00xx; everything else as it is. */
function put_escaped(p: usize, from: usize, bytes: u32): usize {
  store<u8>(p++, 0x22);
  for (let k: u32 = 0; k < bytes; k++) {
    const c = <u32>load<u8>(from + k);
    let short: u32 = 0;
    if (c == 0x22 || c == 0x5c) short = c;
    else if (c == 0x08) short = 0x62;
    else if (c == 0x09) short = 0x74;
    else if (c == 0x0a) short = 0x6e;
    else if (c == 0x0c) short = 0x66;
    else if (c == 0x0d) short = 0x72;
    if (short != 0) {
      store<u8>(p, 0x5c);
      store<u8>(p + 1, <u8>short);
      p += 2;
    } else if (c < 0x20) {
      store<u32>(p, 0x3030755c); // \u00
      store<u8>(p + 4, <u8>hex_digit(c >> 4));
      store<u8>(p + 5, <u8>hex_digit(c & 15));
      p += 6;
    } else {
      store<u8>(p++, <u8>c);
    }
  }
  store<u8>(p++, 0x22);
  return p;
}

/** A balance (a safe integer >= 0) in decimal, as JSON.stringify writes it. */
function put_decimal(p: usize, value: u64): usize {
  let digits: u32 = 1;
  for (let rest = value / 10; rest != 0; rest /= 10) digits++;
  let q = p + digits;
  do {
    q--;
    store<u8>(q, <u8>(0x30 + <u32>(value % 10)));
    value /= 10;
  } while (value != 0);
  return p + digits;
}

/** Write the answer to `status` at S_RECORDS; its length in bytes. With
 *  `own_request` set, a replay carries this request's request_uuid (Hub88's
 *  HTTP rule) instead of the original's (the library's §5 answer). */
export function respond_body(status: i32, own_request: u32): u32 {
  const start = scratch + S_RECORDS;
  const body = scratch + S_BODY;
  let p = put_open_user(start);
  p = put_plain(p, body + <usize>load<u32>(scratch + S_BODY_USER_AT), load<u32>(scratch + S_BODY_USER_BYTES));
  p = put_status_open(p);
  p = put_status(p, status);
  p = put_request_open(p);
  if (status == ST_REPLAY && own_request == 0) {
    p = put_plain(p, scratch + S_OUT_REQUEST_TEXT, UUID_TEXT_BYTES);
  } else {
    p = put_plain(p, body + <usize>load<u32>(scratch + S_BODY_REQUEST_AT), load<u32>(scratch + S_BODY_REQUEST_BYTES));
  }
  if (status == ST_OK || status == ST_REPLAY || status == ST_NOT_ENOUGH_MONEY) {
    const slot = load<u32>(scratch + S_BODY_USER_SLOT);
    const record = currencies + <usize>currency_of(slot) * CURRENCY_RECORD_BYTES;
    p = put_currency_open(p);
    p = put_escaped(p, record + C_BYTES, atomic.load<u32>(record + C_LENGTH));
    p = put_balance_open(p);
    p = put_decimal(p, <u64>load<f64>(scratch + S_OUT_BALANCE));
  }
  store<u8>(p++, 0x7d);
  return <u32>(p - start);
}
