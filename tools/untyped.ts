// The request functions of exwallet, typed to take any value as the body.
// The public types make a misspelled or missing field a compile error; the
// tests, the load runner and the bench send malformed bodies on purpose (the
// runtime answers every value with a status), so they call through these.

import * as exwallet from 'exwallet';

type Call = (wallet: exwallet.Wallet, body: unknown) => exwallet.WalletResponse;

export const bet = exwallet.bet as Call;
export const win = exwallet.win as Call;
export const rollback = exwallet.rollback as Call;
export const balance = exwallet.balance as Call;
