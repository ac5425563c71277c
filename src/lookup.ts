// lookup(wallet, transaction_uuid): the recorded transaction, for
// reconciliation (contract §11). One probe of the index and a read of the
// entry, in the core; the answer can be late (a transaction committed by
// another thread after the probe is not seen), never torn: only COMMITTED
// entries are read, and their fields never change again.

import { L } from './layout.js';
import { Wallet, next_call } from './wallet.js';
import { parse_uuid } from './uuid.js';
import type { TransactionRecord } from './types.js';

const KIND_NAMES = ['', 'bet', 'win', 'rollback'] as const;
const SETTLEMENT_NAMES: Record<number, 'open' | 'won' | 'rolled_back'> = {
  [L.SETTLE_OPEN]: 'open',
  [L.SETTLE_SETTLING_WIN]: 'open', // a win in flight: open until it commits
  [L.SETTLE_SETTLING_ROLLBACK]: 'open',
  [L.SETTLE_WON]: 'won',
  [L.SETTLE_ROLLED_BACK]: 'rolled_back',
};

/** The recorded transaction of `transaction_uuid`, or undefined (not a
 *  canonical uuid, never applied, or failed). */
export function lookup(wallet: Wallet, transaction_uuid: string): TransactionRecord | undefined {
  const core = Wallet.core_of(wallet);
  next_call();
  if (typeof transaction_uuid !== 'string' || !parse_uuid(transaction_uuid, core.u32, core.scratch_u32 + (L.S_UUID >>> 2))) {
    return undefined;
  }
  const state = core.exports.tx_lookup();
  if (state === 0) return undefined;
  const scratch = core.scratch;
  const text = (at: number) => core.bytes.toString('latin1', scratch + at, scratch + at + L.UUID_TEXT_BYTES);
  const kind = (state & L.KIND_MASK) >>> L.KIND_SHIFT;
  const user_slot = core.u32[(scratch + L.S_OUT_USER_SLOT) >>> 2];
  const names_at = core.layout.user_names_offset + user_slot * L.USER_NAME_RECORD_BYTES;
  const record: TransactionRecord = {
    transactionUuid: transaction_uuid,
    kind: KIND_NAMES[kind] as TransactionRecord['kind'],
    user: core.bytes.toString('utf8', names_at + 1, names_at + 1 + core.u8[names_at]),
    amount: core.f64[(scratch + L.S_OUT_AMOUNT) / 8],
    currency: core.currency_of_slot(user_slot),
    balanceAfter: core.f64[(scratch + L.S_OUT_BALANCE) / 8],
    requestUuid: text(L.S_OUT_REQUEST_TEXT),
  };
  if (kind === L.KIND_BET) record.settlement = SETTLEMENT_NAMES[(state & L.SETTLE_MASK) >>> L.SETTLE_SHIFT];
  else record.referenceTransactionUuid = text(L.S_OUT_REF_TEXT);
  return record;
}
