// Invariant: for any sequential history of bet/win/rollback/balance requests —
// valid, duplicate, conflicting, reused after a failure, malformed — every
// response of the library deep-equals the reference model's (tests/model.ts),
// and at the end every user's balance is the same in both.
//
// Histories are random but seeded (EXWALLET_SEED, printed), over three users
// with small balances (so RS_ERROR_NOT_ENOUGH_MONEY happens), amounts biased to
// the edges (0, 1, balance, balance + 1, MAX_SAFE_INTEGER), a small pool of
// transaction uuids (so duplicates and conflicts are frequent) and sometimes a
// tiny transaction table (so it fills). A canary runs the same property
// against a deliberately wrong model and requires fast-check to report it.
//
// Sizes: EXWALLET_PROPERTY_RUNS (default 200) runs of up to
// EXWALLET_PROPERTY_COMMANDS (default 60) commands.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { start, detach, createUsers, RS_OK } from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import type { Wallet, WalletResponse } from 'exwallet';
import { ReferenceWallet } from './model.js';
import { uuidOf, type Body } from './bodies.js';

const RUNS = Number(process.env.EXWALLET_PROPERTY_RUNS ?? 200);
const COMMANDS_MAX = Number(process.env.EXWALLET_PROPERTY_COMMANDS ?? 60);
const SEED = Number(process.env.EXWALLET_SEED ?? (Date.now() % 2 ** 31));
const MAX = Number.MAX_SAFE_INTEGER;

const USERS = ['ann', 'bob', 'Ann'];
/** What a request may name as its user: the three users, an unknown one, "", a number. */
const REQUEST_USERS: unknown[] = [...USERS, 'zed', '', 7];
const TX_POOL_SIZE = 10;
const txOf = (index: number) => uuidOf(index, 0xa);

type Kind = 'bet' | 'win' | 'rollback';
type AmountSpec = 'balance' | 'balance+1' | 'missing' | number | string | bigint;
type Malformation =
  | 'user-number' | 'tx-uppercase' | 'request-bad' | 'currency-missing' | 'reference-missing' | 'not-an-object'
  | 'symbol-extra' | 'rollback-currency-undefined' | 'array-body';
type Change = 'amount+1' | 'user' | 'extra-added' | 'extra-removed' | 'extra-changed' | 'currency' | 'kind' | 'reference';

type Command =
  | { op: 'fresh'; kind: Kind; user: number; tx: number; reference: number; amount: AmountSpec; wrongCurrency: boolean; extras: Array<[string, number]>; malformation: Malformation | null }
  | { op: 'repeat'; of: number; shuffle: number }
  | { op: 'mutate'; of: number; change: Change; pick: number }
  | { op: 'balance'; user: number };

/** Extra field values: data equal in different spellings (-0/0, key orders), and near-misses (1 vs "1"). */
const EXTRA_VALUES: ReadonlyArray<() => unknown> = [
  () => 1, () => '1', () => null, () => undefined, () => NaN, () => -0, () => 0, () => 10n,
  () => ({ a: 1, b: [1, { c: null }] }), () => ({ b: [1, { c: null }], a: 1 }), () => [1, 2], () => [2, 1], () => ({}), () => [],
];
const EXTRA_KEYS = ['game', 'round', 'meta', 'amount', 'currency', 'reference_transaction_uuid'];

const amountSpec: fc.Arbitrary<AmountSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<AmountSpec>(0, 1, 'balance', 'balance+1', MAX) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom<AmountSpec>(-1, -0, 1.5, NaN, '3', 3n, 'missing', MAX + 1, MAX - 1) },
);

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('fresh' as const),
      kind: fc.constantFrom<Kind>('bet', 'bet', 'win', 'rollback'),
      user: fc.oneof({ weight: 8, arbitrary: fc.nat(USERS.length - 1) }, { weight: 1, arbitrary: fc.nat(REQUEST_USERS.length - 1) }),
      tx: fc.oneof(fc.nat(TX_POOL_SIZE - 1), fc.constant(-1)), // -1: a uuid never used before
      reference: fc.oneof(fc.nat(TX_POOL_SIZE - 1), fc.constant(-1)), // -1: the latest bet sent
      amount: amountSpec,
      wrongCurrency: fc.integer({ min: 0, max: 9 }).map((roll) => roll === 0), // rare: it would mask later checks
      extras: fc.array(fc.tuple(fc.constantFrom(...EXTRA_KEYS), fc.nat(EXTRA_VALUES.length - 1)), { maxLength: 2 }),
      malformation: fc.oneof(
        { weight: 12, arbitrary: fc.constant(null) },
        {
          weight: 1,
          arbitrary: fc.constantFrom<Malformation>(
            'user-number', 'tx-uppercase', 'request-bad', 'currency-missing', 'reference-missing', 'not-an-object',
            'symbol-extra', 'rollback-currency-undefined', 'array-body',
          ),
        },
      ),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('repeat' as const), of: fc.nat(), shuffle: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('mutate' as const),
      of: fc.nat(),
      change: fc.constantFrom<Change>('amount+1', 'user', 'extra-added', 'extra-removed', 'extra-changed', 'currency', 'kind', 'reference'),
      pick: fc.nat(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('balance' as const), user: fc.nat(REQUEST_USERS.length - 1) }) },
);

interface Config { initialBalance: number; currency: string; maxTransactions: number }
const config: fc.Arbitrary<Config> = fc.record({
  initialBalance: fc.constantFrom(0, 1, 5, 20, 100, MAX - 20),
  currency: fc.constantFrom('USD', 'EUR'),
  maxTransactions: fc.oneof({ weight: 4, arbitrary: fc.constant(1_000) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 6 }) }),
});

/** Anything with the model's request methods: the model, or the canary's wrong variant. */
interface Oracle {
  createUsers(names: unknown): void;
  bet(body: unknown): WalletResponse; win(body: unknown): WalletResponse; rollback(body: unknown): WalletResponse;
  balance(body: unknown): WalletResponse; balanceOf(user: string): number | undefined;
}

const LIBRARY: Record<Kind | 'balance', (wallet: Wallet, body: unknown) => WalletResponse> = { bet, win, rollback, balance };

/** Keys in a different order (a seeded rotation and reversal): the same parameters. */
function shuffled(body: Body, shuffle: number): Body {
  const entries = Object.entries(body);
  const rotation = entries.length === 0 ? 0 : shuffle % entries.length;
  const reordered = [...entries.slice(rotation), ...entries.slice(0, rotation)];
  if (shuffle % 2 === 1) reordered.reverse();
  return Object.fromEntries(reordered);
}

interface Sent { kind: Kind; body: Body }

/** Turns commands into bodies; request uuids are fresh per request. */
class HistoryBuilder {
  readonly sent: Sent[] = [];
  private requests = 0;
  private freshTx = 0;
  private latestBet: unknown = txOf(0);
  constructor(private readonly oracle: Oracle, private readonly currency: string) {}

  private request(): string { return uuidOf(++this.requests, 0xb); }

  build(cmd: Command): { kind: Kind | 'balance'; body: unknown } | null {
    switch (cmd.op) {
      case 'balance':
        return { kind: 'balance', body: { user: REQUEST_USERS[cmd.user], request_uuid: this.request() } };
      case 'fresh':
        return this.fresh(cmd);
      case 'repeat': {
        if (this.sent.length === 0) return null;
        const earlier = this.sent[cmd.of % this.sent.length];
        const body = shuffled({ ...earlier.body, request_uuid: this.request() }, cmd.shuffle);
        return this.remember(earlier.kind, body);
      }
      case 'mutate': {
        if (this.sent.length === 0) return null;
        const earlier = this.sent[cmd.of % this.sent.length];
        return this.mutate(earlier, cmd.change, cmd.pick);
      }
    }
  }

  private remember(kind: Kind, body: Body): { kind: Kind; body: unknown } {
    this.sent.push({ kind, body });
    if (kind === 'bet') this.latestBet = body.transaction_uuid;
    return { kind, body };
  }

  private amountOf(spec: AmountSpec, user: unknown): unknown {
    const current = typeof user === 'string' ? this.oracle.balanceOf(user) ?? 0 : 0;
    if (spec === 'balance') return current;
    if (spec === 'balance+1') return current + 1;
    return spec;
  }

  private fresh(cmd: Extract<Command, { op: 'fresh' }>): { kind: Kind; body: unknown } {
    const user = REQUEST_USERS[cmd.user];
    const body: Body = {
      user,
      transaction_uuid: cmd.tx < 0 ? uuidOf(++this.freshTx, 0xc) : txOf(cmd.tx),
      request_uuid: this.request(),
    };
    if (cmd.kind !== 'rollback') {
      body.currency = cmd.wrongCurrency ? 'GBP' : this.currency;
      if (cmd.amount !== 'missing') body.amount = this.amountOf(cmd.amount, user);
    }
    if (cmd.kind !== 'bet') body.reference_transaction_uuid = cmd.reference < 0 ? this.latestBet : txOf(cmd.reference);
    for (const [key, value] of cmd.extras) {
      if (key in body && !(cmd.kind === 'rollback' && key === 'amount')) continue; // extras never replace a required field
      body[key] = EXTRA_VALUES[value]();
    }
    switch (cmd.malformation) {
      case null: break;
      case 'user-number': body.user = 42; break;
      case 'tx-uppercase': body.transaction_uuid = 'ABCDEF00-0000-4000-8000-00000000000A'; break;
      case 'request-bad': body.request_uuid = 'not a uuid'; break;
      case 'currency-missing': if (cmd.kind !== 'rollback') delete body.currency; break;
      case 'reference-missing': if (cmd.kind !== 'bet') delete body.reference_transaction_uuid; break;
      case 'symbol-extra': body.extra = Symbol('not data'); break;
      case 'rollback-currency-undefined': body.currency = undefined; break;
      case 'not-an-object': return { kind: cmd.kind, body: `${String(body.user)} ${String(body.transaction_uuid)}` };
      case 'array-body': return { kind: cmd.kind, body: Object.assign([], body) };
    }
    return this.remember(cmd.kind, body);
  }

  /** The same transaction_uuid with one thing different (a conflict, unless the original failed). */
  private mutate(earlier: Sent, change: Change, pick: number): { kind: Kind; body: unknown } {
    const body: Body = { ...earlier.body, request_uuid: this.request() };
    let kind = earlier.kind;
    switch (change) {
      case 'amount+1': body.amount = typeof body.amount === 'number' ? body.amount + 1 : 1; break;
      case 'user': body.user = USERS[(USERS.indexOf(body.user as string) + 1 + (pick % 2)) % USERS.length]; break;
      case 'extra-added': body[`extra${pick % 3}`] = EXTRA_VALUES[pick % EXTRA_VALUES.length](); break;
      case 'extra-removed': {
        const extra = Object.keys(body).find((key) => !['user', 'transaction_uuid', 'request_uuid', 'currency', 'amount', 'reference_transaction_uuid'].includes(key));
        if (extra !== undefined) delete body[extra];
        break;
      }
      case 'extra-changed': body.game = EXTRA_VALUES[pick % EXTRA_VALUES.length](); break;
      case 'currency': body.currency = body.currency === 'USD' ? 'EUR' : 'USD'; break;
      case 'kind': {
        kind = (['bet', 'win', 'rollback'] as const)[(['bet', 'win', 'rollback'].indexOf(kind) + 1 + (pick % 2)) % 3];
        if (kind !== 'bet' && body.reference_transaction_uuid === undefined) body.reference_transaction_uuid = txOf(pick % TX_POOL_SIZE);
        if (kind !== 'rollback' && body.currency === undefined) body.currency = 'USD';
        if (kind !== 'rollback' && body.amount === undefined) body.amount = 1;
        break;
      }
      case 'reference': body.reference_transaction_uuid = txOf(pick % TX_POOL_SIZE); break;
    }
    return this.remember(kind, body);
  }
}

interface Tally { commands: number; statuses: Map<string, number>; replays: number; fullTable: number }

/** Run `commands` on a fresh library wallet and on `oracle`; throws at the first difference. */
function runHistory(cfg: Config, commands: Command[], oracle: Oracle, tally?: Tally): void {
  const wallet = start({ maxUsers: 8, maxTransactions: cfg.maxTransactions, maxThreads: 1, initialBalance: cfg.initialBalance, currency: cfg.currency });
  try {
    compareHistory(wallet, cfg, commands, oracle, tally);
  } finally {
    detach(wallet); // the library holds every wallet of a thread until detach(): without it, ~12K runs exhaust the address space
  }
}

function compareHistory(wallet: Wallet, cfg: Config, commands: Command[], oracle: Oracle, tally?: Tally): void {
  createUsers(wallet, USERS);
  oracle.createUsers(USERS);
  const history = new HistoryBuilder(oracle, cfg.currency);
  for (let step = 0; step < commands.length; step++) {
    const built = history.build(commands[step]);
    if (built === null) continue;
    const expected = (oracle[built.kind] as (body: unknown) => WalletResponse).call(oracle, built.body);
    const actual = LIBRARY[built.kind](wallet, built.body);
    assert.equal(actual, expected, `step ${step}: ${built.kind} ${describe(built.body)}`);
    if (tally) {
      tally.commands += 1;
      tally.statuses.set(actual.status, (tally.statuses.get(actual.status) ?? 0) + 1);
      const sentRequest = (built.body as Body | null)?.request_uuid;
      if (actual.status === RS_OK && built.kind !== 'balance' && actual.request_uuid !== sentRequest) tally.replays += 1;
      if (cfg.maxTransactions < 10 && actual.status === 'RS_ERROR_UNKNOWN') tally.fullTable += 1;
    }
  }
  for (const user of USERS) {
    assert.is(balance(wallet, { user, request_uuid: 'end' }).balance, oracle.balanceOf(user), `final balance of ${user}`);
  }
}

function describe(body: unknown): string {
  try {
    return JSON.stringify(body, (_key, value: unknown) =>
      typeof value === 'bigint' ? `${value}n` : typeof value === 'symbol' ? String(value) : value === undefined ? '<undefined>' :
        typeof value === 'number' && !Number.isFinite(value) ? String(value) : Object.is(value, -0) ? '-0' : value);
  } catch {
    return String(body);
  }
}

const history = fc.tuple(config, fc.array(command, { minLength: 1, maxLength: COMMANDS_MAX, size: 'max' }));

test('the library answers every request of any sequential history exactly as the reference model does', () => {
  console.log(`  differential: seed ${SEED}, ${RUNS} runs of up to ${COMMANDS_MAX} commands (EXWALLET_SEED / EXWALLET_PROPERTY_RUNS)`);
  const tally: Tally = { commands: 0, statuses: new Map(), replays: 0, fullTable: 0 };
  fc.assert(
    fc.property(history, ([cfg, commands]) => {
      runHistory(cfg, commands, new ReferenceWallet(cfg), tally);
    }),
    { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
  );
  const statuses = [...tally.statuses].sort().map(([status, count]) => `${status.replace('RS_ERROR_', '')}=${count}`).join(' ');
  console.log(`  differential: ${tally.commands} commands; ${statuses}; replays=${tally.replays}; unknown-in-tiny-tables=${tally.fullTable}`);
  if (RUNS >= 100) {
    // The generator is not vacuous: every status of the contract was reached, and replays happened.
    for (const status of ['RS_OK', 'RS_ERROR_UNKNOWN', 'RS_ERROR_WRONG_TYPES', 'RS_ERROR_NOT_ENOUGH_MONEY', 'RS_ERROR_DUPLICATE_TRANSACTION', 'RS_ERROR_WRONG_CURRENCY', 'RS_ERROR_TRANSACTION_DOES_NOT_EXIST']) {
      assert.ok((tally.statuses.get(status) ?? 0) > 0, `${status} was reached`);
    }
    assert.ok(tally.replays > 0, 'duplicates replayed');
  }
});

/** createUsers inputs: names near the 255-byte bound in 1-4 byte characters, "", repeats, non-strings, lone surrogates. */
const nameArbitrary: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('ann', 'bob', 'Ann', '', 'e\u0301', '\u00e9', '__proto__', 'constructor') },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.constantFrom('a', 'é', '€', '😀'), fc.integer({ min: 60, max: 256 }), fc.constantFrom('', 'a', 'aa', 'aaa'))
      .map(([unit, count, tail]) => unit.repeat(count) + tail),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(7, null, undefined, 'lone\uD800', ['ann'], new String('ann')) },
);

test('createUsers: the library and the model throw the same error type and end with the same users', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.array(nameArbitrary, { maxLength: 6 }), { minLength: 1, maxLength: 5 }), (maxUsers, calls) => {
      const wallet = start({ maxUsers, maxTransactions: 4, maxThreads: 1 });
      const model = new ReferenceWallet({ maxUsers });
      try {
        const seen = new Set<string>();
        for (const names of calls) {
          const outcome = (action: () => void): string => {
            try { action(); return 'ok'; } catch (error) { return (error as Error).constructor.name; }
          };
          assert.is(outcome(() => createUsers(wallet, names as string[])), outcome(() => model.createUsers(names)), describe(names));
          for (const name of names) if (typeof name === 'string') seen.add(name);
        }
        for (const name of seen) {
          assert.equal(balance(wallet, { user: name, request_uuid: 'r' }), model.balance({ user: name, request_uuid: 'r' }), describe(name));
        }
      } finally {
        detach(wallet);
      }
    }),
    { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
  );
});

/** Canary 1, a wrong model: a bet of exactly the whole (non-zero) balance is refused. */
class OffByOneWallet extends ReferenceWallet {
  override bet(body: unknown): WalletResponse {
    const b = body as Body;
    const current = typeof b?.user === 'string' ? this.balanceOf(b.user) : undefined;
    const response = super.bet(body);
    const wasNew = response.status === RS_OK && response.request_uuid === b.request_uuid;
    if (wasNew && current !== undefined && current > 0 && b.amount === current) {
      return { user: response.user, status: 'RS_ERROR_NOT_ENOUGH_MONEY', request_uuid: response.request_uuid, currency: this.currency, balance: current };
    }
    return response;
  }
}

/** Canary 2, subtler: a duplicate replays the current balance instead of the original one. */
class ReplaysCurrentBalanceWallet extends ReferenceWallet {
  private replayed(body: unknown, response: WalletResponse): WalletResponse {
    const b = body as Body;
    if (response.status === RS_OK && response.request_uuid !== b.request_uuid) return { ...response, balance: this.balanceOf(response.user) };
    return response;
  }
  override bet(body: unknown): WalletResponse { return this.replayed(body, super.bet(body)); }
  override win(body: unknown): WalletResponse { return this.replayed(body, super.win(body)); }
  override rollback(body: unknown): WalletResponse { return this.replayed(body, super.rollback(body)); }
}

for (const [name, Wrong] of [['a bet of the whole balance refused', OffByOneWallet], ['replays with the current balance', ReplaysCurrentBalanceWallet]] as const) {
  test(`canary: the same property fails against a deliberately wrong model (${name})`, () => {
    const details = fc.check(
      fc.property(history, ([cfg, commands]) => {
        runHistory(cfg, commands, new Wrong(cfg));
      }),
      { seed: SEED, numRuns: Math.max(RUNS, 200) },
    );
    assert.ok(details.failed, 'fast-check reported the wrong model');
    assert.instance(details.errorInstance, assert.Assertion, 'by a differing response, not by a crash of the harness');
    console.log(`  canary (${name}): caught after ${details.numRuns} runs, shrunk to ${details.counterexample?.[0][1].length ?? '?'} commands`);
  });
}

test.run();
