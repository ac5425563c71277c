// Hub88 status strings and the core's internal statuses (src/layout_constants.ts)
// they are answered with.

import { L } from './layout.js';

export const RS_OK = 'RS_OK';
export const RS_ERROR_UNKNOWN = 'RS_ERROR_UNKNOWN';
export const RS_ERROR_WRONG_TYPES = 'RS_ERROR_WRONG_TYPES';
export const RS_ERROR_NOT_ENOUGH_MONEY = 'RS_ERROR_NOT_ENOUGH_MONEY';
export const RS_ERROR_DUPLICATE_TRANSACTION = 'RS_ERROR_DUPLICATE_TRANSACTION';
export const RS_ERROR_WRONG_CURRENCY = 'RS_ERROR_WRONG_CURRENCY';
export const RS_ERROR_TRANSACTION_DOES_NOT_EXIST = 'RS_ERROR_TRANSACTION_DOES_NOT_EXIST';

export type Status =
  | typeof RS_OK
  | typeof RS_ERROR_UNKNOWN
  | typeof RS_ERROR_WRONG_TYPES
  | typeof RS_ERROR_NOT_ENOUGH_MONEY
  | typeof RS_ERROR_DUPLICATE_TRANSACTION
  | typeof RS_ERROR_WRONG_CURRENCY
  | typeof RS_ERROR_TRANSACTION_DOES_NOT_EXIST;

/** Hub88 status for each core status; RS_OK replies are built separately. */
export const STATUS_OF_CORE: readonly Status[] = (() => {
  const table: Status[] = [];
  table[L.ST_OK] = RS_OK;
  table[L.ST_REPLAY] = RS_OK;
  table[L.ST_UNKNOWN] = RS_ERROR_UNKNOWN;
  table[L.ST_NOT_ENOUGH_MONEY] = RS_ERROR_NOT_ENOUGH_MONEY;
  table[L.ST_DUPLICATE] = RS_ERROR_DUPLICATE_TRANSACTION;
  table[L.ST_WRONG_CURRENCY] = RS_ERROR_WRONG_CURRENCY;
  table[L.ST_TX_DOES_NOT_EXIST] = RS_ERROR_TRANSACTION_DOES_NOT_EXIST;
  table[L.ST_TWIN_IN_FLIGHT] = RS_ERROR_UNKNOWN; // only once the wait bound is spent
  table[L.ST_TABLE_FULL] = RS_ERROR_UNKNOWN;
  table[L.ST_OVERFLOW] = RS_ERROR_UNKNOWN;
  table[L.ST_SETTLED] = RS_ERROR_UNKNOWN;
  return table;
})();
