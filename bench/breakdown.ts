// Cost breakdown of one exwallet bet, from micro-benchmarks.
//
// The pipeline of src/wallet.ts `transact` is run stage by stage with the
// library's own stage functions — validate, user_slot_of + currency_of_slot,
// write_records, apply_waiting, respond — imported read-only through the
// exwallet/internal/* subpaths (the same module instances as `exwallet`), not
// a restated copy: what is timed is the code bet() runs. Cumulatively: stage
// k runs stages 1..k for every body. The cost of stage k is time(k) -
// time(k-1), in ns per bet, each on a fresh wallet (and fresh bodies where
// the stage stores transactions), best of a few rounds. Differences of noisy
// figures can come out slightly negative; they are reported as measured.
//
//   0 loop       fetch the pre-built body (the loop and its cache misses)
//   1 validate   is_plain_object_safe, the user / request_uuid reads, and
//                validate(): field reads, typeof, parse 2 uuids into scratch,
//                safe-integer amount
//   2 user       user_slot_of (the thread's Map cache) and
//                core.currency_of_slot (currencies are per user)
//   3 records    write_records: the fingerprinted fields (currency as a
//                mark, game_code, round) as records into scratch
//   4 apply      apply_waiting: the WASM call (fingerprint hash, SipHash of
//                the uuid, idempotency probe, checks, claim, balance
//                compare-exchange, publish)
//   5 response   respond(): the response object
//   public bet() the real call, for comparison with stage 5: the difference
//                is what the stages leave out (Wallet.core_of, the call
//                generation, try/catch, the re-entrancy check, dispatch)
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
  is_plain_object_safe: (value: unknown) => boolean;
  validate: (core: any, kind: number, b: Record<string, unknown>, user_value: unknown, request_value: unknown) => boolean;
  fields: { amount_units: number; currency: unknown; reference: unknown };
  write_records: (core: any, kind: number, b: Record<string, unknown>, user_currency: string | undefined) => void;
  apply_waiting: (core: any, kind: number, user_slot: number, amount_units: number, currency_ok: number, records_bytes: number) => number;
  respond: (core: any, status: number, user: string, request_uuid: string, currency: string) => { status: string };
  user_slot_of: (core: any, name: string) => number;
  L: any;
}

async function load_internals(): Promise<Internals> {
  // Through the package's internal subpaths: the same module instances as
  // `exwallet` itself (a second copy would not know its Wallet objects).
  const from = (module: string) => import(`exwallet/internal/${module}`);
  const [wallet, users, layout] = await Promise.all([from('wallet'), from('users'), from('layout')]);
  const internals: Internals = {
    Wallet: wallet.Wallet, is_plain_object_safe: wallet.is_plain_object_safe, validate: wallet.validate,
    fields: wallet.fields, write_records: wallet.write_records, apply_waiting: wallet.apply_waiting,
    respond: wallet.respond, user_slot_of: users.user_slot_of, L: layout.L,
  };
  for (const [name, value] of Object.entries(internals)) if (value === undefined) throw new Error(`internal ${name} not found`);
  return internals;
}

let sink = 0;
let sink_object: unknown;

/** Stages 1..depth of the pipeline for every body; returns the RS_OK count of apply. */
function pipeline(x: Internals, core: any, bodies: BetBody[], depth: number): number {
  const { is_plain_object_safe, validate, fields, write_records, apply_waiting, respond, user_slot_of, L } = x;
  if (typeof core.currency_of_slot !== 'function' || typeof core.records?.bytes !== 'function') {
    throw new Error('per-user currency internals not found');
  }
  const KIND_BET: number = L.KIND_BET;
  let ok_count = 0;
  for (let i = 0; i < bodies.length; i++) {
    const b = bodies[i] as unknown as Record<string, unknown>;
    if (depth === 0) {
      sink += (b.amount as number);
      continue;
    }
    // 1. validate (as transact: shape, the two echoes, then validate())
    if (!is_plain_object_safe(b)) continue;
    const user_value = b.user;
    const request_value = b.request_uuid;
    if (!validate(core, KIND_BET, b, user_value, request_value)) continue;
    const user = user_value as string;
    if (depth === 1) {
      sink += fields.amount_units;
      continue;
    }
    // 2. user lookup, and the user's currency
    const user_slot = user_slot_of(core, user);
    if (user_slot < 0) continue;
    const user_currency: string = core.currency_of_slot(user_slot);
    if (depth === 2) {
      sink += user_slot + user_currency.length;
      continue;
    }
    // 3. the fingerprint records
    write_records(core, KIND_BET, b, user_currency);
    if (depth === 3) {
      sink += core.records.bytes();
      continue;
    }
    // 4. the WASM call
    const currency_ok = fields.currency === user_currency ? 1 : 0;
    const status = apply_waiting(core, KIND_BET, user_slot, fields.amount_units, currency_ok, core.records.bytes());
    if (status === L.ST_OK) ok_count++;
    if (depth === 4) continue;
    // 5. the response
    sink_object = respond(core, status, user, request_value as string, user_currency);
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
  const stage_names = ['loop', 'validate', 'user', 'records', 'apply', 'response'];
  // Each round times every stage once; the best of the rounds is kept, so a
  // burst of other load on the machine does not land in one stage's figure.
  const best = new Array<number>(stage_names.length + 1).fill(Infinity);
  let ok_apply = options.calls;
  let ok_public = options.calls;
  for (let round = 0; round < options.rounds; round++) {
    try {
      for (let depth = 0; depth < stage_names.length; depth++) {
        const stores = depth >= 4; // apply stores the bets: fresh bodies
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
