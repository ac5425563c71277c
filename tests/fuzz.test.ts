// Invariant: whatever value is put in whatever field (or given as the whole
// body), bet/win/rollback/balance never throw; a rejected request changes no
// balance and leaves no trace (its transaction_uuid can then be applied by a
// fresh request); and every response equals the reference model's whenever the
// model can judge the body (it declines only extra fields near the ~64 KiB
// size bound).
//
// Values: fc.anything (boxed values, dates, maps, sets, typed and sparse
// arrays, null prototypes, unicode), strings of any UTF-16 units (lone
// surrogates), huge strings (~100 KB), numbers at the edges, bigints, symbols,
// nesting at and past 32, `__proto__` / `constructor` keys, frozen objects,
// throwing getters, proxies with throwing traps, revoked proxies, cycles,
// class instances; bodies: any of those, or a valid body with fields
// overridden, deleted, frozen, behind a getter or a proxy.
//
// Sizes: EXWALLET_FUZZ_RUNS (default 1000) runs of up to 8 requests; seed
// EXWALLET_SEED (printed).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { start, detach, createUsers, RS_OK } from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';
import type { Wallet, WalletResponse } from 'exwallet';
import { ReferenceWallet, Unjudgeable } from './model.js';
import { uuidOf, nestedArrays, nestedObjects, withThrowingGetter, throwingProxy, type Body } from './bodies.js';

const RUNS = Number(process.env.EXWALLET_FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.EXWALLET_SEED ?? (Date.now() % 2 ** 31));
const MAX = Number.MAX_SAFE_INTEGER;
const USERS = ['ann', 'bob'];
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const START_UNITS = 1_000;
const POOL = Array.from({ length: 6 }, (_, index) => uuidOf(index, 0xd));
/** Applied before each run: POOL[0] a bet of ann's, POOL[1] a bet of bob's (so wins and rollbacks can succeed). */
const SEEDED_BETS: Array<[string, string, number]> = [['ann', POOL[0], 10], ['bob', POOL[1], 20]];

type Kind = 'bet' | 'win' | 'rollback' | 'balance';
const LIBRARY: Record<Kind, (wallet: Wallet, body: unknown) => WalletResponse> = { bet, win, rollback, balance };

// ---------------------------------------------------------------------------
// Values.

const HUGE_STRINGS = ['x'.repeat(100_000), '😀'.repeat(50_000), '\uD800'.repeat(100_000), 'y'.repeat(31_000), 'z'.repeat(40_000)];
const EDGE_NUMBERS = [0, -0, 1, -1, 2, MAX, MAX - 1, MAX + 1, -MAX, 2 ** 53 + 2, NaN, Infinity, -Infinity, 0.5, -1.5, Number.MIN_VALUE, Number.MAX_VALUE, 2 ** 31, 2 ** 32, -(2 ** 31)];
const VALID_LOOKING = ['USD', 'EUR', 'usd', 'ann', 'bob', 'Ann', '', ...POOL, POOL[0].toUpperCase(), 'ABCDEF00-0000-4000-8000-00000000000A'];

class Instance { field = 1; }

/** Values that must be made fresh for each case (they hold identity or state). */
const SPECIAL_VALUES: ReadonlyArray<() => unknown> = [
  () => nestedArrays(32), () => nestedArrays(33), () => nestedObjects(32), () => nestedObjects(33),
  () => JSON.parse('{"__proto__": {"x": 1}}'), () => JSON.parse('{"constructor": {"prototype": 1}}'), () => ({ constructor: 1 }),
  () => Object.freeze({ a: [1, 2], b: { c: 'd' } }), () => Object.create(null) as unknown,
  () => withThrowingGetter({}, 'g'), () => throwingProxy({ a: 1 }, ['ownKeys']), () => throwingProxy({ a: 1 }, ['getPrototypeOf']),
  () => throwingProxy({ a: 1 }, ['get']), () => throwingProxy([1, 2] as unknown as Body, ['get']), () => new Proxy({ a: 1 }, {}), () => new Proxy([1], {}),
  () => { const { proxy, revoke } = Proxy.revocable({}, {}); revoke(); return proxy; },
  () => { const cyclic: Body = {}; cyclic.self = cyclic; return cyclic; },
  () => new Instance(), () => () => 1, () => new Date(0), () => new Map([[1, 2]]), () => new Error('e'), () => new Array(2 ** 32 - 1),
  () => [, 1], () => Symbol('s'), () => Symbol.iterator, () => new Uint8Array(3), () => Object(1n) as unknown,
];

const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withTypedArray: true, withSparseArray: true, withUnicodeString: true }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.nat(HUGE_STRINGS.length - 1).map((index) => new Special(() => HUGE_STRINGS[index], `huge string ${index}`)) },
  { weight: 2, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 1, arbitrary: fc.bigInt() },
  { weight: 3, arbitrary: fc.constantFrom(...VALID_LOOKING) },
  { weight: 3, arbitrary: fc.nat(SPECIAL_VALUES.length - 1).map((index) => new Special(SPECIAL_VALUES[index], SPECIAL_VALUES[index].toString().slice(6, 70))) },
);

/** A value made only when the body is built: fast-check itself probes and
 *  prints generated values (e.g. with `in`), which a throwing proxy would not
 *  survive and a 100 KB string would flood. */
class Special {
  constructor(readonly make: () => unknown, readonly label: string) {}
  toJSON(): string { return `<${this.label}>`; }
  [fc.toStringMethod](): string { return `<${this.label}>`; }
}
const materialize = (value: unknown): unknown => (value instanceof Special ? value.make() : value);

const FIELD_KEYS = ['user', 'transaction_uuid', 'request_uuid', 'currency', 'amount', 'reference_transaction_uuid', '__proto__', 'constructor', 'extra', 'toString', 'hasOwnProperty'];
const anyKey = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELD_KEYS) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) });

// ---------------------------------------------------------------------------
// Bodies.

type Wrapper =
  | { type: 'none' } | { type: 'freeze' } | { type: 'null-prototype' } | { type: 'getter'; key: string }
  | { type: 'proxy'; traps: Array<keyof ProxyHandler<Body>> } | { type: 'whole'; value: unknown };

interface Case {
  kind: Kind;
  user: number; tx: number; reference: number; amount: number;
  edits: Array<{ mode: 'assign' | 'define' | 'delete'; key: string; value: unknown }>;
  wrapper: Wrapper;
}

const wrapper: fc.Arbitrary<Wrapper> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ type: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'freeze' as const }) },
  { weight: 1, arbitrary: fc.constant({ type: 'null-prototype' as const }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('getter' as const), key: fc.constantFrom(...FIELD_KEYS) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('proxy' as const),
      traps: fc.subarray(['get', 'ownKeys', 'getOwnPropertyDescriptor', 'getPrototypeOf', 'has'] as Array<keyof ProxyHandler<Body>>),
    }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('whole' as const), value: anyValue }) },
);

const fuzzCase: fc.Arbitrary<Case> = fc.record({
  kind: fc.constantFrom<Kind>('bet', 'win', 'rollback', 'balance'),
  user: fc.nat(2),
  tx: fc.nat(POOL.length), // POOL.length: a uuid never used before
  reference: fc.nat(POOL.length - 1),
  amount: fc.constantFrom(0, 1, 5, 2_000),
  edits: fc.array(
    fc.record({ mode: fc.constantFrom<'assign' | 'define' | 'delete'>('assign', 'define', 'define', 'delete'), key: anyKey, value: anyValue }),
    { minLength: 0, maxLength: 3 },
  ),
  wrapper,
});

function bodyOf(c: Case, fresh: () => string): unknown {
  if (c.wrapper.type === 'whole') return materialize(c.wrapper.value);
  const user = ['ann', 'bob', 'zed'][c.user];
  let body: Body;
  if (c.kind === 'balance') {
    body = { user, request_uuid: fresh() };
  } else {
    body = { user, transaction_uuid: c.tx < POOL.length ? POOL[c.tx] : fresh(), request_uuid: fresh() };
    if (c.kind !== 'rollback') Object.assign(body, { currency: 'USD', amount: c.amount });
    if (c.kind !== 'bet') body.reference_transaction_uuid = POOL[c.reference];
  }
  for (const edit of c.edits) {
    try {
      if (edit.mode === 'delete') delete body[edit.key];
      else if (edit.mode === 'assign') body[edit.key] = materialize(edit.value); // '__proto__' this way sets the prototype
      else Object.defineProperty(body, edit.key, { value: materialize(edit.value), enumerable: true, writable: true, configurable: true });
    } catch {
      // An edit the body refuses (e.g. a setter inherited from a revoked proxy set as its prototype): the body stays as it was.
    }
  }
  switch (c.wrapper.type) {
    case 'none': return body;
    case 'freeze': return Object.freeze(body);
    case 'null-prototype': return Object.assign(Object.create(null) as Body, body);
    case 'getter': return withThrowingGetter(body, c.wrapper.key);
    case 'proxy': return throwingProxy(body, c.wrapper.traps);
  }
}

/** A body whose `user` or `request_uuid` cannot be read (a throwing getter
 *  or proxy trap): the library then echoes "" for both, where §7 asks it to
 *  echo whichever of them is a string (a reported bug, pinned by the spec test
 *  "§4.2 when the user or request_uuid getter throws ..."). Here the echoes of
 *  such bodies are not compared, so that this one bug does not hide others;
 *  the status still is. */
function echoesUnreadable(body: unknown): boolean {
  for (const key of ['user', 'request_uuid']) {
    try {
      (body as Body)[key];
    } catch {
      return true;
    }
  }
  return false;
}

function describe(c: Case): string {
  try {
    return JSON.stringify(c, (_key, value: unknown) =>
      typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function' ? String(value) :
        typeof value === 'string' && value.length > 40 ? `<string of ${value.length}>` : value)?.slice(0, 600) ?? String(c);
  } catch {
    return `${c.kind} with an unprintable value`;
  }
}

function readQuietly(body: unknown, key: string): unknown {
  try {
    return (body as Body)[key];
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------

interface Tally { cases: number; judged: number; unjudged: number; knownDivergence: number; rejected: number; probes: number; statuses: Map<string, number> }

test('any value in any field: no throw, rejections leave no trace, responses equal the model\'s', () => {
  console.log(`  fuzz: seed ${SEED}, ${RUNS} runs of up to 8 requests (EXWALLET_SEED / EXWALLET_FUZZ_RUNS)`);
  const tally: Tally = { cases: 0, judged: 0, unjudged: 0, knownDivergence: 0, rejected: 0, probes: 0, statuses: new Map() };
  fc.assert(
    fc.property(fc.array(fuzzCase, { minLength: 1, maxLength: 8 }), (cases) => {
      const wallet = start({ maxUsers: 4, maxTransactions: 256, maxThreads: 1, initialBalance: START_UNITS });
      try {
        fuzzRun(wallet, cases, tally);
      } finally {
        detach(wallet); // the library holds every wallet of a thread until detach(): without it, thousands of runs exhaust the address space
      }
    }),
    { seed: SEED, numRuns: RUNS, includeErrorInReport: true },
  );
  const statuses = [...tally.statuses].sort().map(([status, count]) => `${status.replace('RS_ERROR_', '')}=${count}`).join(' ');
  console.log(`  fuzz: ${tally.cases} cases (${tally.judged} compared with the model, ${tally.unjudged} near the size bound not judged, ` +
    `${tally.knownDivergence} with unreadable echo fields); ${tally.rejected} rejected, ${tally.probes} uuid-reuse probes; ${statuses}`);
  assert.ok(tally.judged > tally.cases * 0.9, 'the model judged nearly every case');
});

/** One run: the seeded bets, then each case on the library and on the model. */
function fuzzRun(wallet: Wallet, cases: Case[], tally: Tally): void {
  const model = new ReferenceWallet({ maxUsers: 4, maxTransactions: 256, initialBalance: START_UNITS });
  createUsers(wallet, USERS);
  model.createUsers(USERS);
  let requests = 0;
  const fresh = () => uuidOf(++requests, 0xe);
  for (const [user, tx, amount] of SEEDED_BETS) {
    const body = { user, transaction_uuid: tx, request_uuid: fresh(), currency: 'USD', amount };
    assert.equal(bet(wallet, body), model.bet(body));
  }
  const balances = () => USERS.map((user) => balance(wallet, { user, request_uuid: 'b' }).balance);

  for (const c of cases) {
    const body = bodyOf(c, fresh);
    const before = balances();
    let actual: WalletResponse;
    try {
      actual = LIBRARY[c.kind](wallet, body);
    } catch (error) {
      assert.unreachable(`${c.kind} threw ${String(error)}`);
      return;
    }
    tally.cases += 1;
    tally.statuses.set(actual.status, (tally.statuses.get(actual.status) ?? 0) + 1);

    if (actual.status !== RS_OK) {
      tally.rejected += 1;
      assert.equal(balances(), before, 'a rejected request changes no balance');
    }

    let expected: WalletResponse;
    try {
      expected = (model[c.kind] as (body: unknown) => WalletResponse).call(model, body);
    } catch (error) {
      if (!(error instanceof Unjudgeable)) throw error;
      tally.unjudged += 1;
      return; // the model cannot follow the library past this request: end the run here
    }
    if (echoesUnreadable(body) && actual.status === expected.status) {
      tally.knownDivergence += 1;
      expected = { ...expected, user: actual.user, request_uuid: actual.request_uuid };
    }
    tally.judged += 1;
    assert.equal(actual, expected, `${c.kind} of ${describe(c)}`);

    // No trace: after a rejection, a fresh valid request can apply the same transaction_uuid.
    const tx = readQuietly(body, 'transaction_uuid');
    if (actual.status !== RS_OK && c.kind !== 'balance' && typeof tx === 'string' && CANONICAL_UUID.test(tx) && !model.isApplied(tx)) {
      tally.probes += 1;
      const probe = { user: 'ann', transaction_uuid: tx, request_uuid: fresh(), currency: 'USD', amount: 0, probe: tally.probes };
      const probed = bet(wallet, probe);
      assert.equal(probed, { user: 'ann', status: RS_OK, request_uuid: probe.request_uuid, currency: 'USD', balance: model.balanceOf('ann') });
      assert.equal(probed, model.bet(probe));
    }
    for (const user of USERS) assert.is(balance(wallet, { user, request_uuid: 'b' }).balance, model.balanceOf(user), `balance of ${user}`);
  }
}

test.run();
