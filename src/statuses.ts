// Hub88 status strings: what every response's `status` is.

export const RS_OK = 'RS_OK';
export const RS_ERROR_UNKNOWN = 'RS_ERROR_UNKNOWN';
export const RS_ERROR_WRONG_TYPES = 'RS_ERROR_WRONG_TYPES';
export const RS_ERROR_NOT_ENOUGH_MONEY = 'RS_ERROR_NOT_ENOUGH_MONEY';
export const RS_ERROR_DUPLICATE_TRANSACTION = 'RS_ERROR_DUPLICATE_TRANSACTION';
export const RS_ERROR_WRONG_CURRENCY = 'RS_ERROR_WRONG_CURRENCY';
export const RS_ERROR_TRANSACTION_DOES_NOT_EXIST = 'RS_ERROR_TRANSACTION_DOES_NOT_EXIST';
/** The bytes path's answer to a body that is not JSON (src/bytes.ts). */
export const RS_ERROR_WRONG_SYNTAX = 'RS_ERROR_WRONG_SYNTAX';

export type Status =
  | typeof RS_OK
  | typeof RS_ERROR_UNKNOWN
  | typeof RS_ERROR_WRONG_TYPES
  | typeof RS_ERROR_NOT_ENOUGH_MONEY
  | typeof RS_ERROR_DUPLICATE_TRANSACTION
  | typeof RS_ERROR_WRONG_CURRENCY
  | typeof RS_ERROR_TRANSACTION_DOES_NOT_EXIST
  | typeof RS_ERROR_WRONG_SYNTAX;

