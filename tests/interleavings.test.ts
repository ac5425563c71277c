// Interleavings found by a second read of the core, pinned as tests:
//  - a win/rollback that meets its bet after the bet's money moved but before
//    the bet committed must not answer "does not exist" (other threads may
//    already have seen the money move);
//  - a getter of a body that calls the wallet again must not make the outer
//    call apply under the inner call's uuid.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { start, createUsers, audit, RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_TRANSACTION_DOES_NOT_EXIST, RS_ERROR_WRONG_TYPES } from 'exwallet';
import { bet, rollback, win, balance } from '../tools/untyped.js';
import { L } from 'exwallet/internal/layout';
import { inject_crash } from 'exwallet/testing';

let counter = 0;
const uuid = () => `00000000-0000-4000-9000-${(++counter).toString(16).padStart(12, '0')}`;
const REQUEST = 'bbbbbbbb-0000-4000-8000-000000000000';
const bet_body = (user: string, amount: number) =>
  ({ user, transaction_uuid: uuid(), request_uuid: REQUEST, currency: 'USD', amount });
const rollback_body = (user: string, reference: string) =>
  ({ user, transaction_uuid: uuid(), request_uuid: REQUEST, reference_transaction_uuid: reference });

function wallet_with(users: string[]) {
  const wallet = start({ maxUsers: 10, maxTransactions: 100, twinWaitMs: 20 });
  createUsers(wallet, users);
  return wallet;
}

test('a bet whose money moved but which is not committed yet is not "unknown" to its rollback', () => {
  const wallet = wallet_with(['ann']);
  const placed = bet_body('ann', 100);
  inject_crash(wallet, L.CRASH_AFTER_BALANCE); // the bet's thread stops between the two
  assert.throws(() => bet(wallet, placed));
  assert.is(balance(wallet, { user: 'ann', request_uuid: 'r' }).balance, 99_900, 'anyone can see the money moved');
  assert.is(rollback(wallet, rollback_body('ann', placed.transaction_uuid)).status, RS_ERROR_UNKNOWN, 'retryable, not DOES_NOT_EXIST');
  assert.is(win(wallet, { ...bet_body('ann', 5), reference_transaction_uuid: placed.transaction_uuid }).status, RS_ERROR_UNKNOWN);
  assert.ok(audit(wallet).ok); // decides the bet applied
  const refunded = rollback(wallet, rollback_body('ann', placed.transaction_uuid));
  assert.equal([refunded.status, refunded.balance], [RS_OK, 100_000]);
});

test('a bet claimed but whose money has not moved does not exist yet for its rollback', () => {
  const wallet = wallet_with(['ann']);
  const placed = bet_body('ann', 100);
  inject_crash(wallet, L.CRASH_AFTER_CLAIM);
  assert.throws(() => bet(wallet, placed));
  assert.is(rollback(wallet, rollback_body('ann', placed.transaction_uuid)).status, RS_ERROR_TRANSACTION_DOES_NOT_EXIST);
  assert.is(balance(wallet, { user: 'ann', request_uuid: 'r' }).balance, 100_000);
});

test('a body whose getter calls the wallet again is refused, and the inner call stands on its own', () => {
  const wallet = wallet_with(['ann']);
  const inner = bet_body('ann', 1);
  const outer: Record<string, unknown> = bet_body('ann', 100);
  let inner_response: unknown;
  Object.defineProperty(outer, 'meta', {
    enumerable: true,
    get() {
      inner_response = bet(wallet, inner);
      return 'x';
    },
  });
  assert.equal(bet(wallet, outer), { user: 'ann', status: RS_ERROR_WRONG_TYPES, request_uuid: REQUEST });
  assert.equal(inner_response, { user: 'ann', status: RS_OK, request_uuid: REQUEST, currency: 'USD', balance: 99_999 });
  assert.equal(bet(wallet, inner), inner_response, 'the inner bet replays: it was applied under its own uuid');
  const plain = { ...outer, meta: 'x' };
  assert.is(bet(wallet, plain).balance, 99_899, 'the outer uuid was never applied: now it applies once');
  assert.is(bet(wallet, plain).balance, 99_899, 'and only once');
});

test.run();
