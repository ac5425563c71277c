// Peer (a) must answer as exwallet does, or comparing their speeds means
// nothing. This script plays one scripted history (every status of the
// contract, replays, settlement, extra fields, key order) against both and
// lists the calls whose responses differ.

import { isDeepStrictEqual } from 'node:util';
import { start, createUsers, detach, type WalletResponse } from 'exwallet';
import { bet, win, rollback, balance } from '../../tools/untyped.js';
import { MapWallet } from './map_wallet.js';

type Op = 'bet' | 'win' | 'rollback' | 'balance';
interface Step { op: Op; body: unknown; note: string }

const U = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function script(): Step[] {
  const base = { user: 'alice', currency: 'USD', game_code: 'g1', round: 'r1' };
  return [
    { op: 'bet', note: 'bet ok', body: { ...base, amount: 100, transaction_uuid: U(1), request_uuid: U(101) } },
    { op: 'bet', note: 'replay, other request_uuid, keys reordered', body: { round: 'r1', game_code: 'g1', amount: 100, currency: 'USD', user: 'alice', transaction_uuid: U(1), request_uuid: U(102) } },
    { op: 'bet', note: 'conflict: amount', body: { ...base, amount: 101, transaction_uuid: U(1), request_uuid: U(103) } },
    { op: 'bet', note: 'conflict: extra field', body: { ...base, amount: 100, extra: null, transaction_uuid: U(1), request_uuid: U(104) } },
    { op: 'bet', note: 'conflict: other user', body: { ...base, user: 'bob', amount: 100, transaction_uuid: U(1), request_uuid: U(105) } },
    { op: 'bet', note: 'not enough money', body: { ...base, amount: 10_000_000, transaction_uuid: U(2), request_uuid: U(106) } },
    { op: 'bet', note: 'uuid of a failed bet is free again', body: { ...base, amount: 5, transaction_uuid: U(2), request_uuid: U(107) } },
    { op: 'bet', note: 'wrong currency', body: { ...base, currency: 'EUR', amount: 5, transaction_uuid: U(3), request_uuid: U(108) } },
    { op: 'bet', note: 'unknown user', body: { ...base, user: 'nobody', amount: 5, transaction_uuid: U(4), request_uuid: U(109) } },
    { op: 'bet', note: 'negative amount', body: { ...base, amount: -1, transaction_uuid: U(5), request_uuid: U(110) } },
    { op: 'bet', note: 'float amount', body: { ...base, amount: 1.5, transaction_uuid: U(5), request_uuid: U(111) } },
    { op: 'bet', note: 'uppercase uuid', body: { ...base, amount: 1, transaction_uuid: U(5).toUpperCase(), request_uuid: U(112) } },
    { op: 'bet', note: 'not a plain object', body: [1, 2] },
    { op: 'bet', note: 'function field', body: { ...base, amount: 1, f: () => 1, transaction_uuid: U(6), request_uuid: U(113) } },
    { op: 'bet', note: 'nested extra, -0 and NaN', body: { ...base, amount: 0, meta: { b: [1, -0, NaN], a: 'x' }, transaction_uuid: U(7), request_uuid: U(114) } },
    { op: 'bet', note: 'nested replay, other key order, 0 for -0', body: { ...base, amount: 0, meta: { a: 'x', b: [1, 0, NaN] }, transaction_uuid: U(7), request_uuid: U(115) } },
    { op: 'bet', note: 'nested conflict, 1 vs "1"', body: { ...base, amount: 0, meta: { a: 'x', b: ['1', 0, NaN] }, transaction_uuid: U(7), request_uuid: U(116) } },
    { op: 'win', note: 'win ok', body: { ...base, amount: 40, transaction_uuid: U(8), request_uuid: U(117), reference_transaction_uuid: U(1) } },
    { op: 'win', note: 'second win of a won bet', body: { ...base, amount: 40, transaction_uuid: U(9), request_uuid: U(118), reference_transaction_uuid: U(1) } },
    { op: 'win', note: 'win replay', body: { ...base, amount: 40, transaction_uuid: U(8), request_uuid: U(119), reference_transaction_uuid: U(1) } },
    { op: 'win', note: 'win of an unknown bet', body: { ...base, amount: 40, transaction_uuid: U(10), request_uuid: U(120), reference_transaction_uuid: U(999) } },
    { op: 'win', note: 'win referencing a win', body: { ...base, amount: 40, transaction_uuid: U(10), request_uuid: U(121), reference_transaction_uuid: U(8) } },
    { op: 'rollback', note: 'rollback of a won bet', body: { user: 'alice', transaction_uuid: U(11), request_uuid: U(122), reference_transaction_uuid: U(1) } },
    { op: 'rollback', note: 'rollback ok', body: { user: 'alice', transaction_uuid: U(12), request_uuid: U(123), reference_transaction_uuid: U(2) } },
    { op: 'rollback', note: 'second rollback', body: { user: 'alice', transaction_uuid: U(13), request_uuid: U(124), reference_transaction_uuid: U(2) } },
    { op: 'rollback', note: 'rollback replay', body: { user: 'alice', transaction_uuid: U(12), request_uuid: U(125), reference_transaction_uuid: U(2) } },
    { op: 'rollback', note: 'rollback of another user\'s bet', body: { user: 'bob', transaction_uuid: U(14), request_uuid: U(126), reference_transaction_uuid: U(7) } },
    { op: 'rollback', note: 'rollback with currency: undefined', body: { user: 'alice', currency: undefined, transaction_uuid: U(15), request_uuid: U(127), reference_transaction_uuid: U(7) } },
    { op: 'rollback', note: 'rollback of an unknown bet', body: { user: 'alice', transaction_uuid: U(16), request_uuid: U(128), reference_transaction_uuid: U(998) } },
    { op: 'win', note: 'the uuid of a failed rollback is free again', body: { ...base, amount: 1, transaction_uuid: U(16), request_uuid: U(129), reference_transaction_uuid: U(7) } },
    { op: 'bet', note: 'a transaction_uuid is global: same uuid, other kind', body: { ...base, amount: 1, transaction_uuid: U(12), request_uuid: U(130) } },
    { op: 'balance', note: 'balance', body: { user: 'alice', request_uuid: 'any string' } },
    { op: 'balance', note: 'balance of unknown user', body: { user: 'carol', request_uuid: U(131) } },
    { op: 'balance', note: 'balance with a number user', body: { user: 7, request_uuid: U(132) } },
  ];
}

export interface ParityReport {
  calls: number;
  equal: number;
  mismatches: Array<{ note: string; exwallet: WalletResponse; map_wallet: WalletResponse }>;
}

/** Play the script on a fresh exwallet and a fresh MapWallet, compare answers. */
export function check_parity(): ParityReport {
  const options = { maxUsers: 16, maxTransactions: 64, initialBalance: 1000, currency: 'USD' };
  const wallet = start(options);
  const peer = new MapWallet(options);
  createUsers(wallet, ['alice', 'bob']);
  peer.createUsers(['alice', 'bob']);
  const report: ParityReport = { calls: 0, equal: 0, mismatches: [] };
  const ours = { bet, win, rollback, balance };
  try {
    for (const step of script()) {
      const expected = ours[step.op](wallet, step.body);
      const actual = peer[step.op](step.body);
      report.calls++;
      if (isDeepStrictEqual(expected, actual)) report.equal++;
      else report.mismatches.push({ note: step.note, exwallet: expected, map_wallet: actual });
    }
  } finally {
    detach(wallet);
  }
  return report;
}
