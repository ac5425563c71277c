// The contract, rule by rule (docs/contract.md: its section numbers are the §s below, and the choices the
// project made where it left room): one test per rule, named after it, through
// the public API only. Responses are compared whole; after every rejected
// request the balances (read with balance()) are checked unchanged.
//
// This file is also the worker of the cross-thread visibility test: loaded in
// a worker with workerData.role === VISIBILITY_ROLE, it runs that side only.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import vm from 'node:vm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { start, share, attach, detach, createUsers, RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_WRONG_TYPES, RS_ERROR_NOT_ENOUGH_MONEY, RS_ERROR_DUPLICATE_TRANSACTION, RS_ERROR_WRONG_CURRENCY, RS_ERROR_TRANSACTION_DOES_NOT_EXIST } from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import type { Wallet, WalletOptions, WalletResponse, WalletHandle } from 'exwallet';
import {
  Uuids, uuidOf, betBody, winBody, rollbackBody, okResponse, notEnoughMoney, errorResponse, nestedArrays, nestedObjects,
  withThrowingGetter, throwingProxy, type Body,
} from './bodies.js';

const VISIBILITY_ROLE = 'exwallet.spec.visibility';
const ONE_BET_ROLE = 'exwallet.spec.one-bet';
const WORKER_DEADLINE_MS = 10_000;
const MAX = Number.MAX_SAFE_INTEGER;
const START_UNITS = 1_000;
const SMALL: WalletOptions = { maxUsers: 64, maxTransactions: 1_024, maxThreads: 4, initialBalance: START_UNITS };

type Call = (wallet: Wallet, body: unknown) => WalletResponse;

/** A wallet with some users, fresh uuids, and checks that read like the spec. */
class Fixture {
  readonly wallet: Wallet;
  readonly ids = new Uuids();
  private readonly users: string[];

  constructor(users: string[] = ['alice', 'bob'], options: WalletOptions = {}) {
    this.wallet = start({ ...SMALL, ...options });
    createUsers(this.wallet, users);
    this.users = [...users];
  }

  balanceOf(user: string): number | undefined {
    const response = balance(this.wallet, { user, request_uuid: 'probe' });
    return response.status === RS_OK ? response.balance : undefined;
  }

  balances(): Record<string, number | undefined> {
    return Object.fromEntries(this.users.map((user) => [user, this.balanceOf(user)]));
  }

  /** Send `body`; the response must equal `expected`, and a rejection must leave every balance as it was. */
  expect(call: Call, body: unknown, expected: WalletResponse): void {
    const before = this.balances();
    assert.equal(call(this.wallet, body), expected);
    if (expected.status !== RS_OK) assert.equal(this.balances(), before, 'a rejected request changes no balance');
  }

  /** A bet that must succeed; returns its transaction_uuid and body. */
  placeBet(user: string, amount: number, currency = 'USD'): { tx: string; body: Body; response: WalletResponse } {
    const tx = this.ids.tx();
    const body = betBody(user, tx, amount, this.ids.req(), currency);
    const response = bet(this.wallet, body);
    assert.is(response.status, RS_OK, `setup bet of ${amount} by ${user}`);
    return { tx, body, response };
  }
}

function throwsWith(action: () => unknown, type: typeof TypeError | typeof RangeError, pattern?: RegExp): string {
  try {
    action();
  } catch (error) {
    assert.instance(error, type);
    const message = (error as Error).message;
    if (pattern) assert.match(message, pattern);
    return message;
  }
  assert.unreachable(`expected a ${type.name}`);
  return '';
}

// ---------------------------------------------------------------------------
// The worker side of the visibility test.

interface VisibilityData { role: string; handle: WalletHandle; betBody: Body; betResponse: WalletResponse }
interface VisibilityReport {
  aliceBalance: WalletResponse;
  replay: WalletResponse;
  carolBet: { body: Body; response: WalletResponse };
  aliceWin: { body: Body; response: WalletResponse };
}

function visibilityWorker(data: VisibilityData): void {
  const wallet = attach(data.handle);
  const ids = { n: 0 };
  const uuid = (namespace: number) => uuidOf(++ids.n, namespace);
  const aliceBalance = balance(wallet, { user: 'alice', request_uuid: 'from-worker' });
  const replay = bet(wallet, { ...data.betBody, request_uuid: uuid(12) });
  createUsers(wallet, ['carol']);
  const carolBody = betBody('carol', uuid(11), 50, uuid(12));
  const carolBet = { body: carolBody, response: bet(wallet, carolBody) };
  const winOfAlice = winBody('alice', uuid(11), data.betBody.transaction_uuid, 30, uuid(12));
  const aliceWin = { body: winOfAlice, response: win(wallet, winOfAlice) };
  detach(wallet);
  const report: VisibilityReport = { aliceBalance, replay, carolBet, aliceWin };
  parentPort!.postMessage(report);
}

interface OneBetData { role: string; handle: WalletHandle; body: Body }

/** Attach, apply one bet, detach: a short-lived worker of a pool. */
function oneBetWorker(data: OneBetData): void {
  const wallet = attach(data.handle);
  const response = bet(wallet, data.body);
  detach(wallet);
  parentPort!.postMessage(response);
}

/** Run this file as a worker with `data`; its one message, or a failure at the deadline. The worker is always terminated. */
async function runWorker<T>(data: unknown): Promise<T> {
  const worker = new Worker(new URL(import.meta.url), { workerData: data });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<T>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`worker gave no answer within ${WORKER_DEADLINE_MS} ms`)), WORKER_DEADLINE_MS);
      worker.once('message', (message: T) => resolve(message));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`worker exited (code ${code}) before answering`)));
    });
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}

// ---------------------------------------------------------------------------

function defineTests(): void {
  // §1 Public API ------------------------------------------------------------

  test('§1 start() with defaults-like small options gives users the default currency "USD" and 100_000', () => {
    const wallet = start({ maxUsers: 4, maxTransactions: 16, maxThreads: 2 });
    createUsers(wallet, ['ann']);
    assert.equal(balance(wallet, { user: 'ann', request_uuid: 'r' }), okResponse('ann', 'r', 100_000, 'USD'));
  });

  test('§1 start() takes initialBalance and currency from the options (including an initial balance of 0)', () => {
    const wallet = start({ maxUsers: 4, maxTransactions: 16, maxThreads: 2, initialBalance: 0, currency: 'EUR' });
    createUsers(wallet, ['ann']);
    assert.equal(balance(wallet, { user: 'ann', request_uuid: 'r' }), okResponse('ann', 'r', 0, 'EUR'));
    const ids = new Uuids();
    const req = ids.req();
    assert.equal(bet(wallet, betBody('ann', ids.tx(), 0, req, 'EUR')), okResponse('ann', req, 0, 'EUR'));
    const wrong = ids.req();
    assert.equal(bet(wallet, betBody('ann', ids.tx(), 0, wrong, 'USD')), errorResponse('ann', RS_ERROR_WRONG_CURRENCY, wrong));
  });

  test('§1 start() throws a RangeError for invalid options', () => {
    const base = { maxUsers: 4, maxTransactions: 16, maxThreads: 2 };
    const invalid: Array<Record<string, unknown>> = [
      { maxUsers: 0 }, { maxUsers: -1 }, { maxUsers: 1.5 }, { maxUsers: NaN }, { maxUsers: '10' }, { maxUsers: Infinity },
      { maxTransactions: 0 }, { maxTransactions: -5 }, { maxTransactions: 2.5 }, { maxTransactions: '16' },
      { initialBalance: -1 }, { initialBalance: 0.5 }, { initialBalance: NaN }, { initialBalance: MAX + 1 },
      { initialBalance: '100' }, { initialBalance: 10n },
      { currency: '' }, { currency: 5 }, { currency: ['USD'] },
      { maxThreads: 0 }, { twinWaitMs: -1 },
    ];
    for (const bad of invalid) throwsWith(() => start({ ...base, ...bad } as WalletOptions), RangeError);
  });

  test('§1 start() refuses a currency with a lone surrogate (it has no UTF-8 form: no bet in it could ever match)', () => {
    throwsWith(() => start({ maxUsers: 4, maxTransactions: 16, maxThreads: 2, currency: 'US\uD800' }), RangeError);
  });

  test('§1 start() throws a RangeError when the memory the options need cannot be had', () => {
    throwsWith(() => start({ maxUsers: 2 ** 26, maxTransactions: 2 ** 26 }), RangeError);
  });

  test('§1 bet, win, rollback, balance and createUsers throw a TypeError for a value that is not a wallet', () => {
    const real = start({ maxUsers: 4, maxTransactions: 16, maxThreads: 2 });
    const notWallets: unknown[] = [undefined, null, {}, 42, 'wallet', share(real), Object.create(real) as unknown];
    const body = betBody('ann', uuidOf(1, 1), 1, uuidOf(1, 2));
    for (const notWallet of notWallets) {
      for (const call of [bet, win, rollback, balance] as Call[]) throwsWith(() => call(notWallet as Wallet, body), TypeError);
      throwsWith(() => createUsers(notWallet as Wallet, ['ann']), TypeError);
    }
  });

  test('§1 a user and a transaction made in one thread are visible in another as soon as the call returns, both ways', async () => {
    const f = new Fixture(['alice', 'bob']);
    const placed = f.placeBet('alice', 100);
    const data: VisibilityData = { role: VISIBILITY_ROLE, handle: share(f.wallet), betBody: placed.body, betResponse: placed.response };
    const report = await runWorker<VisibilityReport>(data);
    // The worker saw main's user and bet.
    assert.equal(report.aliceBalance, okResponse('alice', 'from-worker', START_UNITS - 100));
    assert.equal(report.replay, placed.response, 'the replay in the worker gets main\'s original response');
    // Main sees the worker's user and transactions.
    assert.equal(report.carolBet.response, okResponse('carol', report.carolBet.body.request_uuid as string, START_UNITS - 50));
    assert.equal(report.aliceWin.response, okResponse('alice', report.aliceWin.body.request_uuid as string, START_UNITS - 70));
    assert.is(f.balanceOf('carol'), START_UNITS - 50);
    assert.is(f.balanceOf('alice'), START_UNITS - 70);
    assert.equal(bet(f.wallet, { ...report.carolBet.body, request_uuid: f.ids.req() }), report.carolBet.response);
    assert.equal(win(f.wallet, report.aliceWin.body), report.aliceWin.response);
    const again = f.ids.req();
    const secondWin = winBody('alice', f.ids.tx(), placed.tx, 1, again);
    f.expect(win, secondWin, errorResponse('alice', RS_ERROR_UNKNOWN, again)); // the worker's win settled the bet
  });

  // §2 Users -------------------------------------------------------------------

  test('§2 createUsers creates each new name with the wallet currency and initial balance', () => {
    const f = new Fixture([], { initialBalance: 777, currency: 'GBP' });
    createUsers(f.wallet, ['x', 'y']);
    assert.equal(balance(f.wallet, { user: 'x', request_uuid: 'q' }), okResponse('x', 'q', 777, 'GBP'));
    assert.equal(balance(f.wallet, { user: 'y', request_uuid: 'q' }), okResponse('y', 'q', 777, 'GBP'));
  });

  test('§2 createUsers ignores the empty string: it is not a user and takes no room', () => {
    const f = new Fixture([], { maxUsers: 1 });
    createUsers(f.wallet, ['', '', 'only', '']);
    assert.equal(balance(f.wallet, { user: '', request_uuid: 'q' }), errorResponse('', RS_ERROR_UNKNOWN, 'q'));
    assert.is(f.balanceOf('only'), START_UNITS);
    const req = f.ids.req();
    f.expect(bet, betBody('', f.ids.tx(), 1, req), errorResponse('', RS_ERROR_UNKNOWN, req));
  });

  test('§2 createUsers ignores names that exist (their balance is kept) and repeats within one call', () => {
    const f = new Fixture(['alice'], { maxUsers: 3 });
    f.placeBet('alice', 10);
    createUsers(f.wallet, ['alice', 'bob', 'bob', 'alice', 'bob']);
    assert.is(f.balanceOf('alice'), START_UNITS - 10, 'an existing user is not reset');
    assert.is(f.balanceOf('bob'), START_UNITS);
    createUsers(f.wallet, ['carol', 'carol']); // fits: repeats count once (3 of 3)
    assert.is(f.balanceOf('carol'), START_UNITS);
  });

  test('§2 createUsers throws a TypeError naming a non-string entry, and creates nothing from that call', () => {
    const f = new Fixture([]);
    const bad: unknown[] = [42, null, undefined, {}, ['x'], Symbol('s'), 1n, new String('boxed'), true];
    for (const entry of bad) {
      const message = throwsWith(() => createUsers(f.wallet, ['before', entry as string, 'after']), TypeError);
      assert.match(message, /\b1\b/, `the message names entry 1: ${message}`);
      assert.is(f.balanceOf('before'), undefined, 'nothing created');
      assert.is(f.balanceOf('after'), undefined, 'nothing created');
    }
    const sparse = ['a', , 'b'] as string[]; // a hole reads as undefined
    throwsWith(() => createUsers(f.wallet, sparse), TypeError);
    assert.is(f.balanceOf('a'), undefined);
  });

  test('§2 createUsers throws a TypeError for an argument that is not an array', () => {
    const f = new Fixture([]);
    for (const notArray of [undefined, null, 'alice', { 0: 'alice', length: 1 }, new Set(['alice'])]) {
      throwsWith(() => createUsers(f.wallet, notArray as unknown as string[]), TypeError);
    }
    assert.is(f.balanceOf('alice'), undefined);
  });

  test('§2 a name of 255 UTF-8 bytes is accepted, 256 bytes is a TypeError naming the entry (multi-byte characters count in bytes)', () => {
    const f = new Fixture([], { maxUsers: 16 });
    const fits = ['a'.repeat(255), '€'.repeat(85), 'é'.repeat(127) + 'a', '😀'.repeat(63) + 'abc'];
    const tooLong = ['a'.repeat(256), 'a' + '€'.repeat(85), 'é'.repeat(128), '😀'.repeat(64), 'x'.repeat(10_000)];
    for (const name of fits) assert.is(Buffer.byteLength(name), 255);
    for (const name of tooLong) assert.ok(Buffer.byteLength(name) >= 256);
    for (const name of tooLong) {
      const message = throwsWith(() => createUsers(f.wallet, ['ok', name]), TypeError);
      assert.match(message, /\b1\b/, `the message names entry 1: ${message.slice(0, 120)}`);
      assert.is(f.balanceOf('ok'), undefined, 'nothing created');
    }
    createUsers(f.wallet, fits);
    for (const name of fits) {
      const req = f.ids.req();
      assert.equal(bet(f.wallet, betBody(name, f.ids.tx(), 1, req)), okResponse(name, req, START_UNITS - 1));
    }
    // In a request, a name too long to exist is just an unknown user.
    const req = f.ids.req();
    f.expect(bet, betBody('a'.repeat(256), f.ids.tx(), 1, req), errorResponse('a'.repeat(256), RS_ERROR_UNKNOWN, req));
  });

  test('§2 a name with a lone surrogate is a TypeError (it has no UTF-8 form)', () => {
    const f = new Fixture([]);
    throwsWith(() => createUsers(f.wallet, ['fine', 'bad\uD800']), TypeError);
    assert.is(f.balanceOf('fine'), undefined);
    createUsers(f.wallet, ['pair\uD83D\uDE00']); // a surrogate pair is a character
    assert.is(f.balanceOf('pair😀'), START_UNITS);
  });

  test('§2 a full user table throws a RangeError that says so; users that existed stay intact', () => {
    const f = new Fixture(['a', 'b'], { maxUsers: 3 });
    f.placeBet('a', 5);
    throwsWith(() => createUsers(f.wallet, ['c', 'd']), RangeError, /full/i);
    assert.is(f.balanceOf('c'), undefined, 'nothing from the refused call was created');
    assert.is(f.balanceOf('d'), undefined);
    assert.is(f.balanceOf('a'), START_UNITS - 5);
    assert.is(f.balanceOf('b'), START_UNITS);
    createUsers(f.wallet, ['a', 'c', '']); // exactly fills the table
    assert.is(f.balanceOf('c'), START_UNITS);
    throwsWith(() => createUsers(f.wallet, ['e']), RangeError, /full/i);
    createUsers(f.wallet, ['a', 'b', 'c']); // only existing names: nothing to create, no error
    f.placeBet('b', 7);
    assert.equal(f.balances(), { a: START_UNITS - 5, b: START_UNITS - 7 });
  });

  test('§2 names are compared byte for byte: case-sensitive, no Unicode normalisation', () => {
    const composed = '\u00e9'; // é
    const decomposed = 'e\u0301'; // e + combining acute
    const f = new Fixture(['bob', 'Bob', composed, decomposed], { maxUsers: 8 });
    f.placeBet('Bob', 100);
    f.placeBet(decomposed, 200);
    assert.is(f.balanceOf('bob'), START_UNITS);
    assert.is(f.balanceOf('Bob'), START_UNITS - 100);
    assert.is(f.balanceOf(composed), START_UNITS);
    assert.is(f.balanceOf(decomposed), START_UNITS - 200);
    assert.is(f.balanceOf('BOB'), undefined);
  });

  // §3 Amounts -----------------------------------------------------------------

  test('§3 an amount that is not a safe-integer number (string, float, NaN, Infinity, bigint, missing...) is RS_ERROR_WRONG_TYPES', () => {
    const f = new Fixture();
    const bet0 = f.placeBet('alice', 0).tx;
    const badAmounts: unknown[] = [
      '10', '', 1.5, -1.5, 0.1, NaN, Infinity, -Infinity, 10n, null, undefined, true, [], {}, [5], new Number(5), MAX + 1, -(MAX + 1), 2 ** 64,
    ];
    for (const amount of badAmounts) {
      const req = f.ids.req();
      f.expect(bet, betBody('alice', f.ids.tx(), amount, req), errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
      f.expect(win, winBody('alice', f.ids.tx(), bet0, amount, req), errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    }
    const req = f.ids.req();
    const missing = betBody('alice', f.ids.tx(), 1, req);
    delete missing.amount;
    f.expect(bet, missing, errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    const missingWin = winBody('alice', f.ids.tx(), bet0, 1, req);
    delete missingWin.amount;
    f.expect(win, missingWin, errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
  });

  test('§3 a negative amount is RS_ERROR_UNKNOWN', () => {
    const f = new Fixture();
    const bet0 = f.placeBet('alice', 0).tx;
    for (const amount of [-1, -100, -MAX]) {
      const req = f.ids.req();
      f.expect(bet, betBody('alice', f.ids.tx(), amount, req), errorResponse('alice', RS_ERROR_UNKNOWN, req));
      f.expect(win, winBody('alice', f.ids.tx(), bet0, amount, req), errorResponse('alice', RS_ERROR_UNKNOWN, req));
    }
  });

  test('§3 a zero amount is valid: a free bet, and the zero win that closes a lost round', () => {
    const f = new Fixture();
    const req = f.ids.req();
    const tx = f.ids.tx();
    assert.equal(bet(f.wallet, betBody('alice', tx, 0, req)), okResponse('alice', req, START_UNITS));
    const winReq = f.ids.req();
    assert.equal(win(f.wallet, winBody('alice', f.ids.tx(), tx, 0, winReq)), okResponse('alice', winReq, START_UNITS));
    const rbReq = f.ids.req();
    f.expect(rollback, rollbackBody('alice', f.ids.tx(), tx, rbReq), errorResponse('alice', RS_ERROR_UNKNOWN, rbReq)); // closed by the win
    // -0 is zero.
    const negZeroReq = f.ids.req();
    assert.equal(bet(f.wallet, betBody('alice', f.ids.tx(), -0, negZeroReq)), okResponse('alice', negZeroReq, START_UNITS));
  });

  test('§3 a balance never goes below zero: a bet of the whole balance succeeds, one unit more is RS_ERROR_NOT_ENOUGH_MONEY', () => {
    const f = new Fixture();
    const req = f.ids.req();
    assert.equal(bet(f.wallet, betBody('alice', f.ids.tx(), START_UNITS, req)), okResponse('alice', req, 0));
    const req2 = f.ids.req();
    f.expect(bet, betBody('alice', f.ids.tx(), 1, req2), notEnoughMoney('alice', req2, 0));
    const req3 = f.ids.req();
    f.expect(bet, betBody('bob', f.ids.tx(), MAX, req3), notEnoughMoney('bob', req3, START_UNITS));
    const req4 = f.ids.req();
    assert.equal(bet(f.wallet, betBody('alice', f.ids.tx(), 0, req4)), okResponse('alice', req4, 0), 'a zero bet on an empty balance');
  });

  test('§3 a win that would take the balance past MAX_SAFE_INTEGER is RS_ERROR_UNKNOWN and changes nothing; up to the bound is fine', () => {
    const f = new Fixture(['alice'], { initialBalance: MAX - 10 });
    const round = f.placeBet('alice', 0).tx;
    const req = f.ids.req();
    const tooMuch = winBody('alice', f.ids.tx(), round, 11, req);
    f.expect(win, tooMuch, errorResponse('alice', RS_ERROR_UNKNOWN, req));
    f.expect(win, winBody('alice', f.ids.tx(), round, MAX, req), errorResponse('alice', RS_ERROR_UNKNOWN, req));
    // Nothing was recorded or settled: the same uuid with 10 now succeeds, to exactly the bound.
    const exact = { ...tooMuch, amount: 10 };
    assert.equal(win(f.wallet, exact), okResponse('alice', req, MAX));
    // A zero-balance user can win MAX_SAFE_INTEGER.
    const g = new Fixture(['zed'], { initialBalance: 0 });
    const zround = g.placeBet('zed', 0).tx;
    const zreq = g.ids.req();
    assert.equal(win(g.wallet, winBody('zed', g.ids.tx(), zround, MAX, zreq)), okResponse('zed', zreq, MAX));
  });

  test('§3 a refund that would take the balance past MAX_SAFE_INTEGER is RS_ERROR_UNKNOWN, changes nothing, and leaves the bet open', () => {
    const f = new Fixture(['alice'], { initialBalance: MAX - 5 });
    const staked = f.placeBet('alice', 5).tx; // MAX - 10
    const round = f.placeBet('alice', 0).tx;
    const winReq = f.ids.req();
    assert.equal(win(f.wallet, winBody('alice', f.ids.tx(), round, 10, winReq)), okResponse('alice', winReq, MAX));
    const req = f.ids.req();
    const refund = rollbackBody('alice', f.ids.tx(), staked, req);
    f.expect(rollback, refund, errorResponse('alice', RS_ERROR_UNKNOWN, req));
    // The bet is still open: a bet brings the balance down, then the same rollback succeeds.
    f.placeBet('alice', 5);
    assert.equal(rollback(f.wallet, refund), okResponse('alice', req, MAX));
  });

  // §4 Check order ---------------------------------------------------------------

  test('§4.1 a body that is not a plain object is RS_ERROR_WRONG_TYPES; §7 its user and request_uuid are echoed when they read as strings', () => {
    const f = new Fixture();
    const req = f.ids.req();
    class Request { user = 'alice'; transaction_uuid = f.ids.tx(); request_uuid = req; currency = 'USD'; amount = 1; }
    const asArray = Object.assign([], betBody('alice', f.ids.tx(), 1, req));
    const liar = new Proxy(Object.assign([], betBody('alice', f.ids.tx(), 1, req)), { getPrototypeOf: () => Object.prototype });
    const notObjects: unknown[] = [undefined, null, 0, 42, 'body', true, 1n, Symbol('body'), () => 1];
    for (const body of notObjects) {
      for (const call of [bet, win, rollback, balance] as Call[]) f.expect(call, body, errorResponse('', RS_ERROR_WRONG_TYPES, ''));
    }
    const objectsWithFields: unknown[] = [
      asArray, liar, new Request(),
      Object.create(betBody('alice', f.ids.tx(), 1, req)), // the fields are inherited, the prototype is not Object's
    ];
    for (const body of objectsWithFields) {
      for (const call of [bet, win, rollback, balance] as Call[]) f.expect(call, body, errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    }
    for (const body of [[], new Date(), new Map()]) {
      for (const call of [bet, win, rollback, balance] as Call[]) f.expect(call, body, errorResponse('', RS_ERROR_WRONG_TYPES, ''));
    }
  });

  test('§4.1 a plain object made in another realm (a vm context) is a body', () => {
    const f = new Fixture();
    const req = f.ids.req();
    const foreign = vm.runInNewContext('(body) => Object.assign({}, body)')(betBody('alice', f.ids.tx(), 7, req)) as Body;
    assert.is.not(Object.getPrototypeOf(foreign), Object.prototype);
    assert.equal(bet(f.wallet, foreign), okResponse('alice', req, START_UNITS - 7));
    const nested = vm.runInNewContext('(body) => Object.assign({}, body, { meta: { a: [1, { b: 2 }] } })')(betBody('alice', f.ids.tx(), 1, f.ids.req())) as Body;
    assert.is(bet(f.wallet, nested).status, RS_OK);
  });

  test('§4.1 a plain object made by a literal, JSON.parse, Object.create(null), or frozen, is a body', () => {
    const f = new Fixture();
    let expected = START_UNITS;
    const make = (): Body => betBody('alice', f.ids.tx(), 1, f.ids.req());
    const bodies: Body[] = [
      make(), JSON.parse(JSON.stringify(make())) as Body, Object.assign(Object.create(null) as Body, make()), Object.freeze(make()),
    ];
    for (const body of bodies) {
      expected -= 1;
      assert.equal(bet(f.wallet, body), okResponse('alice', body.request_uuid as string, expected));
    }
  });

  test('§4.2 user and currency must be strings; uuids canonical lowercase; else RS_ERROR_WRONG_TYPES echoing string user/request_uuid', () => {
    const f = new Fixture();
    const ref = f.placeBet('alice', 0).tx;
    const req = f.ids.req();
    const notUuids: unknown[] = [
      'not-a-uuid', '', 'ABCDEF01-0000-4000-8000-00000000000A', 'abcdef01-0000-4000-8000-00000000000A', `{${uuidOf(7, 1)}}`, uuidOf(7, 1).replace(/-/g, ''), ` ${uuidOf(7, 1)}`,
      uuidOf(7, 1) + '\n', uuidOf(7, 1).replace('4000', '40g0'), 7, null, undefined,
    ];
    for (const bad of notUuids) {
      const echoed = typeof bad === 'string' ? bad : '';
      f.expect(bet, betBody('alice', bad, 1, req), errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
      f.expect(bet, betBody('alice', f.ids.tx(), 1, bad), errorResponse('alice', RS_ERROR_WRONG_TYPES, echoed));
      f.expect(win, winBody('alice', f.ids.tx(), bad, 1, req), errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
      f.expect(rollback, rollbackBody('alice', f.ids.tx(), bad, req), errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    }
    for (const bad of [7, null, undefined, ['alice'], { name: 'alice' }, new String('alice')]) {
      f.expect(bet, betBody(bad, f.ids.tx(), 1, req), errorResponse('', RS_ERROR_WRONG_TYPES, req));
      f.expect(rollback, rollbackBody(bad, f.ids.tx(), ref, req), errorResponse('', RS_ERROR_WRONG_TYPES, req));
      // (spread, not the builders' parameter: an undefined parameter would take its default)
      f.expect(bet, { ...betBody('alice', f.ids.tx(), 1, req), currency: bad }, errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
      f.expect(win, { ...winBody('alice', f.ids.tx(), ref, 1, req), currency: bad }, errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    }
    // Both echoes fall back to "" when not strings.
    f.expect(bet, betBody(42, f.ids.tx(), 1, 43), errorResponse('', RS_ERROR_WRONG_TYPES, ''));
    // A win needs a reference; a bet does not (and may carry one as just another field).
    const noRef = winBody('alice', f.ids.tx(), ref, 1, req);
    delete noRef.reference_transaction_uuid;
    f.expect(win, noRef, errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    const betWithRef = { ...betBody('alice', f.ids.tx(), 1, req), reference_transaction_uuid: 'anything' };
    assert.equal(bet(f.wallet, betWithRef), okResponse('alice', req, START_UNITS - 1));
  });

  test('§4.2 a rollback may omit currency; if present it must be a string, and it is not compared', () => {
    const f = new Fixture();
    let expected = START_UNITS;
    const stake = (): string => { expected -= 3; return f.placeBet('alice', 3).tx; };
    const refund = (body: Body) => { expected += 3; assert.equal(rollback(f.wallet, body), okResponse('alice', body.request_uuid as string, expected)); };
    refund(rollbackBody('alice', f.ids.tx(), stake(), f.ids.req()));
    refund({ ...rollbackBody('alice', f.ids.tx(), stake(), f.ids.req()), currency: 'EUR' }); // not compared; the response has the user's
    refund({ ...rollbackBody('alice', f.ids.tx(), stake(), f.ids.req()), amount: 'any value: just a field' });
    const open = stake();
    const req = f.ids.req();
    for (const currency of [5, null, undefined, {}, ['USD'], 1n]) {
      const body = { ...rollbackBody('alice', f.ids.tx(), open, req), currency };
      f.expect(rollback, body, errorResponse('alice', RS_ERROR_WRONG_TYPES, req)); // present-undefined is not absent
    }
  });

  test('§4.2 extra fields must be JSON-like data, nested at most 32 deep; anything else is RS_ERROR_WRONG_TYPES', () => {
    const f = new Fixture();
    const req = f.ids.req();
    class Point { x = 1; }
    const cyclic: Body = { a: 1 };
    cyclic.self = cyclic;
    const bad: unknown[] = [
      Symbol('x'), () => 1, new Point(), new Date(0), new Map(), new Set(), new Uint8Array(2), new Number(1), new String('s'),
      [Symbol('x')], { nested: () => 1 }, nestedArrays(33), nestedObjects(33), cyclic, 'x'.repeat(100_000),
      Array.from({ length: 20_000 }, () => 0),
    ];
    for (const value of bad) {
      f.expect(bet, { ...betBody('alice', f.ids.tx(), 1, req), extra: value }, errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
      // Types beat a negative amount (§4.2 before §4.3).
      f.expect(bet, { ...betBody('alice', f.ids.tx(), -1, req), extra: value }, errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    }
    let expected = START_UNITS;
    const good: unknown[] = [
      'text', '', 0, -0, 1.5, NaN, Infinity, true, false, null, undefined, 12345678901234567890n, [], {}, [1, 'a', null, [{}]],
      { a: { b: [1, 2, { c: null }] } }, Object.create(null) as unknown, nestedArrays(32), nestedObjects(32), 'y'.repeat(10_000),
      '\uD800 lone surrogate', '😀',
    ];
    for (const value of good) {
      expected -= 1;
      const okReq = f.ids.req();
      assert.equal(bet(f.wallet, { ...betBody('alice', f.ids.tx(), 1, okReq), extra: value }), okResponse('alice', okReq, expected));
    }
  });

  test('§4.2 a body whose fields cannot be read (throwing getters, throwing proxy traps) is RS_ERROR_WRONG_TYPES, never a throw', () => {
    const f = new Fixture();
    const ref = f.placeBet('alice', 0).tx;
    const req = f.ids.req();
    for (const key of ['currency', 'amount', 'transaction_uuid', 'extra']) {
      f.expect(bet, withThrowingGetter(betBody('alice', f.ids.tx(), 1, req), key), errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    }
    f.expect(rollback, withThrowingGetter(rollbackBody('alice', f.ids.tx(), ref, req), 'amount'), errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    f.expect(bet, { ...betBody('alice', f.ids.tx(), 1, req), extra: withThrowingGetter({}, 'deep') }, errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    const proxyTraps: Array<Array<keyof ProxyHandler<Body>>> = [['get'], ['getPrototypeOf'], ['get', 'ownKeys', 'getOwnPropertyDescriptor', 'has', 'getPrototypeOf']];
    for (const traps of proxyTraps) {
      // A `get` trap that throws hides every field; behind a lying getPrototypeOf alone, the fields still read (§7).
      const echoed = traps.includes('get') ? errorResponse('', RS_ERROR_WRONG_TYPES, '') : errorResponse('alice', RS_ERROR_WRONG_TYPES, req);
      for (const call of [bet, win, rollback, balance] as Call[]) {
        f.expect(call, throwingProxy(winBody('alice', f.ids.tx(), ref, 1, req), traps), echoed);
      }
    }
    // Keys that cannot be listed: the required fields read fine, so they are echoed.
    f.expect(bet, throwingProxy(betBody('alice', f.ids.tx(), 1, req), ['ownKeys']), errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
    const { proxy, revoke } = Proxy.revocable(betBody('alice', f.ids.tx(), 1, req), {});
    revoke();
    f.expect(bet, proxy, errorResponse('', RS_ERROR_WRONG_TYPES, ''));
    f.expect(bet, { ...betBody('alice', f.ids.tx(), 1, req), extra: proxy }, errorResponse('alice', RS_ERROR_WRONG_TYPES, req));
  });

  test('§4.2 when the user or request_uuid getter throws, the other one is still echoed if it is a string (§7)', () => {
    const f = new Fixture();
    const req = f.ids.req();
    f.expect(bet, withThrowingGetter(betBody('alice', f.ids.tx(), 1, req), 'user'), errorResponse('', RS_ERROR_WRONG_TYPES, req));
    f.expect(bet, withThrowingGetter(betBody('alice', f.ids.tx(), 1, req), 'request_uuid'), errorResponse('alice', RS_ERROR_WRONG_TYPES, ''));
    f.expect(balance, withThrowingGetter({ user: 'alice', request_uuid: req }, 'user'), errorResponse('', RS_ERROR_WRONG_TYPES, req));
    f.expect(balance, withThrowingGetter({ user: 'alice', request_uuid: req }, 'request_uuid'), errorResponse('alice', RS_ERROR_WRONG_TYPES, ''));
  });

  test('§4.3 a negative amount (RS_ERROR_UNKNOWN) beats idempotency and currency', () => {
    const f = new Fixture();
    const applied = f.placeBet('alice', 10);
    const req = f.ids.req();
    f.expect(bet, betBody('alice', applied.tx, -1, req), errorResponse('alice', RS_ERROR_UNKNOWN, req)); // not DUPLICATE
    f.expect(bet, betBody('alice', f.ids.tx(), -1, req, 'EUR'), errorResponse('alice', RS_ERROR_UNKNOWN, req)); // not WRONG_CURRENCY
    f.expect(bet, betBody('nobody', f.ids.tx(), -1, req), errorResponse('nobody', RS_ERROR_UNKNOWN, req));
  });

  test('§4.4 an unknown or empty user is RS_ERROR_UNKNOWN, before idempotency, currency and funds', () => {
    const f = new Fixture();
    const applied = f.placeBet('alice', 10);
    const req = f.ids.req();
    for (const user of ['', 'nobody', 'Alice', 'alice ']) {
      f.expect(bet, betBody(user, applied.tx, 10, req), errorResponse(user, RS_ERROR_UNKNOWN, req)); // not DUPLICATE
      f.expect(bet, betBody(user, f.ids.tx(), MAX, req, 'EUR'), errorResponse(user, RS_ERROR_UNKNOWN, req));
      f.expect(win, winBody(user, f.ids.tx(), applied.tx, 1, req), errorResponse(user, RS_ERROR_UNKNOWN, req));
      f.expect(rollback, rollbackBody(user, f.ids.tx(), applied.tx, req), errorResponse(user, RS_ERROR_UNKNOWN, req));
    }
  });

  test('§4.5 a retry of an applied bet gets its original RS_OK (original request_uuid and balance) after the balance dropped', () => {
    const f = new Fixture();
    const first = f.placeBet('alice', 600);
    f.placeBet('alice', 400); // balance 0: the retry would not be affordable as a new bet
    const retry = { ...first.body, request_uuid: f.ids.req() };
    f.expect(bet, retry, first.response);
    assert.equal(first.response, okResponse('alice', first.body.request_uuid as string, START_UNITS - 600));
    assert.is(f.balanceOf('alice'), 0, 'a replay moves no money');
  });

  test('§4.5 a conflicting duplicate is RS_ERROR_DUPLICATE_TRANSACTION, before the currency and funds checks', () => {
    const f = new Fixture();
    const first = f.placeBet('alice', 10);
    const req = f.ids.req();
    f.expect(bet, { ...first.body, request_uuid: req, currency: 'EUR' }, errorResponse('alice', RS_ERROR_DUPLICATE_TRANSACTION, req));
    f.expect(bet, { ...first.body, request_uuid: req, amount: MAX }, errorResponse('alice', RS_ERROR_DUPLICATE_TRANSACTION, req));
  });

  test('§4.6 a bet or win in another currency is RS_ERROR_WRONG_CURRENCY, before funds and the reference checks', () => {
    const f = new Fixture();
    const round = f.placeBet('alice', 0).tx;
    const req = f.ids.req();
    for (const currency of ['EUR', 'usd', 'USD ', '']) {
      f.expect(bet, betBody('alice', f.ids.tx(), MAX, req, currency), errorResponse('alice', RS_ERROR_WRONG_CURRENCY, req));
      f.expect(win, winBody('alice', f.ids.tx(), round, 1, req, currency), errorResponse('alice', RS_ERROR_WRONG_CURRENCY, req));
      f.expect(win, winBody('alice', f.ids.tx(), uuidOf(999, 1), 1, req, currency), errorResponse('alice', RS_ERROR_WRONG_CURRENCY, req));
    }
  });

  test('§4.7 a bet above the balance is RS_ERROR_NOT_ENOUGH_MONEY with the current balance and currency', () => {
    const f = new Fixture(['alice'], { currency: 'EUR' });
    f.placeBet('alice', 250, 'EUR');
    const req = f.ids.req();
    f.expect(bet, betBody('alice', f.ids.tx(), START_UNITS - 249, req, 'EUR'), notEnoughMoney('alice', req, START_UNITS - 250, 'EUR'));
  });

  test('§4.8 an applied bet, win and rollback answer RS_OK with the balance after the change', () => {
    const f = new Fixture();
    const r1 = f.ids.req(); const t1 = f.ids.tx();
    assert.equal(bet(f.wallet, betBody('alice', t1, 100, r1)), okResponse('alice', r1, 900));
    const r2 = f.ids.req();
    assert.equal(win(f.wallet, winBody('alice', f.ids.tx(), t1, 250, r2)), okResponse('alice', r2, 1150));
    const t3 = f.ids.tx();
    bet(f.wallet, betBody('alice', t3, 50, f.ids.req()));
    const r4 = f.ids.req();
    assert.equal(rollback(f.wallet, rollbackBody('alice', f.ids.tx(), t3, r4)), okResponse('alice', r4, 1150));
    assert.is(f.balanceOf('bob'), START_UNITS, 'other users untouched');
  });

  // §5 Idempotency -----------------------------------------------------------------

  test('§5 duplicates of a bet, a win and a rollback replay the original response, including the original request_uuid', () => {
    const f = new Fixture();
    const placed = f.placeBet('alice', 100);
    const winBodyA = winBody('alice', f.ids.tx(), placed.tx, 40, f.ids.req());
    const winResponse = win(f.wallet, winBodyA);
    const other = f.placeBet('alice', 10);
    const rb = rollbackBody('alice', f.ids.tx(), other.tx, f.ids.req());
    const rbResponse = rollback(f.wallet, rb);
    f.placeBet('alice', 1); // the balance moves on
    for (let round = 0; round < 2; round++) {
      f.expect(bet, { ...placed.body, request_uuid: f.ids.req() }, placed.response);
      f.expect(win, { ...winBodyA, request_uuid: f.ids.req() }, winResponse);
      f.expect(rollback, { ...rb, request_uuid: f.ids.req() }, rbResponse);
    }
    assert.is(f.balanceOf('alice'), START_UNITS - 100 + 40 - 1);
  });

  test('§5 same parameters: key order is free at every level, -0 equals 0, NaN equals NaN', () => {
    const f = new Fixture();
    const tx = f.ids.tx();
    const req = f.ids.req();
    const original = bet(f.wallet, { user: 'alice', transaction_uuid: tx, request_uuid: req, currency: 'USD', amount: 0, meta: { a: 1, b: { x: [1, { p: 0, q: NaN }], y: 2 } }, n: NaN });
    assert.equal(original, okResponse('alice', req, START_UNITS));
    const reordered = { n: NaN, meta: { b: { y: 2, x: [1, { q: NaN, p: -0 }] }, a: 1 }, amount: -0, currency: 'USD', request_uuid: f.ids.req(), transaction_uuid: tx, user: 'alice' };
    f.expect(bet, reordered, original);
  });

  test('§5 different parameters are RS_ERROR_DUPLICATE_TRANSACTION: 1 vs "1", undefined vs absent, an extra key, array order, the kind', () => {
    const f = new Fixture();
    const tx = f.ids.tx();
    const body = { ...betBody('alice', tx, 5, f.ids.req()), game: 1, tags: ['a', 'b'], meta: { k: 1 } };
    const original = bet(f.wallet, body);
    assert.is(original.status, RS_OK);
    const req = f.ids.req();
    const conflicts: Body[] = [
      { ...body, request_uuid: req, game: '1' },
      { ...body, request_uuid: req, game: 1n },
      { ...body, request_uuid: req, extra: undefined },
      { ...body, request_uuid: req, extra: null },
      { ...body, request_uuid: req, tags: ['b', 'a'] },
      { ...body, request_uuid: req, tags: ['a', 'b', undefined] },
      { ...body, request_uuid: req, meta: { k: 1, j: undefined } },
      { ...body, request_uuid: req, meta: { k: [1] } },
      { ...body, request_uuid: req, amount: 6 },
    ];
    const { game: _removed, ...withoutGame } = body;
    conflicts.push({ ...withoutGame, request_uuid: req });
    for (const conflict of conflicts) f.expect(bet, conflict, errorResponse('alice', RS_ERROR_DUPLICATE_TRANSACTION, req));
    // The same uuid as a win or a rollback (other kind) conflicts too.
    f.expect(win, { ...body, request_uuid: req, reference_transaction_uuid: tx }, errorResponse('alice', RS_ERROR_DUPLICATE_TRANSACTION, req));
    f.expect(rollback, { ...body, request_uuid: req, reference_transaction_uuid: tx }, errorResponse('alice', RS_ERROR_DUPLICATE_TRANSACTION, req));
    f.expect(bet, { ...body, request_uuid: f.ids.req() }, original);
  });

  test('§5 only own enumerable string keys count: symbol keys and non-enumerable fields are ignored', () => {
    const f = new Fixture();
    const body = betBody('alice', f.ids.tx(), 5, f.ids.req());
    const original = bet(f.wallet, body);
    const withSymbol = { ...body, request_uuid: f.ids.req(), [Symbol('trace')]: 'ignored' };
    f.expect(bet, withSymbol, original);
    const withHidden = Object.defineProperty({ ...body, request_uuid: f.ids.req() }, 'hidden', { value: 1, enumerable: false });
    f.expect(bet, withHidden, original);
  });

  test('§5 the parameters are those at call time: mutating the body or the response afterwards changes nothing', () => {
    const f = new Fixture();
    const meta = { round: 1 };
    const body = { ...betBody('alice', f.ids.tx(), 5, f.ids.req()), meta };
    const original = bet(f.wallet, body);
    const kept = { ...original };
    (original as { balance?: number }).balance = -1;
    meta.round = 2;
    const req = f.ids.req();
    f.expect(bet, { ...body, request_uuid: req }, errorResponse('alice', RS_ERROR_DUPLICATE_TRANSACTION, req));
    f.expect(bet, { ...body, meta: { round: 1 }, request_uuid: f.ids.req() }, kept);
  });

  test('§5 a failed request leaves no trace: its uuid can be used again, with other or the same parameters', () => {
    const f = new Fixture();
    const bet0 = f.placeBet('alice', 0).tx;
    // Each failure, then a success with the same transaction_uuid.
    const tx1 = f.ids.tx(); const r1 = f.ids.req();
    f.expect(bet, betBody('alice', tx1, START_UNITS + 1, r1), notEnoughMoney('alice', r1, START_UNITS));
    f.expect(bet, betBody('alice', tx1, START_UNITS + 1, r1), notEnoughMoney('alice', r1, START_UNITS)); // same failure again, not a replay
    assert.equal(bet(f.wallet, betBody('alice', tx1, 1, r1)), okResponse('alice', r1, START_UNITS - 1));
    const tx2 = f.ids.tx(); const r2 = f.ids.req();
    f.expect(bet, betBody('alice', tx2, 1, r2, 'EUR'), errorResponse('alice', RS_ERROR_WRONG_CURRENCY, r2));
    assert.equal(bet(f.wallet, betBody('bob', tx2, 2, r2)), okResponse('bob', r2, START_UNITS - 2)); // other user, other amount
    const tx3 = f.ids.tx(); const r3 = f.ids.req();
    f.expect(win, winBody('alice', tx3, uuidOf(12345, 1), 5, r3), errorResponse('alice', RS_ERROR_TRANSACTION_DOES_NOT_EXIST, r3));
    assert.equal(win(f.wallet, winBody('alice', tx3, bet0, 5, r3)), okResponse('alice', r3, START_UNITS + 4));
    const tx4 = f.ids.tx(); const r4 = f.ids.req();
    f.expect(bet, betBody('nobody', tx4, 1, r4), errorResponse('nobody', RS_ERROR_UNKNOWN, r4));
    f.expect(bet, betBody('alice', tx4, 1.5, r4), errorResponse('alice', RS_ERROR_WRONG_TYPES, r4));
    f.expect(bet, betBody('alice', tx4, -3, r4), errorResponse('alice', RS_ERROR_UNKNOWN, r4));
    assert.equal(rollback(f.wallet, rollbackBody('alice', tx4, tx1, r4)), okResponse('alice', r4, START_UNITS + 5)); // as a rollback now
    // A failed bet, once affordable, succeeds with the very same body.
    const tx5 = f.ids.tx(); const r5 = f.ids.req();
    const big = betBody('bob', tx5, START_UNITS, r5);
    f.expect(bet, big, notEnoughMoney('bob', r5, START_UNITS - 2));
    win(f.wallet, winBody('bob', f.ids.tx(), tx2, 2, f.ids.req()));
    assert.equal(bet(f.wallet, big), okResponse('bob', r5, 0));
  });

  test('§5 a transaction_uuid is global: the same uuid for another user is a conflicting duplicate', () => {
    const f = new Fixture();
    const placed = f.placeBet('alice', 10);
    const req = f.ids.req();
    f.expect(bet, { ...placed.body, user: 'bob', request_uuid: req }, errorResponse('bob', RS_ERROR_DUPLICATE_TRANSACTION, req));
    f.expect(win, winBody('bob', placed.tx, placed.tx, 10, req), errorResponse('bob', RS_ERROR_DUPLICATE_TRANSACTION, req));
    assert.is(f.balanceOf('bob'), START_UNITS);
  });

  // §6 Rollback and win settlement --------------------------------------------------

  test('§6 a rollback refunds the bet and marks it rolled back; later wins and rollbacks of it are RS_ERROR_UNKNOWN', () => {
    const f = new Fixture();
    const placed = f.placeBet('alice', 300);
    const req = f.ids.req();
    const rb = rollbackBody('alice', f.ids.tx(), placed.tx, req);
    const refunded = rollback(f.wallet, rb);
    assert.equal(refunded, okResponse('alice', req, START_UNITS));
    const r2 = f.ids.req();
    f.expect(rollback, rollbackBody('alice', f.ids.tx(), placed.tx, r2), errorResponse('alice', RS_ERROR_UNKNOWN, r2)); // a second rollback
    f.expect(win, winBody('alice', f.ids.tx(), placed.tx, 5, r2), errorResponse('alice', RS_ERROR_UNKNOWN, r2));
    f.expect(rollback, { ...rb, request_uuid: f.ids.req() }, refunded); // its own uuid replays
  });

  test('§6 a rollback of a bet that has a win is RS_ERROR_UNKNOWN and changes nothing; a second win is RS_ERROR_UNKNOWN', () => {
    const f = new Fixture();
    const placed = f.placeBet('alice', 300);
    const wreq = f.ids.req();
    assert.equal(win(f.wallet, winBody('alice', f.ids.tx(), placed.tx, 0, wreq)), okResponse('alice', wreq, START_UNITS - 300));
    const req = f.ids.req();
    f.expect(rollback, rollbackBody('alice', f.ids.tx(), placed.tx, req), errorResponse('alice', RS_ERROR_UNKNOWN, req));
    f.expect(win, winBody('alice', f.ids.tx(), placed.tx, 50, req), errorResponse('alice', RS_ERROR_UNKNOWN, req));
  });

  test('§6 a rollback of an unknown bet is RS_ERROR_TRANSACTION_DOES_NOT_EXIST, and the bet is not blocked: it can arrive later', () => {
    const f = new Fixture();
    const betTx = f.ids.tx();
    const req = f.ids.req();
    const early = rollbackBody('alice', f.ids.tx(), betTx, req);
    f.expect(rollback, early, errorResponse('alice', RS_ERROR_TRANSACTION_DOES_NOT_EXIST, req));
    const breq = f.ids.req();
    assert.equal(bet(f.wallet, betBody('alice', betTx, 70, breq)), okResponse('alice', breq, START_UNITS - 70));
    assert.equal(rollback(f.wallet, early), okResponse('alice', req, START_UNITS)); // the failed rollback left no trace either
  });

  test('§6 win/rollback referencing anything but a committed bet of the same user is RS_ERROR_TRANSACTION_DOES_NOT_EXIST', () => {
    const f = new Fixture();
    const bobs = f.placeBet('bob', 10).tx;
    const alices = f.placeBet('alice', 10).tx;
    const aWin = f.ids.tx();
    win(f.wallet, winBody('alice', aWin, alices, 1, f.ids.req()));
    const other = f.placeBet('alice', 10).tx;
    const aRollback = f.ids.tx();
    rollback(f.wallet, rollbackBody('alice', aRollback, other, f.ids.req()));
    const failedBet = f.ids.tx();
    const freq = f.ids.req();
    f.expect(bet, betBody('alice', failedBet, MAX, freq), notEnoughMoney('alice', freq, START_UNITS - 9));
    const req = f.ids.req();
    for (const reference of [bobs, aWin, aRollback, failedBet, uuidOf(4242, 1)]) {
      f.expect(win, winBody('alice', f.ids.tx(), reference, 1, req), errorResponse('alice', RS_ERROR_TRANSACTION_DOES_NOT_EXIST, req));
      f.expect(rollback, rollbackBody('alice', f.ids.tx(), reference, req), errorResponse('alice', RS_ERROR_TRANSACTION_DOES_NOT_EXIST, req));
    }
    // A win or rollback referencing itself: not yet applied, so not a bet.
    const self = f.ids.tx();
    f.expect(win, winBody('alice', self, self, 1, req), errorResponse('alice', RS_ERROR_TRANSACTION_DOES_NOT_EXIST, req));
    // Bob's bet is still open for Bob.
    const breq = f.ids.req();
    assert.equal(win(f.wallet, winBody('bob', f.ids.tx(), bobs, 10, breq)), okResponse('bob', breq, START_UNITS));
  });

  // §7 Responses -------------------------------------------------------------------

  test('§7 responses have exactly the documented keys: five for RS_OK and NOT_ENOUGH_MONEY, three otherwise', () => {
    const f = new Fixture();
    const okKeys = Object.keys(bet(f.wallet, betBody('alice', f.ids.tx(), 1, f.ids.req()))).sort();
    assert.equal(okKeys, ['balance', 'currency', 'request_uuid', 'status', 'user']);
    const nemKeys = Object.keys(bet(f.wallet, betBody('alice', f.ids.tx(), MAX, f.ids.req()))).sort();
    assert.equal(nemKeys, ['balance', 'currency', 'request_uuid', 'status', 'user']);
    const errKeys = Object.keys(bet(f.wallet, betBody('alice', f.ids.tx(), 1, f.ids.req(), 'EUR'))).sort();
    assert.equal(errKeys, ['request_uuid', 'status', 'user']);
  });

  test('§7 balance answers RS_OK with currency and balance; unknown user RS_ERROR_UNKNOWN; non-string fields RS_ERROR_WRONG_TYPES', () => {
    const f = new Fixture();
    f.placeBet('alice', 1);
    f.expect(balance, { user: 'alice', request_uuid: 'any string at all' }, okResponse('alice', 'any string at all', START_UNITS - 1));
    f.expect(balance, { user: 'alice', request_uuid: '', extra: Symbol('ignored') }, okResponse('alice', '', START_UNITS - 1));
    f.expect(balance, { user: 'nobody', request_uuid: 'r' }, errorResponse('nobody', RS_ERROR_UNKNOWN, 'r'));
    f.expect(balance, { user: '', request_uuid: 'r' }, errorResponse('', RS_ERROR_UNKNOWN, 'r'));
    f.expect(balance, { user: 'alice', request_uuid: 5 }, errorResponse('alice', RS_ERROR_WRONG_TYPES, ''));
    f.expect(balance, { user: 5, request_uuid: 'r' }, errorResponse('', RS_ERROR_WRONG_TYPES, 'r'));
    f.expect(balance, { user: 'alice' }, errorResponse('alice', RS_ERROR_WRONG_TYPES, ''));
  });

  // §8 Full transaction table ---------------------------------------------------------

  test('§8 a full transaction table: new bets get RS_ERROR_UNKNOWN; the win or rollback of every open bet is still accepted; recorded ones replay or conflict', () => {
    // A budget of 6: two bets hold 2 units each (their entry and their settlement's reserve).
    const f = new Fixture(['alice', 'bob'], { maxTransactions: 6 });
    const first = f.placeBet('alice', 10);
    const second = f.placeBet('bob', 20);
    const third = f.placeBet('bob', 30);
    const req = f.ids.req();
    const fourth = betBody('alice', f.ids.tx(), 1, req);
    f.expect(bet, fourth, errorResponse('alice', RS_ERROR_UNKNOWN, req));
    f.expect(bet, fourth, errorResponse('alice', RS_ERROR_UNKNOWN, req)); // still refused, still no trace
    // Every open bet can still be settled: that room was held for it.
    const wreq = f.ids.req();
    const winOfFirst = winBody('alice', f.ids.tx(), first.tx, 5, wreq);
    const won = win(f.wallet, winOfFirst);
    assert.equal(won, okResponse('alice', wreq, START_UNITS - 5));
    const rreq = f.ids.req();
    assert.equal(rollback(f.wallet, rollbackBody('bob', f.ids.tx(), second.tx, rreq)), okResponse('bob', rreq, START_UNITS - 30));
    const wreq3 = f.ids.req();
    assert.equal(win(f.wallet, winBody('bob', f.ids.tx(), third.tx, 0, wreq3)), okResponse('bob', wreq3, START_UNITS - 30));
    // A reference to nothing is still "does not exist", and new bets are still refused.
    const dreq = f.ids.req();
    f.expect(win, winBody('bob', f.ids.tx(), f.ids.tx(), 5, dreq), errorResponse('bob', RS_ERROR_TRANSACTION_DOES_NOT_EXIST, dreq));
    f.expect(bet, fourth, errorResponse('alice', RS_ERROR_UNKNOWN, req));
    f.expect(bet, { ...first.body, request_uuid: f.ids.req() }, first.response);
    f.expect(bet, { ...second.body, request_uuid: f.ids.req() }, second.response);
    f.expect(win, { ...winOfFirst, request_uuid: f.ids.req() }, won);
    f.expect(bet, { ...second.body, amount: 21, request_uuid: req }, errorResponse('bob', RS_ERROR_DUPLICATE_TRANSACTION, req));
    assert.equal(f.balances(), { alice: START_UNITS - 5, bob: START_UNITS - 30 });
  });

  test('§8 maxTransactions applied transactions fit (bets and their settlements), also when a short-lived worker applied some, and failed requests use none', async () => {
    const TX_MAX = 1_000;
    const f = new Fixture(['alice'], { maxTransactions: TX_MAX, initialBalance: 1_000_000 });
    const body = betBody('alice', f.ids.tx(), 1, f.ids.req());
    const fromWorker = await runWorker<WalletResponse>({ role: ONE_BET_ROLE, handle: share(f.wallet), body } satisfies OneBetData);
    assert.is(fromWorker.status, RS_OK);
    const open = [body.transaction_uuid as string];
    let applied = 1;
    for (let attempt = 0; attempt < TX_MAX; attempt++) {
      // Failures in between use no room: not enough money, wrong currency, a reference to nothing.
      const poor = f.ids.req();
      f.expect(bet, betBody('alice', f.ids.tx(), 10_000_000, poor), notEnoughMoney('alice', poor, f.balanceOf('alice') as number));
      assert.is(bet(f.wallet, betBody('alice', f.ids.tx(), 1, f.ids.req(), 'EUR')).status, RS_ERROR_WRONG_CURRENCY);
      assert.is(win(f.wallet, winBody('alice', f.ids.tx(), f.ids.tx(), 1, f.ids.req())).status, RS_ERROR_TRANSACTION_DOES_NOT_EXIST);
      const tx = f.ids.tx();
      if (bet(f.wallet, betBody('alice', tx, 1, f.ids.req())).status !== RS_OK) break;
      open.push(tx);
      applied += 1;
    }
    assert.is(applied, TX_MAX / 2, `${applied} open bets fill a budget of ${TX_MAX}: each holds room for its settlement`);
    const req = f.ids.req();
    f.expect(bet, betBody('alice', f.ids.tx(), 1, req), errorResponse('alice', RS_ERROR_UNKNOWN, req));
    for (const bet_uuid of open) {
      assert.is(win(f.wallet, winBody('alice', f.ids.tx(), bet_uuid, 1, f.ids.req())).status, RS_OK);
      applied += 1;
    }
    assert.is(applied, TX_MAX, `applied ${applied} of maxTransactions ${TX_MAX}`);
    const more = f.ids.req();
    f.expect(bet, betBody('alice', f.ids.tx(), 1, more), errorResponse('alice', RS_ERROR_UNKNOWN, more));
  });
}

const role = isMainThread ? undefined : (workerData as { role?: string } | null)?.role;
if (role === VISIBILITY_ROLE) {
  visibilityWorker(workerData as VisibilityData);
} else if (role === ONE_BET_ROLE) {
  oneBetWorker(workerData as OneBetData);
} else {
  defineTests();
  test.run();
}
