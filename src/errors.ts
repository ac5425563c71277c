// Errors the library throws: the built-in class the contract names (a
// RangeError for options and full tables, a TypeError for misuse), each with
// a stable `code` that programs can test instead of parsing the message.

export type ErrorCode =
  | 'EXWALLET_BAD_OPTION'
  | 'EXWALLET_NO_MEMORY'
  | 'EXWALLET_NOT_A_WALLET'
  | 'EXWALLET_DETACHED'
  | 'EXWALLET_CLOSED'
  | 'EXWALLET_BAD_HANDLE'
  | 'EXWALLET_BAD_USER_ENTRY'
  | 'EXWALLET_USER_TABLE_FULL'
  | 'EXWALLET_CURRENCY_TABLE_FULL'
  | 'EXWALLET_THREAD_SLOTS_FULL'
  | 'EXWALLET_BUSY'
  | 'EXWALLET_BAD_THREAD_ID'
  | 'EXWALLET_BAD_BUILD'
  | 'EXWALLET_LOCKED'
  | 'EXWALLET_JOURNAL_FAILED'
  | 'EXWALLET_JOURNAL_CORRUPT'
  | 'EXWALLET_NOT_OWNER'
  | 'EXWALLET_NOT_BYTES';

export interface ExwalletError extends Error {
  readonly code: ErrorCode;
}

type ErrorClass = typeof Error | typeof TypeError | typeof RangeError;

function make(kind: ErrorClass, code: ErrorCode, message: string): ExwalletError {
  const error = new kind(`exwallet: ${message}`) as Error & { code: ErrorCode };
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  return error;
}

export const range_error = (code: ErrorCode, message: string) => make(RangeError, code, message);
export const type_error = (code: ErrorCode, message: string) => make(TypeError, code, message);
export const plain_error = (code: ErrorCode, message: string) => make(Error, code, message);
