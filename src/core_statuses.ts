// The Hub88 status each of the core's internal statuses (src/layout_constants.ts)
// is answered with. Internal: not part of the package's public surface.

import { L } from './layout.js';
import {
  RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_NOT_ENOUGH_MONEY, RS_ERROR_DUPLICATE_TRANSACTION, RS_ERROR_WRONG_CURRENCY,
  RS_ERROR_TRANSACTION_DOES_NOT_EXIST, type Status,
} from './statuses.js';

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
  table[L.ST_PAUSED] = RS_ERROR_UNKNOWN; // only once the wait bound is spent
  table[L.ST_RING_FULL] = RS_ERROR_UNKNOWN; // only once the wait bound is spent
  table[L.ST_FAILED] = RS_ERROR_UNKNOWN; //    the journal failed: fail-stop
  table[L.ST_RETIRED_MAYBE] = RS_ERROR_UNKNOWN; //     never answered: JS searches the disk and calls again
  table[L.ST_REF_RETIRED_MAYBE] = RS_ERROR_UNKNOWN;
  return table;
})();
