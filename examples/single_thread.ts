// exwallet in one thread: start, users, a bet, its win, a retried request,
// a rollback, a balance. Run: npm run build && node out/examples/single_thread.js
import { start, createUsers, bet, win, rollback, balance } from 'exwallet';
import { randomUUID as uuid } from 'node:crypto';

// Small sizes: the defaults reserve room for 1 Mi users and 4 Mi transactions.
const wallet = start({ maxUsers: 100, maxTransactions: 1_000, initialBalance: 100_000, currency: 'USD' });
createUsers(wallet, ['alice']);
const show = (what: string, answer: object): void => console.log(what.padEnd(28), JSON.stringify(answer));
const game = { user: 'alice', game_code: 'clt_dragonrising' }; // extra Hub88 fields are kept as given

const first = { ...game, round: 'r-1', currency: 'USD', transaction_uuid: uuid(), request_uuid: uuid(), amount: 1_500 };
show('bet 1500', bet(wallet, first));
// Hub88 retries a request it got no answer to: the original answer comes
// back (its request_uuid and balance too) and nothing is debited twice.
show('the same bet, retried', bet(wallet, { ...first, request_uuid: uuid() }));
show('its uuid, another amount', bet(wallet, { ...first, request_uuid: uuid(), amount: 9 }));
show('bet 1000000', bet(wallet, { ...first, transaction_uuid: uuid(), request_uuid: uuid(), amount: 1_000_000 }));
show('win 4000 on bet 1500', win(wallet, {
  ...game, round: 'r-1', currency: 'USD', transaction_uuid: uuid(), request_uuid: uuid(),
  reference_transaction_uuid: first.transaction_uuid, amount: 4_000,
}));

const second = { ...game, round: 'r-2', currency: 'USD', transaction_uuid: uuid(), request_uuid: uuid(), amount: 700 };
show('bet 700', bet(wallet, second));
// A rollback refunds the bet it names; Hub88 sends it without amount or currency.
show('rollback of bet 700', rollback(wallet, {
  ...game, round: 'r-2', transaction_uuid: uuid(), request_uuid: uuid(), reference_transaction_uuid: second.transaction_uuid,
}));
show('win on the rolled-back bet', win(wallet, {
  ...game, round: 'r-2', currency: 'USD', transaction_uuid: uuid(), request_uuid: uuid(),
  reference_transaction_uuid: second.transaction_uuid, amount: 5,
}));
show('balance', balance(wallet, { user: 'alice', request_uuid: uuid() }));
