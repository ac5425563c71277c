// warmup(): tier up this thread's code before it serves, on private scratch
// wallets (issue #13, "cold start"; the measurements are in bench/README.md,
// "Cold start").
//
// Why it is needed. A fresh thread runs bet() in V8's interpreter, and the
// core's functions in Liftoff (WASM's baseline tier), until each one is hot
// enough to be compiled by TurboFan in the background; on this 2-core VM that
// takes the first ~5-10k calls of a thread (6-40 µs a call instead of ~1 µs).
// Every JavaScript function of the call path is one module-level function
// shared by every wallet of the thread, and every wallet of the process runs
// the same compiled WASM module (V8 keeps one native module per wire bytes),
// so calls on ANY wallet tier them up: warmup() makes those calls on wallets
// of its own and closes them. The caller's wallets are never touched.
//
// What it takes care of, each found by --trace-opt --trace-deopt:
//
// - Every path a service will take (new bet, win, rollback, balance, replays,
//   and every error status, on the object path and on the bytes path), so that TurboFan's code has type feedback for
//   each branch: a branch first taken after optimisation is a deoptimisation
//   (back to the interpreter until it is compiled again, ~30 ms of compile
//   here) in the middle of serving.
// - The bodies' hidden class. TurboFan's code for bet() checks the map of the
//   body; a service's bodies come from JSON.parse, whose maps depend on the
//   keys and their order. The warm-up's bodies are JSON.parse'd from the
//   text of `samples` (default: Hub88's documented field order), so they share
//   the service's maps when the samples are the service's own bodies.
// - Two scratch wallets in turn. A call site that saw one wallet's WASM
//   function is compiled to call exactly that function: the first call on
//   another wallet would deoptimise (`wrong call target`). Two wallets make
//   the site polymorphic before it is compiled, so a third one, the caller's,
//   runs the same code.
// - Closing a throwaway wallet first. TurboFan treats an object field that was
//   never written after construction as a constant; close() writes
//   ThreadCore.closed, which would deoptimise bet()'s code when the scratch
//   wallets are closed at the end. Closed once before anything is compiled,
//   the field is no longer assumed constant.
// - The user cache. A thread resolves each user name once (then it is in the
//   thread's Map); a fresh thread misses on most of its first calls, so every
//   round of the warm-up is on a user its wallet has not seen yet.
//
// What it cannot do: fault in the pages of the caller's wallet (that is
// start()'s `prefault` option, which the first calls need as much), fill the
// caller's user cache, or warm a durable wallet's journal branch (a durable
// wallet's first call deoptimises once; see bench/README.md).
//
// Cost: one to a few hundred milliseconds of this thread, ~2 MiB of memory
// while it runs, no allocation afterwards. Run it once per thread, before the
// thread serves: after start() or attach(), before listen().

import { start, close, bet, win, rollback, balance, Wallet } from './wallet.js';
import { betBytes, winBytes, rollbackBytes } from './bytes.js';
import { createUsers } from './users.js';
import { is_well_formed } from './text.js';
import { range_error } from './errors.js';
import { L } from './layout.js';
import {
  RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_WRONG_TYPES, RS_ERROR_NOT_ENOUGH_MONEY, RS_ERROR_DUPLICATE_TRANSACTION,
  RS_ERROR_WRONG_CURRENCY, RS_ERROR_TRANSACTION_DOES_NOT_EXIST, type Status,
} from './statuses.js';
import type { BetRequest, WinRequest, RollbackRequest, BalanceRequest, WalletResponse } from './types.js';

export interface WarmupOptions {
  /** Bodies like the ones this thread will serve (their keys, in their
   *  order, and the kinds of their values). The warm-up makes its own bodies
   *  from their JSON text with other users, uuids and amounts; it never calls
   *  the wallet with a sample itself. Default: Hub88's documented bodies. */
  samples?: { bet?: BetRequest; win?: WinRequest; rollback?: RollbackRequest; balance?: BalanceRequest };
  /** Upper bound on the calls it makes (default 100_000, at least 10_000). */
  callsMax?: number;
  /** Upper bound on its time in milliseconds (default 1000), checked between generations (~4.4k calls each). */
  timeMaxMs?: number;
}

export interface WarmupReport {
  /** Wall time of warmup(), in milliseconds. */
  ms: number;
  /** Calls made on the scratch wallets. */
  calls: number;
  /** Scratch wallets started (and closed). */
  wallets: number;
  /** ns per call of each generation (a pair of fresh scratch wallets, ~4.4k calls), in order. */
  generationNsPerCall: number[];
  /** It stopped because the calls stopped getting faster (else: a bound). */
  settled: boolean;
}

/** Rounds per scratch wallet and generation: each round is on a user of its own. */
const ROUNDS_PER_WALLET = 256;
/** Users of the two scratch wallets of a generation. The thread's cache of
 *  user currencies is a JS array indexed by user slot, whose elements V8
 *  keeps fast (holey) when the slots come close together and as a dictionary
 *  when the first one is 1024 or more past its length, as in any wallet of
 *  over ~1k users: TurboFan's code for bet() must have seen both kinds, or the
 *  caller's wallet deoptimises it (`wrong map`). Wallet 0 uses slots 0-255 in
 *  a scattered order; wallet 1 starts at slot 1279 and goes down. */
const SCRATCH_USERS = [ROUNDS_PER_WALLET, 1280] as const;
/** Every ERROR_ROUND_EVERY-th round also takes every error path. */
const ERROR_ROUND_EVERY = 4;
const GENERATIONS_MIN = 5;
/** Settled: the last SETTLED_WINDOW generations are within SETTLED_RATIO of the best one. */
const SETTLED_WINDOW = 3;
const SETTLED_RATIO = 1.25;
const CALLS_MAX_DEFAULT = 100_000;
const CALLS_MAX_MIN = 10_000;
const TIME_MAX_MS_DEFAULT = 1000;
const SCRATCH_BALANCE_UNITS = 1_000_000_000_000;

// Hub88's documented bodies (Operator Wallet API), in its field order: the
// default shape of a service's JSON.parse'd requests.
const HUB88_BET = {
  user: 'u', transaction_uuid: 't', supplier_transaction_id: 's', token: 'k', supplier_user: 'u', round_closed: false,
  round: 'r', reward_uuid: null, request_uuid: 'q', is_free: false, is_aggregated: false, game_code: 'clt_dragonrising',
  currency: 'USD', bet: 'zero', amount: 100,
};
const HUB88_WIN = {
  user: 'u', transaction_uuid: 't', supplier_transaction_id: 's', token: 'k', supplier_user: 'u', round_closed: true,
  round: 'r', reward_uuid: null, request_uuid: 'q', reference_transaction_uuid: 'f', is_free: false, is_aggregated: false,
  game_code: 'clt_dragonrising', currency: 'USD', bet: 'zero', amount: 100,
};
const HUB88_ROLLBACK = {
  user: 'u', transaction_uuid: 't', supplier_transaction_id: 's', token: 'k', round_closed: true, round: 'r',
  request_uuid: 'q', reference_transaction_uuid: 'f', game_code: 'clt_dragonrising',
};
const HUB88_BALANCE = { user: 'u', request_uuid: 'q', token: 'k', game_code: 'clt_dragonrising' };

/** The fields warmup() sets in each body; every other field keeps its sample value. */
type Slot = 'user' | 'transaction_uuid' | 'request_uuid' | 'reference_transaction_uuid' | 'amount' | 'currency';
const SLOTS: readonly Slot[] = ['user', 'transaction_uuid', 'request_uuid', 'reference_transaction_uuid', 'amount', 'currency'];
const PLACEHOLDER = /"@@exwallet-warmup:(\w+)@@"/;

/** A sample's JSON text cut at the fields warmup() sets: bodies are made by
 *  joining the pieces with new values and JSON.parse'ing the text, so that
 *  they have the maps (and the flat strings) JSON.parse gives a service. */
class BodyMaker {
  private readonly pieces: string[];
  private readonly slots: Slot[];

  constructor(readonly kind: string, sample: object, required: readonly Slot[]) {
    if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) throw bad_sample(kind, 'is not an object');
    const copy: Record<string, unknown> = { ...(sample as Record<string, unknown>) };
    for (const slot of required) {
      const value = copy[slot];
      if (slot === 'amount' ? !Number.isSafeInteger(value) : typeof value !== 'string') {
        throw bad_sample(kind, `has no ${slot === 'amount' ? 'integer' : 'string'} ${slot}`);
      }
    }
    for (const slot of SLOTS) if (slot in copy) copy[slot] = `@@exwallet-warmup:${slot}@@`;
    let text: string;
    try {
      text = JSON.stringify(copy);
    } catch {
      throw bad_sample(kind, 'is not JSON data');
    }
    const split = text.split(PLACEHOLDER);
    this.pieces = split.filter((_, i) => i % 2 === 0);
    this.slots = split.filter((_, i) => i % 2 === 1) as Slot[];
    this.currency = typeof (sample as { currency?: unknown }).currency === 'string' ? (sample as { currency: string }).currency : undefined;
  }

  /** The sample's own currency, if it has one. */
  readonly currency: string | undefined;

  /** A body: the sample with `values` in its slots (a slot given no value is null). */
  make(values: Partial<Record<Slot, string | number>>): Record<string, unknown> {
    let text = this.pieces[0];
    for (let i = 0; i < this.slots.length; i++) text += JSON.stringify(values[this.slots[i]] ?? null) + this.pieces[i + 1];
    return JSON.parse(text) as Record<string, unknown>;
  }
}

function bad_sample(kind: string, why: string): Error {
  return range_error('EXWALLET_BAD_OPTION', `warmup option samples.${kind} ${why}`);
}

function integer_option(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw range_error('EXWALLET_BAD_OPTION', `warmup option ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

/** A canonical v4 uuid, distinct for every (round, n). */
function uuid_of(round: number, n: number): string {
  return `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${round.toString(16).padStart(12, '0')}`;
}

/** One call and the status it must answer. */
interface Call {
  op: (wallet: Wallet, body: never) => WalletResponse;
  body: Record<string, unknown>;
  expected: Status;
}

/** The bytes path's twin of each transaction op (balance has none: it is JSON.parse). */
const BYTES_OP = new Map<unknown, (wallet: Wallet, body: Uint8Array) => Buffer>([
  [bet, betBytes], [win, winBytes], [rollback, rollbackBytes],
]);

/** A call as run: on the object path, or on the bytes path with its body's
 *  JSON text and the status text its answer must carry. */
interface RunCall extends Call {
  bytes_op: ((wallet: Wallet, body: Uint8Array) => Buffer) | undefined;
  text: Buffer;
  expected_text: Buffer;
}

/** Every other call of a round goes to the bytes path (alternating by round
 *  too, so each path sees every kind of call and status). */
function run_calls(calls: Call[], round: number): RunCall[] {
  return calls.map((call, i) => ({
    ...call,
    bytes_op: (round + i) % 2 === 1 ? BYTES_OP.get(call.op) : undefined,
    text: Buffer.from(JSON.stringify(call.body), 'utf8'),
    expected_text: Buffer.from(`"status":"${call.expected}"`),
  }));
}

/** The calls of one round on user `user` (new on its wallet). Normal rounds:
 *  bet, its replay, the win that settles it, a second bet and its rollback,
 *  balance. Every ERROR_ROUND_EVERY-th round adds a conflicting bet, replays
 *  of the win and the rollback, a win of nothing, a second win of a won bet,
 *  a bet without the money, one in another currency, one of an unknown user,
 *  one with a malformed uuid, and the balance of an unknown user. */
function round_calls(makers: Makers, round: number, user: string, currency: string): Call[] {
  const amount = 1 + (round % 100);
  const t = (n: number) => uuid_of(round, n);
  const calls: Call[] = [
    { op: bet, body: makers.bet.make({ user, transaction_uuid: t(1), request_uuid: t(2), amount, currency }), expected: RS_OK },
    { op: bet, body: makers.bet.make({ user, transaction_uuid: t(1), request_uuid: t(3), amount, currency }), expected: RS_OK },
    { op: win, body: makers.win.make({ user, transaction_uuid: t(4), request_uuid: t(5), reference_transaction_uuid: t(1), amount: 2 * amount, currency }), expected: RS_OK },
    { op: bet, body: makers.bet.make({ user, transaction_uuid: t(6), request_uuid: t(7), amount, currency }), expected: RS_OK },
    { op: rollback, body: makers.rollback.make({ user, transaction_uuid: t(8), request_uuid: t(9), reference_transaction_uuid: t(6), currency }), expected: RS_OK },
    { op: balance, body: makers.balance.make({ user, request_uuid: t(10) }), expected: RS_OK },
  ];
  if (round % ERROR_ROUND_EVERY !== ERROR_ROUND_EVERY - 1) return calls;
  const other_currency = currency === 'XTS' ? 'XXX' : 'XTS';
  calls.push(
    { op: bet, body: makers.bet.make({ user, transaction_uuid: t(1), request_uuid: t(11), amount: amount + 1, currency }), expected: RS_ERROR_DUPLICATE_TRANSACTION },
    { op: win, body: makers.win.make({ user, transaction_uuid: t(4), request_uuid: t(12), reference_transaction_uuid: t(1), amount: 2 * amount, currency }), expected: RS_OK },
    { op: rollback, body: makers.rollback.make({ user, transaction_uuid: t(8), request_uuid: t(13), reference_transaction_uuid: t(6), currency }), expected: RS_OK },
    { op: win, body: makers.win.make({ user, transaction_uuid: t(14), request_uuid: t(15), reference_transaction_uuid: t(20), amount, currency }), expected: RS_ERROR_TRANSACTION_DOES_NOT_EXIST },
    { op: win, body: makers.win.make({ user, transaction_uuid: t(16), request_uuid: t(2), reference_transaction_uuid: t(1), amount, currency }), expected: RS_ERROR_UNKNOWN },
    { op: bet, body: makers.bet.make({ user: POOR_USER, transaction_uuid: t(17), request_uuid: t(2), amount, currency }), expected: RS_ERROR_NOT_ENOUGH_MONEY },
    { op: bet, body: makers.bet.make({ user, transaction_uuid: t(18), request_uuid: t(2), amount, currency: other_currency }), expected: RS_ERROR_WRONG_CURRENCY },
    { op: bet, body: makers.bet.make({ user: UNKNOWN_USER, transaction_uuid: t(19), request_uuid: t(2), amount, currency }), expected: RS_ERROR_UNKNOWN },
    { op: bet, body: makers.bet.make({ user, transaction_uuid: 'not-a-uuid', request_uuid: t(2), amount, currency }), expected: RS_ERROR_WRONG_TYPES },
    { op: balance, body: makers.balance.make({ user: UNKNOWN_USER, request_uuid: t(2) }), expected: RS_ERROR_UNKNOWN },
  );
  return calls;
}

/** The user of round `round` on a scratch wallet of `users_count` users (see SCRATCH_USERS). */
function user_index(users_count: number, round: number): number {
  const scattered = (round * 97) % ROUNDS_PER_WALLET; // 97 is odd: a permutation of 0..255
  return users_count === ROUNDS_PER_WALLET ? scattered : users_count - 1 - scattered;
}

const POOR_USER = 'exwallet-warmup-poor';
const UNKNOWN_USER = 'exwallet-warmup-nobody';

interface Makers {
  bet: BodyMaker;
  win: BodyMaker;
  rollback: BodyMaker;
  balance: BodyMaker;
}

/** Warm up this thread's code paths on private scratch wallets, then close
 *  them; returns what it did. Synchronous: it blocks this thread for its
 *  duration (one to a few hundred ms), so call it before serving. Touches
 *  no wallet of the caller and no state other threads can see. Throws
 *  RangeError (EXWALLET_BAD_OPTION) for a bad option or sample, and Error if a
 *  scratch wallet answers a call other than the contract says (a bug). */
export function warmup(options: WarmupOptions = {}): WarmupReport {
  const started_ms = performance.now();
  if (typeof options !== 'object' || options === null) throw range_error('EXWALLET_BAD_OPTION', 'warmup options must be an object');
  const calls_max = integer_option('callsMax', options.callsMax, CALLS_MAX_DEFAULT, CALLS_MAX_MIN);
  const time_max_ms = integer_option('timeMaxMs', options.timeMaxMs, TIME_MAX_MS_DEFAULT, 1);
  const samples = options.samples ?? {};
  const makers: Makers = {
    bet: new BodyMaker('bet', samples.bet ?? HUB88_BET, ['user', 'transaction_uuid', 'request_uuid', 'amount', 'currency']),
    win: new BodyMaker('win', samples.win ?? HUB88_WIN, ['user', 'transaction_uuid', 'request_uuid', 'reference_transaction_uuid', 'amount', 'currency']),
    rollback: new BodyMaker('rollback', samples.rollback ?? HUB88_ROLLBACK, ['user', 'transaction_uuid', 'request_uuid', 'reference_transaction_uuid']),
    balance: new BodyMaker('balance', samples.balance ?? HUB88_BALANCE, ['user', 'request_uuid']),
  };
  const currency = makers.bet.currency!;
  if (!is_well_formed(currency) || Buffer.byteLength(currency, 'utf8') > L.CURRENCY_MAX_BYTES || currency === '') {
    throw bad_sample('bet', 'has a currency no wallet can hold');
  }

  // Rounds are built once, before timing, and replayed on every generation's
  // pair of fresh wallets (a body that is new in one wallet is new in the next).
  const pair_specs = SCRATCH_USERS.map((users_count) => {
    const names = Array.from({ length: users_count }, (_, i) => `exwallet-warmup-${i}`);
    const rounds: RunCall[][] = [];
    for (let round = 0; round < ROUNDS_PER_WALLET; round++) {
      rounds.push(run_calls(round_calls(makers, round, names[user_index(users_count, round)], currency), round));
    }
    const options = {
      maxUsers: users_count + 1, maxThreads: 1, currency, initialBalance: SCRATCH_BALANCE_UNITS,
      maxTransactions: 4 * ROUNDS_PER_WALLET + 1024, // 2 bets a round, each 2 units; failures after a claim: the margin
    };
    return { options, entries: [...names, { user: POOR_USER, balance: 0 }], rounds };
  });
  const calls_per_generation = pair_specs.reduce((sum, spec) => sum + spec.rounds.reduce((n, calls) => n + calls.length, 0), 0);

  // See the header: close() once before anything is compiled.
  void close(start({ maxUsers: 1, maxTransactions: 1, maxThreads: 1 }));

  const report: WarmupReport = { ms: 0, calls: 0, wallets: 0, generationNsPerCall: [], settled: false };
  let best_ns = Infinity;
  while (report.calls + calls_per_generation <= calls_max && performance.now() - started_ms < time_max_ms) {
    const pair = pair_specs.map((spec) => {
      const wallet = start(spec.options);
      createUsers(wallet, spec.entries);
      // createUsers left every name in this thread's cache of the scratch
      // wallet; a thread that attaches to a wallet starts with none, and
      // resolves each user once (the path this makes every round take).
      Wallet.core_of(wallet).user_slots.clear();
      return wallet;
    });
    report.wallets += pair.length;
    const generation_started_ms = performance.now();
    try {
      for (let round = 0; round < ROUNDS_PER_WALLET; round++) {
        for (let w = 0; w < pair.length; w++) run_round(pair[w], pair_specs[w].rounds[round]);
      }
    } finally {
      for (const wallet of pair) void close(wallet); // memory wallets close at once; their memory is pooled
    }
    const ns_per_call = ((performance.now() - generation_started_ms) * 1e6) / calls_per_generation;
    report.calls += calls_per_generation;
    report.generationNsPerCall.push(Math.round(ns_per_call));
    best_ns = Math.min(best_ns, ns_per_call);
    const recent = report.generationNsPerCall.slice(-SETTLED_WINDOW);
    if (report.generationNsPerCall.length >= GENERATIONS_MIN && recent.every((ns) => ns <= best_ns * SETTLED_RATIO)) {
      report.settled = true;
      break;
    }
  }
  report.ms = Math.round((performance.now() - started_ms) * 10) / 10;
  return report;
}

function run_round(wallet: Wallet, calls: RunCall[]): void {
  for (let i = 0; i < calls.length; i++) {
    const call = calls[i];
    if (call.bytes_op !== undefined) {
      const answer = call.bytes_op(wallet, call.text);
      if (answer.indexOf(call.expected_text) < 0) {
        throw new Error(`exwallet warmup: a scratch wallet answered ${answer.toString('utf8', 0, 200)} where the contract says ${call.expected} (a bug: please report)`);
      }
      continue;
    }
    const status = call.op(wallet, call.body as never).status;
    if (status !== call.expected) {
      throw new Error(`exwallet warmup: a scratch wallet answered ${status} where the contract says ${call.expected} (a bug: please report)`);
    }
  }
}
