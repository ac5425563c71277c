// Cost breakdown of one exwallet bet, from micro-benchmarks.
//
// The pipeline of src/wallet.ts `transact` is replayed stage by stage with
// the library's own internal functions (imported read-only through the
// exwallet/internal/* subpaths: the same modules as exwallet), cumulatively: stage k runs stages 1..k for every body. The cost of stage k
// is time(k) - time(k-1), in ns per bet, each on a fresh wallet (and fresh
// bodies where the stage stores transactions), best of a few rounds.
// Differences of noisy figures can come out slightly negative; they are
// reported as measured.
//
//   0 loop       fetch the pre-built body (the loop and its cache misses)
//   1 validate   plain-object check, field reads, typeof, parse 2 uuids into
//                scratch, safe-integer amount, currency compare
//   2 transfer   fingerprint fields (currency, game_code, round) as records
//                into scratch
//   3 user       user name -> slot (the thread's Map cache) and the user's
//                currency (per user; src/wallet.ts needs it for the records)
//   4 apply      the WASM call: fingerprint hash, idempotency probe, checks,
//                claim, balance compare-exchange, publish
//   5 response   the response object { user, status, request_uuid, currency, balance }
//   public bet() the real call, for comparison with stage 5: the difference
//                is what the replay misses (wallet checks, try/catch, dispatch)
//
// If an internal module changed shape, the suite reports why it could not run
// instead of failing the whole bench.

import { bet, detach, RS_OK, type Wallet } from 'exwallet';
import { Random } from '../tools/random.js';
import { bet_bodies, type BetBody } from './bodies.js';
import { exwallet_for } from './throughput.js';
import { collect_garbage, log } from './lib.js';

export interface BreakdownOptions {
  users: string[];
  calls: number;
  /** Rounds of all stages; each stage keeps its best round. */
  rounds: number;
  seed: number;
}

export interface BreakdownPart {
  stage: string;
  ns_per_bet: number;
  cumulative_ns: number;
}

export type BreakdownResult =
  | { calls: number; rounds: number; parts: BreakdownPart[]; public_bet_ns: number; sum_of_parts_ns: number; ok_apply: number; ok_public: number }
  | { error: string };

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Internals {
  Wallet: any;
  parse_uuid: (text: string, u32: Uint32Array, word_index: number) => boolean;
  is_plain_object: (value: unknown) => boolean;
  user_slot_of: (core: any, name: string) => number;
  L: any;
  KEY_GAME_CODE: number;
  KEY_ROUND: number;
}

async function load_internals(): Promise<Internals> {
  // Through the package's internal subpaths: the same module instances as
  // `exwallet` itself (a second copy would not know its Wallet objects).
  const from = (module: string) => import(`exwallet/internal/${module}`);
  const [wallet, uuid, encoder, users, layout] = await Promise.all([
    from('wallet'), from('uuid'), from('fingerprint_encoder'), from('users'), from('layout'),
  ]);
  const internals = {
    Wallet: wallet.Wallet, parse_uuid: uuid.parse_uuid, is_plain_object: encoder.is_plain_object,
    user_slot_of: users.user_slot_of, L: layout.L, KEY_GAME_CODE: encoder.KEY_GAME_CODE, KEY_ROUND: encoder.KEY_ROUND,
  };
  for (const [name, value] of Object.entries(internals)) if (value === undefined) throw new Error(`internal ${name} not found`);
  return internals;
}

let sink = 0;
let sink_object: unknown;

/** Stages 1..depth of the pipeline for every body; returns RS_OK-equivalents of apply. */
function pipeline(x: Internals, core: any, bodies: BetBody[], depth: number): number {
  const { parse_uuid, is_plain_object, user_slot_of, L, KEY_GAME_CODE, KEY_ROUND } = x;
  const u32: Uint32Array = core.u32;
  const f64: Float64Array = core.f64;
  const s: number = core.scratch_u32;
  const request_word = s + (L.S_REQUEST_UUID >> 2);
  const uuid_word = s + (L.S_UUID >> 2);
  const balance_index = core.scratch_f64 + (L.S_OUT_BALANCE >> 3);
  const records = core.records;
  const exports = core.exports;
  // Currencies are per user now: src/wallet.ts looks the user up first and
  // fingerprints `currency` against the user's own. The bench's users all
  // have the wallet's currency, so the transfer stage compares with it (one
  // string compare, as the real code does) and the user stage pays for the
  // slot lookup and the user's currency (core.currency_of_slot, cached).
  if (typeof core.currency_of_slot !== 'function' || typeof records.user_currency_field !== 'function' ||
    typeof records.known_string_field !== 'function') {
    throw new Error('per-user currency internals not found');
  }
  const wallet_currency: string = bodies.length > 0 ? core.currency_of_slot(user_slot_of(core, bodies[0].user)) : '';
  let ok_count = 0;
  for (let i = 0; i < bodies.length; i++) {
    const b = bodies[i] as unknown as Record<string, unknown>;
    if (depth === 0) {
      sink += (b.amount as number);
      continue;
    }
    // 1. validate
    if (!is_plain_object(b)) continue;
    const user_value = b.user;
    const request_value = b.request_uuid;
    const currency = b.currency;
    const transaction_value = b.transaction_uuid;
    const amount = b.amount;
    const ok =
      typeof user_value === 'string' &&
      typeof request_value === 'string' && parse_uuid(request_value, u32, request_word) &&
      typeof transaction_value === 'string' && parse_uuid(transaction_value, u32, uuid_word) &&
      typeof currency === 'string' && typeof amount === 'number' && Number.isSafeInteger(amount);
    if (!ok) continue;
    if (depth === 1) {
      sink += currency === wallet_currency ? 1 : 0;
      continue;
    }
    // 2. transfer the fingerprinted fields (as src/wallet.ts write_records
    // does for a bet: the user's currency as a mark, game_code and round
    // under their known keys, amount compared exactly and not a record)
    records.reset();
    for (const key in b) {
      switch (key) {
        case 'user':
        case 'transaction_uuid':
        case 'request_uuid':
        case 'amount':
          continue;
        case 'currency':
          if (currency === wallet_currency) records.user_currency_field();
          else records.other_currency_field();
          continue;
        case 'game_code':
        case 'round': {
          const value = b[key];
          if (typeof value === 'string') records.known_string_field(key === 'round' ? KEY_ROUND : KEY_GAME_CODE, value);
          else records.value_field(key, value);
          continue;
        }
      }
      const value = b[key];
      if (typeof value === 'string') records.string_field(key, value);
      else records.value_field(key, value);
    }
    if (depth === 2) {
      sink += records.bytes();
      continue;
    }
    // 3. user lookup, and the user's currency
    const user_slot = user_slot_of(core, user_value as string);
    if (user_slot < 0) continue;
    const user_currency: string = core.currency_of_slot(user_slot);
    if (depth === 3) {
      sink += user_slot + user_currency.length;
      continue;
    }
    // 4. the WASM call
    const currency_ok = currency === user_currency ? 1 : 0;
    const status = exports.apply(L.KIND_BET, user_slot, amount, currency_ok, records.bytes());
    if (status === L.ST_OK) ok_count++;
    if (depth === 4) continue;
    // 5. the response
    sink_object = { user: user_value, status: RS_OK, request_uuid: request_value, currency: user_currency, balance: f64[balance_index] };
  }
  return ok_count;
}

function public_loop(wallet: Wallet, bodies: BetBody[]): number {
  let ok = 0;
  for (let i = 0; i < bodies.length; i++) if (bet(wallet, bodies[i]).status === RS_OK) ok++;
  return ok;
}

function timed_public(users: string[], rng: Random, calls: number, warm_calls: number): { ns: number; ok: number } {
  const wallet = exwallet_for(users, { bets: warm_calls + calls });
  public_loop(wallet, bet_bodies(rng, users, warm_calls));
  const bodies = bet_bodies(rng, users, calls);
  collect_garbage();
  const started_ms = performance.now();
  const ok = public_loop(wallet, bodies);
  const ns = ((performance.now() - started_ms) * 1e6) / calls;
  detach(wallet);
  return { ns, ok };
}

export async function run_breakdown(options: BreakdownOptions): Promise<BreakdownResult> {
  let x: Internals;
  try {
    x = await load_internals();
  } catch (error) {
    return { error: `internal modules unavailable: ${String(error)}` };
  }
  const rng = new Random(options.seed, 9);
  const warm_calls = Math.min(20_000, options.calls);
  const shared_bodies = bet_bodies(rng, options.users, options.calls); // stages 0-3 change nothing: reusable
  const stage_names = ['loop', 'validate', 'transfer', 'user', 'apply', 'response'];
  // Each round times every stage once; the best of the rounds is kept, so a
  // burst of other load on the machine does not land in one stage's figure.
  const best = new Array<number>(stage_names.length + 1).fill(Infinity);
  let ok_apply = options.calls;
  let ok_public = options.calls;
  for (let round = 0; round < options.rounds; round++) {
    try {
      for (let depth = 0; depth < stage_names.length; depth++) {
        const stores = depth >= 4;
        const wallet = exwallet_for(options.users, { bets: warm_calls + options.calls });
        const core = x.Wallet.core_of(wallet);
        pipeline(x, core, bet_bodies(rng, options.users, warm_calls), depth); // warm-up
        const bodies = stores ? bet_bodies(rng, options.users, options.calls) : shared_bodies;
        collect_garbage();
        const started_ms = performance.now();
        const ok = pipeline(x, core, bodies, depth);
        best[depth] = Math.min(best[depth], ((performance.now() - started_ms) * 1e6) / options.calls);
        if (stores) ok_apply = Math.min(ok_apply, ok);
        detach(wallet);
      }
    } catch (error) {
      return { error: `stage replay failed (internals changed?): ${String(error)}` };
    }
    const public_run = timed_public(options.users, rng, options.calls, warm_calls);
    best[stage_names.length] = Math.min(best[stage_names.length], public_run.ns);
    ok_public = Math.min(ok_public, public_run.ok);
  }

  const cumulative = best.slice(0, stage_names.length);
  const public_bet_ns = best[stage_names.length];
  const round1 = (value: number) => Math.round(value * 10) / 10;
  const parts: BreakdownPart[] = stage_names.map((stage, k) => ({
    stage,
    ns_per_bet: round1(cumulative[k] - (k > 0 ? cumulative[k - 1] : 0)),
    cumulative_ns: round1(cumulative[k]),
  }));
  parts.push({ stage: 'public bet() - stage 5', ns_per_bet: round1(public_bet_ns - cumulative[cumulative.length - 1]), cumulative_ns: round1(public_bet_ns) });
  if (sink === -1) log(String(sink_object)); // keep the sinks observable
  return {
    calls: options.calls, rounds: options.rounds, parts, public_bet_ns: round1(public_bet_ns),
    sum_of_parts_ns: round1(cumulative[cumulative.length - 1]), ok_apply, ok_public,
  };
}
