// Suite `bytes` (issue #13): one thread, new bets on JSON bodies, the object
// path and the bytes path of exwallet against peer (a) on the same bodies.
//
// Every body is generated (bodies.ts), serialised once with JSON.stringify
// to a Buffer (what a socket delivers: UTF-8 JSON; small Buffers from Node's
// pool, consecutive in 8 KiB slabs), and JSON.parse'd from that Buffer's text
// (what a JS server hands to a wallet: flat strings, JSON.parse's hidden
// class) -- all before timing. Then five loops, one function each (a shared
// call site would go polymorphic and tax whichever ran second), each on a
// fresh wallet, warm-up bets first, then the timed bets:
//
//   object        exwallet   bet(wallet, object)                      object in, object out
//   bytes         exwallet   betBytes(wallet, buffer)                 Buffer in, Buffer out
//   map_objects   (a)        map.bet(object)                          its best case
//   map_bytes     (a)        Buffer.from(JSON.stringify(map.bet(JSON.parse(buffer.toString('utf8')))))
//                                                                     what a JS server does with bytes
//   object_bytes  exwallet   the same around bet(): exwallet's object path with the JSON work a server adds
//
// Statuses: an object's `status` field; for a Buffer answer, the 6 bytes
// `RS_OK"` at the offset where the status starts ('{"user":' + the user's
// JSON text + ',"status":"', precomputed per body before timing). An answer
// that does not match there is JSON.parse'd (counted as a slow check and
// reported: it would add a JSON.parse to the loop) and its status counted.
// betBytes' bodies must all stay on the core's parser: bytes_fallbacks() of
// the wallet is read after the warm-up and after the timed loop, and must be 0.
//
// Before the rounds, every path answers the first bodies on throwaway
// wallets and the answers must be the same JSON text (exwallet's object path,
// its bytes path and (a) give one contract).
//
// Rounds: fresh bodies and fresh wallets; the order of the five loops rotates
// by one each round (none always runs first after the body generation); each
// loop keeps its best round, every round is recorded.

import { bet, betBytes, betBytesInto, BYTES_ANSWER_FITS, detach, RS_OK, type BetRequest, type Wallet } from 'exwallet';
import { bytes_fallbacks } from 'exwallet/testing';
import type { MapWallet } from './peers/map_wallet.js';
import { Random } from '../tools/random.js';
import { bet_bodies } from './bodies.js';
import { exwallet_for, map_wallet_for } from './throughput.js';
import { collect_garbage, per_second, log, human } from './lib.js';

export const BYTES_IMPLS = ['bytes', 'bytes_into', 'object', 'object_bytes', 'map_objects', 'map_bytes'] as const;
export type BytesImpl = (typeof BYTES_IMPLS)[number];

export const BYTES_IMPL_LABELS: Record<BytesImpl, string> = {
  bytes: 'exwallet betBytes(Buffer)',
  bytes_into: 'exwallet betBytesInto(Buffer, out)',
  object: 'exwallet bet(JSON.parse\'d object)',
  object_bytes: 'exwallet bet() + JSON.parse/stringify',
  map_objects: '(a) map_wallet on objects',
  map_bytes: '(a) map_wallet + JSON.parse/stringify',
};

export interface BytesLoop {
  impl: BytesImpl;
  calls: number;
  ok: number;
  first_failure: string;
  elapsed_ms: number;
  calls_per_s: number;
  ns_per_call: number;
  /** Buffer answers whose status was not at its expected offset and were JSON.parse'd in the loop (should be 0). */
  slow_checks: number;
  /** betBytes only: bodies the wallet's thread sent to the JSON.parse fallback (must be 0). */
  fallbacks?: { warmup: number; timed: number };
}

export interface BytesRatios {
  bytes_over_map_objects: number | null;
  bytes_over_map_bytes: number | null;
  bytes_over_object: number | null;
  object_over_map_objects: number | null;
  /** exwallet's object path with the JSON work / (a) with the same: like for like from bytes to bytes. */
  object_bytes_over_map_bytes: number | null;
  /** What the bytes path saves over JSON.parse + bet() + JSON.stringify in JS. */
  bytes_over_object_bytes: number | null;
  /** betBytesInto (no answer Buffer) / (a) on objects, and / the object path. */
  bytes_into_over_map_objects: number | null;
  bytes_into_over_object: number | null;
}

export interface BytesParity {
  bodies: number;
  equal: number;
  fallbacks: number;
  first_difference: string;
}

export interface BytesResult {
  calls: number;
  warmup_calls: number;
  /** Mean length of a body (UTF-8 JSON, bytes). */
  body_bytes_mean: number;
  /** The best round of each loop. */
  best: Record<BytesImpl, BytesLoop>;
  /** calls/s of every loop in every round, the order the loops ran in, and the round's own ratios (its loops
   *  ran within a minute or two of each other: on a machine whose speed drifts, steadier than the best-of ratios). */
  rounds: Array<{ order: BytesImpl[]; ratios: BytesRatios } & Record<BytesImpl, number>>;
  ratios: BytesRatios;
  parity: BytesParity;
  problems: string[];
}

export interface BytesOptions {
  users: string[];
  calls: number;
  warmup_calls: number;
  rounds: number;
  seed: number;
  /** Bodies of the parity check (on throwaway wallets, before the rounds). */
  parity_bodies?: number;
}

/** The prebuilt bodies of one round, in both forms. */
interface Bodies {
  buffers: Buffer[];
  objects: BetRequest[];
  /** Where each answer's status text starts (bytes from its start). */
  status_at: Uint16Array;
  body_bytes_mean: number;
}

function prepare_bodies(rng: Random, users: string[], count: number): Bodies {
  const generated = bet_bodies(rng, users, count);
  const buffers = new Array<Buffer>(count);
  const objects = new Array<BetRequest>(count);
  const status_at = new Uint16Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const buffer = Buffer.from(JSON.stringify(generated[i]), 'utf8');
    buffers[i] = buffer;
    objects[i] = JSON.parse(buffer.toString('utf8')) as BetRequest;
    // '{"user":' (8 bytes) + the user's JSON text + ',"status":"' (11 bytes).
    status_at[i] = 8 + Buffer.byteLength(JSON.stringify(generated[i].user), 'utf8') + 11;
    total += buffer.length;
  }
  return { buffers, objects, status_at, body_bytes_mean: Math.round((total / count) * 10) / 10 };
}

// ---------------------------------------------------------------------------
// Status checks.

/** `RS_OK"` at `at` (the status text and its closing quote). */
function ok_at(answer: Buffer, at: number): boolean {
  return answer[at] === 0x52 && answer[at + 1] === 0x53 && answer[at + 2] === 0x5f && answer[at + 3] === 0x4f &&
    answer[at + 4] === 0x4b && answer[at + 5] === 0x22;
}

/** The status of an answer, the slow way (outside the expected layout). */
function status_of(answer: Buffer): string {
  try {
    const value = JSON.parse(answer.toString('utf8')) as { status?: unknown };
    return typeof value.status === 'string' ? value.status : `(no status: ${answer.toString('utf8').slice(0, 120)})`;
  } catch {
    return `(not JSON: ${answer.toString('utf8').slice(0, 120)})`;
  }
}

interface Counts {
  ok: number;
  slow: number;
  first_failure: string;
}

function check_slow(counts: Counts, answer: Buffer): void {
  counts.slow++;
  const status = status_of(answer);
  if (status === RS_OK) counts.ok++;
  else if (counts.first_failure === '') counts.first_failure = status;
}

function loop_result(impl: BytesImpl, calls: number, counts: Counts, elapsed_ms: number): BytesLoop {
  return {
    impl, calls, ok: counts.ok, first_failure: counts.first_failure, elapsed_ms: Math.round(elapsed_ms * 1000) / 1000,
    calls_per_s: per_second(counts.ok, elapsed_ms), ns_per_call: Math.round((elapsed_ms * 1e6 / calls) * 10) / 10, slow_checks: counts.slow,
  };
}

// ---------------------------------------------------------------------------
// The five loops. Only the loop is timed; each is its own function.

function loop_object(wallet: Wallet, b: Bodies, from: number, to: number): BytesLoop {
  const objects = b.objects;
  const counts: Counts = { ok: 0, slow: 0, first_failure: '' };
  let ok = 0;
  const started_ms = performance.now();
  for (let i = from; i < to; i++) {
    const response = bet(wallet, objects[i]);
    if (response.status === RS_OK) ok++;
    else if (counts.first_failure === '') counts.first_failure = response.status;
  }
  const elapsed_ms = performance.now() - started_ms;
  counts.ok = ok;
  return loop_result('object', to - from, counts, elapsed_ms);
}

function loop_bytes(wallet: Wallet, b: Bodies, from: number, to: number): BytesLoop {
  const buffers = b.buffers;
  const status_at = b.status_at;
  const counts: Counts = { ok: 0, slow: 0, first_failure: '' };
  let ok = 0;
  const started_ms = performance.now();
  for (let i = from; i < to; i++) {
    const answer = betBytes(wallet, buffers[i]);
    if (ok_at(answer, status_at[i])) ok++;
    else check_slow(counts, answer);
  }
  const elapsed_ms = performance.now() - started_ms;
  counts.ok += ok;
  return loop_result('bytes', to - from, counts, elapsed_ms);
}

/** The answer into one buffer the loop owns: no allocation per call. */
function loop_bytes_into(wallet: Wallet, b: Bodies, from: number, to: number): BytesLoop {
  const buffers = b.buffers;
  const status_at = b.status_at;
  const out = Buffer.alloc(BYTES_ANSWER_FITS);
  const counts: Counts = { ok: 0, slow: 0, first_failure: '' };
  let ok = 0;
  const started_ms = performance.now();
  for (let i = from; i < to; i++) {
    const length = betBytesInto(wallet, buffers[i], out);
    if (ok_at(out, status_at[i])) ok++;
    else check_slow(counts, out.subarray(0, Math.abs(length)));
  }
  const elapsed_ms = performance.now() - started_ms;
  counts.ok += ok;
  return loop_result('bytes_into', to - from, counts, elapsed_ms);
}

function loop_object_bytes(wallet: Wallet, b: Bodies, from: number, to: number): BytesLoop {
  const buffers = b.buffers;
  const status_at = b.status_at;
  const counts: Counts = { ok: 0, slow: 0, first_failure: '' };
  let ok = 0;
  const started_ms = performance.now();
  for (let i = from; i < to; i++) {
    const answer = Buffer.from(JSON.stringify(bet(wallet, JSON.parse(buffers[i].toString('utf8')) as BetRequest)), 'utf8');
    if (ok_at(answer, status_at[i])) ok++;
    else check_slow(counts, answer);
  }
  const elapsed_ms = performance.now() - started_ms;
  counts.ok += ok;
  return loop_result('object_bytes', to - from, counts, elapsed_ms);
}

function loop_map_objects(peer: MapWallet, b: Bodies, from: number, to: number): BytesLoop {
  const objects = b.objects;
  const counts: Counts = { ok: 0, slow: 0, first_failure: '' };
  let ok = 0;
  const started_ms = performance.now();
  for (let i = from; i < to; i++) {
    const response = peer.bet(objects[i]);
    if (response.status === RS_OK) ok++;
    else if (counts.first_failure === '') counts.first_failure = response.status;
  }
  const elapsed_ms = performance.now() - started_ms;
  counts.ok = ok;
  return loop_result('map_objects', to - from, counts, elapsed_ms);
}

function loop_map_bytes(peer: MapWallet, b: Bodies, from: number, to: number): BytesLoop {
  const buffers = b.buffers;
  const status_at = b.status_at;
  const counts: Counts = { ok: 0, slow: 0, first_failure: '' };
  let ok = 0;
  const started_ms = performance.now();
  for (let i = from; i < to; i++) {
    const answer = Buffer.from(JSON.stringify(peer.bet(JSON.parse(buffers[i].toString('utf8')))), 'utf8');
    if (ok_at(answer, status_at[i])) ok++;
    else check_slow(counts, answer);
  }
  const elapsed_ms = performance.now() - started_ms;
  counts.ok += ok;
  return loop_result('map_bytes', to - from, counts, elapsed_ms);
}

/** One loop on a fresh wallet: warm-up bets [0, warmup), timed [warmup, total). */
function run_loop(impl: BytesImpl, options: BytesOptions, b: Bodies): BytesLoop {
  const warm = options.warmup_calls;
  const total = warm + options.calls;
  if (impl === 'map_objects' || impl === 'map_bytes') {
    const peer = map_wallet_for(options.users, total + 1024);
    const loop = impl === 'map_objects' ? loop_map_objects : loop_map_bytes;
    loop(peer, b, 0, warm);
    return loop(peer, b, warm, total);
  }
  const wallet = exwallet_for(options.users, { bets: total });
  try {
    if (impl === 'object') {
      loop_object(wallet, b, 0, warm);
      return loop_object(wallet, b, warm, total);
    }
    if (impl === 'object_bytes') {
      loop_object_bytes(wallet, b, 0, warm);
      return loop_object_bytes(wallet, b, warm, total);
    }
    const loop = impl === 'bytes_into' ? loop_bytes_into : loop_bytes;
    loop(wallet, b, 0, warm);
    const after_warmup = bytes_fallbacks(wallet);
    const result = loop(wallet, b, warm, total);
    result.fallbacks = { warmup: after_warmup, timed: bytes_fallbacks(wallet) - after_warmup };
    return result;
  } finally {
    detach(wallet);
  }
}

// ---------------------------------------------------------------------------
// Parity: the five paths answer the same bodies with the same JSON text.

function check_parity(users: string[], b: Bodies, count: number): BytesParity {
  const n = Math.min(count, b.buffers.length);
  const ours = [0, 1, 2].map(() => exwallet_for(users, { bets: n }, false));
  const peers = [0, 1].map(() => map_wallet_for(users, n + 1024));
  const [w_object, w_bytes, w_object_bytes] = ours;
  const [m_objects, m_bytes] = peers;
  let equal = 0;
  let first_difference = '';
  try {
    for (let i = 0; i < n; i++) {
      const text = b.buffers[i].toString('utf8');
      const answers: Array<[BytesImpl, string]> = [
        ['bytes', betBytes(w_bytes, b.buffers[i]).toString('utf8')],
        ['object', JSON.stringify(bet(w_object, b.objects[i]))],
        ['object_bytes', Buffer.from(JSON.stringify(bet(w_object_bytes, JSON.parse(text) as BetRequest)), 'utf8').toString('utf8')],
        ['map_objects', JSON.stringify(m_objects.bet(b.objects[i]))],
        ['map_bytes', Buffer.from(JSON.stringify(m_bytes.bet(JSON.parse(text))), 'utf8').toString('utf8')],
      ];
      const differs = answers.find(([, answer]) => answer !== answers[0][1]);
      if (differs === undefined) equal++;
      else if (first_difference === '') {
        first_difference = `body ${i} ${text}: ${answers.map(([impl, answer]) => `${impl} ${answer}`).join(' | ')}`;
      }
    }
    return { bodies: n, equal, fallbacks: bytes_fallbacks(w_bytes), first_difference };
  } finally {
    for (const wallet of ours) detach(wallet);
  }
}

// ---------------------------------------------------------------------------

function ratio(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined || b === undefined || b === 0) return null;
  return Math.round((a / b) * 100) / 100;
}

function ratios_of(rate: (impl: BytesImpl) => number | undefined): BytesRatios {
  return {
    bytes_over_map_objects: ratio(rate('bytes'), rate('map_objects')),
    bytes_over_map_bytes: ratio(rate('bytes'), rate('map_bytes')),
    bytes_over_object: ratio(rate('bytes'), rate('object')),
    object_over_map_objects: ratio(rate('object'), rate('map_objects')),
    object_bytes_over_map_bytes: ratio(rate('object_bytes'), rate('map_bytes')),
    bytes_over_object_bytes: ratio(rate('bytes'), rate('object_bytes')),
    bytes_into_over_map_objects: ratio(rate('bytes_into'), rate('map_objects')),
    bytes_into_over_object: ratio(rate('bytes_into'), rate('object')),
  };
}

export function run_bytes(options: BytesOptions): BytesResult {
  const total = options.warmup_calls + options.calls;
  const problems: string[] = [];
  const best = {} as Record<BytesImpl, BytesLoop>;
  const rounds: BytesResult['rounds'] = [];
  let parity: BytesParity | undefined;
  let body_bytes_mean = 0;
  for (let round = 0; round < options.rounds; round++) {
    const b = prepare_bodies(new Random(options.seed, 40 + round), options.users, total);
    body_bytes_mean = b.body_bytes_mean;
    if (parity === undefined) {
      parity = check_parity(options.users, b, options.parity_bodies ?? Math.min(1000, total));
      if (parity.equal !== parity.bodies) problems.push(`bytes: the paths answered ${parity.bodies - parity.equal} of ${parity.bodies} bodies differently (first: ${parity.first_difference})`);
      if (parity.fallbacks !== 0) problems.push(`bytes: betBytes sent ${parity.fallbacks} of ${parity.bodies} parity bodies to the JSON.parse fallback`);
    }
    const order = BYTES_IMPLS.map((_, k) => BYTES_IMPLS[(k + round) % BYTES_IMPLS.length]);
    const row = { order } as BytesResult['rounds'][number];
    for (const impl of order) {
      collect_garbage();
      const loop = run_loop(impl, options, b);
      row[impl] = loop.calls_per_s;
      log(`  round ${round + 1} ${BYTES_IMPL_LABELS[impl].padEnd(40)} ${human(loop.calls_per_s).padStart(7)} bets/s, ${loop.ns_per_call} ns/call` +
        (loop.fallbacks ? `, fallbacks ${loop.fallbacks.warmup}+${loop.fallbacks.timed}` : ''));
      if (loop.ok !== loop.calls) problems.push(`bytes ${impl} round ${round + 1}: ${loop.calls - loop.ok} of ${loop.calls} calls were not RS_OK (first: ${loop.first_failure})`);
      if (loop.slow_checks !== 0) problems.push(`bytes ${impl} round ${round + 1}: ${loop.slow_checks} answers had no status at the expected offset (JSON.parse'd inside the timed loop)`);
      if (loop.fallbacks && loop.fallbacks.warmup + loop.fallbacks.timed !== 0) {
        problems.push(`bytes ${impl} round ${round + 1}: betBytes sent ${loop.fallbacks.warmup} warm-up and ${loop.fallbacks.timed} timed bodies to the JSON.parse fallback (not the bytes path)`);
      }
      if (best[impl] === undefined || loop.calls_per_s > best[impl].calls_per_s) best[impl] = loop;
    }
    row.ratios = ratios_of((impl) => row[impl]);
    rounds.push(row);
  }
  collect_garbage();
  return {
    calls: options.calls, warmup_calls: options.warmup_calls, body_bytes_mean, best, rounds,
    ratios: ratios_of((impl) => best[impl]?.calls_per_s),
    parity: parity ?? { bodies: 0, equal: 0, fallbacks: 0, first_difference: '' },
    problems,
  };
}
