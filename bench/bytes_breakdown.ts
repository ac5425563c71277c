// Suite `bytes_breakdown`: the cost of one betBytes() stage by stage, as
// breakdown.ts does for the object path.
//
// The pipeline of src/bytes.ts `transact_bytes` is replayed with the core's
// own exports, reached read-only through the exwallet/internal/* subpaths
// (the same module instances as `exwallet`): what is timed is the code
// betBytes() runs, not a restated copy. betBytes() makes ONE call into the
// core, transact_body (assembly/bytes_path.ts: parse_body, apply,
// respond_body inside WASM); the stages make them one at a time, so that each
// has its own figure, and the one-call replay beside them shows what the two
// extra crossings cost. Cumulatively:
// stage k runs stages 1..k for every body; the cost of stage k is time(k) -
// time(k-1) in ns per bet. Each round makes one fresh wallet for all stages
// (its budget covers every stage that stores; each of those has its own
// bodies, all new bets), warms every stage up, then times them in chunks,
// interleaved, the order rotating by one per chunk: a stage's figure is the
// median of its chunks over all rounds. On this shared 2-core VM, whose speed
// drifts by 2x within minutes, whole-stage runs one after the other (the
// object breakdown's method) put each stage in another minute and their
// differences came out negative as often as not; interleaved, every stage sees
// the same minutes and the same fill of the wallet. Differences can still come
// out slightly negative; they are reported as measured.
//
//   0 loop         fetch the prebuilt Buffer (the loop and its cache misses)
//   1 copy         core.u8.set(body, scratch + S_BODY): the body into this
//                  thread's scratch (one native copy)
//   2 parse_body   the core's parse_body(KIND_BET, length): JSON scan, the
//                  two uuids, the user's name -> slot in the shared user
//                  table, the amount, the fingerprint records
//   3 apply        the core's apply (fingerprint hash, SipHash of the uuid,
//                  idempotency probe, checks, claim, balance compare-
//                  exchange, publish), with parse_body's outputs from scratch
//   4 respond_body the core writes the answer's JSON at S_RECORDS
//   5 buffer       Buffer.allocUnsafe(length) + answer.set(u8.subarray(...)):
//                  the answer out of scratch, as transact_bytes does it
//   one call       copy + transact_body + buffer: betBytes()'s own pipeline
//                  (its difference from stage 5: two fewer JS -> WASM calls)
//   public betBytes() the real call, beside the one-call replay: the
//                  difference is what the replay leaves out (Wallet.core_of,
//                  the Uint8Array check, options, the call generation, the
//                  size and journal checks)
//
// Bodies are the `bytes` suite's: JSON.stringify of the 7-field bet, in Node
// pool Buffers, all built before timing. Every stage checks what it gets: a
// parse that falls back, an apply that is not ST_OK, or an answer without
// RS_OK at its place makes the stage's count short (reported as a problem).
// If an internal changed shape, the suite reports "unavailable" instead of
// failing the whole bench.

import { betBytes, detach, type Wallet } from 'exwallet';
import { bytes_fallbacks } from 'exwallet/testing';
import { Random } from '../tools/random.js';
import { bet_bodies } from './bodies.js';
import { exwallet_for } from './throughput.js';
import { collect_garbage, log } from './lib.js';

export interface BytesBreakdownOptions {
  users: string[];
  calls: number;
  rounds: number;
  seed: number;
}

export interface BytesBreakdownPart {
  stage: string;
  ns_per_bet: number;
  cumulative_ns: number;
  /** The 10th and 90th percentiles of the cumulative figure's chunks (the noise it was taken from). */
  cumulative_p10_ns: number;
  cumulative_p90_ns: number;
}

export type BytesBreakdownResult =
  | {
    calls: number; rounds: number;
    /** Bets per timed chunk, and chunks per stage (all rounds): each figure is the median over its chunks. */
    chunk: number; chunks: number;
    body_bytes_mean: number; parts: BytesBreakdownPart[]; public_ns: number; sum_of_parts_ns: number;
    /** copy + transact_body + buffer (betBytes()'s pipeline); null when the core has no transact_body. */
    one_call_ns: number | null;
    /** Over every timed call of every stage (must all be 0): bodies parse_body / transact_body refused (stages >= 2),
     *  bets not ST_OK (>= 3), answers without RS_OK at their place (5, one call), betBytes() answers without RS_OK,
     *  and the bodies betBytes() sent to the JSON.parse fallback. */
    not_parsed: number; not_applied: number; not_answered: number; public_not_ok: number; public_fallbacks: number;
  }
  | { error: string };

export const BYTES_STAGES = ['loop', 'copy', 'parse_body', 'apply', 'respond_body', 'buffer'] as const;

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Internals {
  Wallet: { core_of(wallet: unknown): any };
  L: any;
}

async function load_internals(): Promise<Internals> {
  const from = (module: string) => import(`exwallet/internal/${module}`);
  const [wallet, layout] = await Promise.all([from('wallet'), from('layout')]);
  const internals: Internals = { Wallet: wallet.Wallet, L: layout.L };
  for (const [name, value] of Object.entries(internals)) if (value === undefined) throw new Error(`internal ${name} not found`);
  for (const name of ['S_BODY', 'S_BODY_MAX_BYTES', 'S_RECORDS', 'S_BODY_USER_SLOT', 'S_BODY_AMOUNT', 'S_BODY_FLAGS', 'KIND_BET', 'ST_OK']) {
    if (typeof internals.L[name] !== 'number') throw new Error(`layout constant L.${name} not found`);
  }
  return internals;
}

function check_core(core: any): void {
  for (const name of ['parse_body', 'respond_body', 'apply']) {
    if (typeof core.exports?.[name] !== 'function') throw new Error(`core export ${name} not found`);
  }
  for (const name of ['u8', 'i32', 'u32', 'f64']) if (!ArrayBuffer.isView(core[name])) throw new Error(`core view ${name} not found`);
  if (!Buffer.isBuffer(core.bytes) || typeof core.scratch !== 'number') throw new Error('core bytes / scratch not found');
  if (core.journal_on) throw new Error('the breakdown replays a memory wallet only');
}

/** Where the stages' results go, so that no stage's work is dead code. */
const sink = { value: 0, last: undefined as unknown };

interface StageCounts {
  parsed: number;
  applied: number;
  answered: number;
}

type StageLoop = (bodies: Buffer[], status_at: Uint16Array, from: number, to: number) => StageCounts;

// One stage's source: stages 1..depth of transact_bytes, nothing else (no
// depth test in the loop). `answer[at..at+5] == 'RS_OK"'` is the suite's
// status check (bytes.ts).
const STAGE_SOURCE = [
  /* 1 */ 'u8.set(body, body_at);',
  /* 2 */ 'const records_bytes = exports.parse_body(KIND_BET, length);\n      if (records_bytes < 0) continue;\n      parsed++;',
  /* 3 */ 'const status = exports.apply(KIND_BET, i32[slot_at], f64[amount_at], u32[flags_at], records_bytes);\n      if (status === ST_OK) applied++;',
  /* 4 */ 'const answer_bytes = exports.respond_body(status, 0);',
  /* 5 */ 'const answer = Buffer.allocUnsafe(answer_bytes);\n      answer.set(u8.subarray(records_at, records_at + answer_bytes));\n' +
          '      const at = status_at[i];\n' +
          '      if (answer[at] === 0x52 && answer[at + 1] === 0x53 && answer[at + 2] === 0x5f && answer[at + 3] === 0x4f && answer[at + 4] === 0x4b && answer[at + 5] === 0x22) answered++;\n' +
          '      last = answer;',
];
/** What each depth adds to the sink (its last result). */
const STAGE_SINK = ['length', 'u8[body_at]', 'records_bytes', 'status', 'answer_bytes', '0'];
/** Depth ONE_CALL: betBytes()'s pipeline, stages 2-4 as the one transact_body call. */
const ONE_CALL = BYTES_STAGES.length;
const ONE_CALL_SOURCE = [
  STAGE_SOURCE[0],
  'const answer_bytes = exports.transact_body(KIND_BET, length, 0);\n      if (answer_bytes < 0) continue;\n      parsed++;\n      applied++;',
  STAGE_SOURCE[4],
];

/** The loop of stages 1..depth, compiled afresh (new Function): its own type
 *  feedback, so the calls into this wallet's WASM instance are monomorphic,
 *  as in a server with one wallet; a shared loop would see a new instance per
 *  stage and go megamorphic. */
function stage_loop(x: Internals, core: any, depth: number): StageLoop {
  const stages = depth === ONE_CALL ? ONE_CALL_SOURCE : STAGE_SOURCE.slice(0, depth);
  const source = `
    const { L } = x;
    const KIND_BET = L.KIND_BET, ST_OK = L.ST_OK;
    const scratch = core.scratch;
    const body_at = scratch + L.S_BODY, records_at = scratch + L.S_RECORDS;
    const slot_at = (scratch + L.S_BODY_USER_SLOT) >>> 2, amount_at = (scratch + L.S_BODY_AMOUNT) / 8, flags_at = (scratch + L.S_BODY_FLAGS) >>> 2;
    const u8 = core.u8, i32 = core.i32, u32 = core.u32, f64 = core.f64, exports = core.exports;
    return function bytes_stage_${depth}(bodies, status_at, from, to) {
      let parsed = 0, applied = 0, answered = 0, total = 0, last;
      for (let i = from; i < to; i++) {
        const body = bodies[i];
        const length = body.length;
        ${stages.join('\n        ')}
        total += ${depth === ONE_CALL ? '0' : STAGE_SINK[depth]};
      }
      sink.value += total;
      sink.last = last;
      return { parsed, applied, answered };
    };`;
  return new Function('x', 'core', 'sink', 'Buffer', source)(x, core, sink, Buffer) as StageLoop;
}

/** The public call, compiled afresh like the stages (its own feedback). */
function public_loop(): (wallet: Wallet, bodies: Buffer[], status_at: Uint16Array, from: number, to: number) => StageCounts {
  return new Function('betBytes', `
    return function bytes_public(wallet, bodies, status_at, from, to) {
      let answered = 0;
      for (let i = from; i < to; i++) {
        const answer = betBytes(wallet, bodies[i]);
        const at = status_at[i];
        if (answer[at] === 0x52 && answer[at + 1] === 0x53 && answer[at + 2] === 0x5f && answer[at + 3] === 0x4f && answer[at + 4] === 0x4b && answer[at + 5] === 0x22) answered++;
      }
      return { parsed: answered, applied: answered, answered };
    };`)(betBytes);
}

interface Prepared {
  buffers: Buffer[];
  status_at: Uint16Array;
  bytes: number;
}

function prepare(rng: Random, users: string[], count: number): Prepared {
  const generated = bet_bodies(rng, users, count);
  const buffers = new Array<Buffer>(count);
  const status_at = new Uint16Array(count);
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    buffers[i] = Buffer.from(JSON.stringify(generated[i]), 'utf8');
    status_at[i] = 8 + Buffer.byteLength(JSON.stringify(generated[i].user), 'utf8') + 11;
    bytes += buffers[i].length;
  }
  return { buffers, status_at, bytes };
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low] + (sorted[Math.min(low + 1, sorted.length - 1)] - sorted[low]) * (at - low);
}

interface Setup {
  depth: number;
  run: (from: number, to: number) => StageCounts;
}

export async function run_bytes_breakdown(options: BytesBreakdownOptions): Promise<BytesBreakdownResult> {
  let x: Internals;
  try {
    x = await load_internals();
  } catch (error) {
    return { error: `internal modules unavailable: ${String(error)}` };
  }
  const rng = new Random(options.seed, 60);
  const warm_calls = Math.min(20_000, options.calls);
  const chunk = Math.max(1_000, Math.ceil(options.calls / 50));
  const PUBLIC = ONE_CALL + 1;
  const samples: number[][] = Array.from({ length: PUBLIC + 1 }, () => []);
  const bad = { parse: 0, apply: 0, answer: 0, public: 0 };
  let public_fallbacks = 0;
  let one_call = true;
  let body_bytes = 0;
  for (let round = 0; round < options.rounds; round++) {
    // One fresh wallet per round for every stage (one WASM instance, one
    // user table: hot, as in a server), its budget for every stage that
    // stores; those each have their own bodies, all new bets; stages 0-2
    // store nothing and read the public call's bodies.
    const storing = [3, 4, 5, ONE_CALL, PUBLIC];
    const wallet = exwallet_for(options.users, { bets: storing.length * (warm_calls + options.calls) });
    try {
      const core = x.Wallet.core_of(wallet);
      const setups: Setup[] = [];
      const fallbacks_before = bytes_fallbacks(wallet);
      try {
        check_core(core);
        if (typeof core.exports.transact_body !== 'function') one_call = false; // an older core: stages only
        const sets = new Map<number, { warm: Prepared; timed: Prepared }>();
        for (const depth of storing) {
          if (depth === ONE_CALL && !one_call) continue;
          const warm = prepare(rng, options.users, warm_calls);
          const timed = prepare(rng, options.users, options.calls);
          if (timed.buffers.some((b) => b.length > x.L.S_BODY_MAX_BYTES)) throw new Error('a body is larger than the scratch body area');
          sets.set(depth, { warm, timed });
        }
        body_bytes = sets.get(PUBLIC)!.timed.bytes;
        for (let depth = 0; depth <= PUBLIC; depth++) {
          if (depth === ONE_CALL && !one_call) continue;
          const { warm, timed } = sets.get(depth) ?? sets.get(PUBLIC)!;
          if (depth === PUBLIC) {
            const loop = public_loop();
            loop(wallet, warm.buffers, warm.status_at, 0, warm_calls);
            setups.push({ depth, run: (from, to) => loop(wallet, timed.buffers, timed.status_at, from, to) });
          } else {
            const loop = stage_loop(x, core, depth);
            loop(warm.buffers, warm.status_at, 0, warm_calls);
            setups.push({ depth, run: (from, to) => loop(timed.buffers, timed.status_at, from, to) });
          }
        }
      } catch (error) {
        return { error: `stage replay failed (internals changed?): ${String(error)}` };
      }
      collect_garbage();
      // Chunks interleave the stages (the order rotates by one each chunk):
      // a burst of other load on this shared machine lands on every stage
      // alike, instead of on the one that happened to run then; and every
      // stage sees the wallet as full as the others do.
      for (let c = 0, from = 0; from < options.calls; c++, from += chunk) {
        const to = Math.min(options.calls, from + chunk);
        const n = to - from;
        for (let k = 0; k < setups.length; k++) {
          const setup = setups[(k + c) % setups.length];
          const started_ms = performance.now();
          const counts = setup.run(from, to);
          samples[setup.depth].push(((performance.now() - started_ms) * 1e6) / n);
          if (setup.depth === PUBLIC) bad.public += n - counts.answered;
          else {
            if (setup.depth >= 2) bad.parse += n - counts.parsed;
            if (setup.depth >= 3) bad.apply += n - counts.applied;
            if (setup.depth >= 5) bad.answer += n - counts.answered;
          }
        }
      }
      public_fallbacks += bytes_fallbacks(wallet) - fallbacks_before;
    } finally {
      detach(wallet);
    }
    collect_garbage();
  }
  const figure = samples.map((values) => quantile(values, 0.5));
  const p10 = samples.map((values) => Math.round(quantile(values, 0.1) * 10) / 10);
  const p90 = samples.map((values) => Math.round(quantile(values, 0.9) * 10) / 10);
  const cumulative = figure.slice(0, BYTES_STAGES.length);
  const stage5 = cumulative[cumulative.length - 1];
  const public_ns = figure[PUBLIC];
  const one_call_ns = one_call ? figure[ONE_CALL] : null;
  const round1 = (value: number) => Math.round(value * 10) / 10;
  const spread = (depth: number) => ({ cumulative_p10_ns: p10[depth], cumulative_p90_ns: p90[depth] });
  const parts: BytesBreakdownPart[] = BYTES_STAGES.map((stage, k) => ({
    stage, ns_per_bet: round1(cumulative[k] - (k > 0 ? cumulative[k - 1] : 0)), cumulative_ns: round1(cumulative[k]), ...spread(k),
  }));
  if (one_call_ns !== null) {
    parts.push({ stage: 'one call (transact_body) - stage 5', ns_per_bet: round1(one_call_ns - stage5), cumulative_ns: round1(one_call_ns), ...spread(ONE_CALL) });
    parts.push({ stage: 'public betBytes() - one call', ns_per_bet: round1(public_ns - one_call_ns), cumulative_ns: round1(public_ns), ...spread(PUBLIC) });
  } else {
    parts.push({ stage: 'public betBytes() - stage 5', ns_per_bet: round1(public_ns - stage5), cumulative_ns: round1(public_ns), ...spread(PUBLIC) });
  }
  if (sink.value === -1) log(String(sink.last)); // keep the sinks observable
  return {
    calls: options.calls, rounds: options.rounds, chunk, chunks: samples[0].length, body_bytes_mean: round1(body_bytes / options.calls), parts,
    public_ns: round1(public_ns), sum_of_parts_ns: round1(stage5), one_call_ns: one_call_ns === null ? null : round1(one_call_ns),
    not_parsed: bad.parse, not_applied: bad.apply, not_answered: bad.answer, public_not_ok: bad.public, public_fallbacks,
  };
}
