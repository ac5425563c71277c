// lookup(wallet, transaction_uuid): the recorded transaction, for
// reconciliation (contract §11). One probe of the index and a read of the
// entry, in the core; the answer can be late (a transaction committed by
// another thread after the probe is not seen), never torn: only COMMITTED
// entries are read, and their fields never change again. A transaction that
// left memory (a durable wallet's retired generations) is read from its
// retired file, within retention.

import { L } from './layout.js';
import { Wallet, next_call } from './wallet.js';
import { parse_uuid } from './uuid.js';
import type { TransactionRecord } from './types.js';
import type { ThreadCore } from './core.js';
import { retired_store } from './retired_answer.js';

/** tx_lookup's answer while a rotation or audit pauses the wallet. */
const LOOKUP_PAUSED = 0xffffffff;

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
  let state = core.exports.tx_lookup() >>> 0;
  for (let waited = 0; state === LOOKUP_PAUSED && waited < core.wait_ms_max; waited++) {
    Atomics.wait(core.i32, core.run_word, L.RUN_PAUSED, 1);
    state = core.exports.tx_lookup() >>> 0;
  }
  if (state === LOOKUP_PAUSED) return undefined;
  if (state === 0) return core.journal_on ? lookup_retired(core, transaction_uuid) : undefined;
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

/** A transaction of a retired generation, from its retired file. */
function lookup_retired(core: ThreadCore, transaction_uuid: string): TransactionRecord | undefined {
  const record = retired_store(core).find(core.u8.subarray(core.scratch + L.S_UUID, core.scratch + L.S_UUID + 16));
  if (!record) return undefined;
  const kind = record.readUInt8(L.R_KIND);
  const user_slot = record.readUInt32LE(L.R_USER_SLOT);
  const names_at = core.layout.user_names_offset + user_slot * L.USER_NAME_RECORD_BYTES;
  const text_of = (field: number) => {
    record.copy(core.bytes, core.scratch + L.S_OUT_REQUEST_UUID, field, field + 16);
    core.exports.format_uuid_text(core.scratch + L.S_OUT_REQUEST_UUID, core.scratch + L.S_OUT_REQUEST_TEXT);
    return core.bytes.toString('latin1', core.scratch + L.S_OUT_REQUEST_TEXT, core.scratch + L.S_OUT_REQUEST_TEXT + L.UUID_TEXT_BYTES);
  };
  const found: TransactionRecord = {
    transactionUuid: transaction_uuid,
    kind: KIND_NAMES[kind] as TransactionRecord['kind'],
    user: core.bytes.toString('utf8', names_at + 1, names_at + 1 + core.u8[names_at]),
    amount: Number(record.readBigInt64LE(L.R_AMOUNT)),
    currency: core.currency_of_slot(user_slot),
    balanceAfter: Number(record.readBigInt64LE(L.R_BALANCE_AFTER)),
    requestUuid: text_of(L.R_REQUEST_UUID),
  };
  if (kind === L.KIND_BET) found.settlement = SETTLEMENT_NAMES[record.readUInt8(1)];
  else found.referenceTransactionUuid = text_of(L.R_REFERENCE);
  return found;
}
