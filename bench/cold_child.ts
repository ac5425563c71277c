// One sample of the cold-start suite (cold.ts): a FRESH process, or a fresh
// worker_thread in a fresh process, that times its first calls.
//
//   node out/bench/cold_child.js '{"impl":"exwallet","thread":"process","calls":200000,"seed":1,…}'
//
// What it does, in order (only step 5 is timed per chunk):
//   1. (thread "worker") the process's main thread starts the wallet, creates
//      the users and hands share(wallet) to one new worker, which does 2-5
//      (peer (a): makes its own MapWallet) and posts its result back for 6;
//      (thread "process") the main thread does everything itself;
//   2. starts the wallet (or attaches to it) — maxUsers 10k, maxTransactions
//      1M, memory only — and creates the users (exwallet); peer (a) makes
//      its MapWallet and users;
//   3. builds every body BEFORE timing, as a server gets them: JSON.parse'd
//      objects (flat strings, one hidden class per shape);
//   4. warmup "samples" / "default": calls warmup() and times it; then, for
//      every variant, a full GC (the body garbage is not charged to the loop)
//      and 100 ms idle (a service listens before its first request: V8's
//      background sweeping and compile jobs are done by then);
//   5. calls bet() on the bodies in order, reading process.hrtime.bigint()
//      every `chunk` calls into a Float64Array (one BigInt per chunk, no
//      other allocation but the responses), and the process's minor page
//      faults at each bucket end (after 1k, 10k, 100k calls);
//   6. prints one JSON line: the chunk end times, the status counts, the
//      warm-up's time and report.
//
// One loop function per implementation and one implementation per process:
// nothing the parent or another implementation ran has warmed V8 here.

import { Worker, isMainThread, workerData, parentPort } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { start, attach, share, createUsers, bet, betBytes, stats, close, warmup, RS_OK, type Wallet, type WalletHandle, type WarmupReport } from 'exwallet';
import { MapWallet } from './peers/map_wallet.js';
import { Random } from '../tools/random.js';
import { bet_bodies, user_names, CURRENCY, INITIAL_BALANCE_UNITS, type BetBody } from './bodies.js';

export type ColdImpl = 'exwallet' | 'map_wallet';
export type ColdThread = 'process' | 'worker';
/** exwallet only: no warm-up, warmup() with the traffic's own body as its
 *  sample, or warmup() with its default samples (Hub88's field order: not the
 *  traffic's hidden class). */
export type ColdWarmup = 'none' | 'samples' | 'default';

export interface ColdChildInput {
  impl: ColdImpl;
  thread: ColdThread;
  /** exwallet: start({ prefault }). */
  prefault: boolean;
  warmup: ColdWarmup;
  calls: number;
  chunk: number;
  users: number;
  users_max: number;
  tx_max: number;
  seed: number;
  /** 'json' (default): JSON.parse'd, as a server gets them; 'literal': bench/bodies.ts objects, user names shared with createUsers. */
  bodies?: 'json' | 'literal';
  /** exwallet: the bytes path, betBytes on each body's JSON text as a Buffer (as read from a socket). */
  bytes?: boolean;
  /** Idle milliseconds between the GC and the first timed call (default 100): a
   *  service listens before its first request, so V8's background work (GC
   *  sweeping, compile jobs still queued) is done by then. */
  settle_ms?: number;
}

export interface ColdChildOutput {
  impl: ColdImpl;
  thread: ColdThread;
  prefault: boolean;
  warmup_mode: ColdWarmup;
  calls: number;
  chunk: number;
  /** ns since the loop started at the end of each chunk (chunk_end_ns[i] covers calls [0, (i+1)·chunk)). */
  chunk_end_ns: number[];
  /** Minor page faults of the process before the loop and at the end of each bucket (after 1k, 10k, 100k, all calls). */
  faults: number[];
  /** The call counts `faults` were read at. */
  fault_marks: number[];
  ok: number;
  first_failure: string;
  start_ms: number;
  bodies_ms: number;
  warmup_ms: number | null;
  warmup: WarmupReport | null;
}

type Body = BetBody;

function flat_bodies(input: ColdChildInput, users: readonly string[]): Body[] {
  const bodies = bet_bodies(new Random(input.seed, 700), users, input.calls);
  if (input.bodies === 'literal') return bodies;
  // JSON.parse'd, as an HTTP server hands them over: every string flat, every
  // body of JSON.parse's hidden class for these keys in this order.
  return JSON.parse(JSON.stringify(bodies)) as Body[];
}

function wallet_options(input: ColdChildInput) {
  return { maxUsers: input.users_max, maxTransactions: input.tx_max, maxThreads: 16, initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY, prefault: input.prefault };
}


function collect_garbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('cold_child needs --expose-gc');
  gc();
  gc();
}

/** Bucket ends at which the page-fault count is read (a resourceUsage() call, between chunks). */
const FAULT_MARKS = [1_000, 10_000, 100_000];

/** Between chunks: the page faults so far, at the bucket ends. A function of
 *  its own, called after every chunk, so that the loop's call site has type
 *  feedback long before V8 compiles the loop (else its first resourceUsage()
 *  would deoptimise the loop in the middle of the timing). */
function mark_chunk(calls_done: number, calls: number, faults: number[]): void {
  if (calls_done < calls && FAULT_MARKS.includes(calls_done)) faults.push(process.resourceUsage().minorPageFault);
}

function loop_exwallet(wallet: Wallet, bodies: Body[], chunk: number, ends: Float64Array, faults: number[]): { ok: number; first_failure: string } {
  let ok = 0;
  let first_failure = '';
  const t0 = process.hrtime.bigint();
  for (let c = 0, at = 0; c < ends.length; c++) {
    const end = at + chunk;
    for (; at < end; at++) {
      const response = bet(wallet, bodies[at]);
      if (response.status === RS_OK) ok++;
      else if (first_failure === '') first_failure = response.status;
    }
    ends[c] = Number(process.hrtime.bigint() - t0);
    mark_chunk(at, bodies.length, faults);
  }
  faults.push(process.resourceUsage().minorPageFault);
  return { ok, first_failure };
}

/** The bytes path. Statuses are counted after the loop, from stats(): reading
 *  each answer's status would cost the loop a search per call. */
function loop_bytes(wallet: Wallet, bodies: Buffer[], chunk: number, ends: Float64Array, faults: number[]): { ok: number; first_failure: string } {
  const bets_before = stats(wallet).bets;
  const t0 = process.hrtime.bigint();
  for (let c = 0, at = 0; c < ends.length; c++) {
    const end = at + chunk;
    for (; at < end; at++) betBytes(wallet, bodies[at]);
    ends[c] = Number(process.hrtime.bigint() - t0);
    mark_chunk(at, bodies.length, faults);
  }
  faults.push(process.resourceUsage().minorPageFault);
  const ok = stats(wallet).bets - bets_before;
  return { ok, first_failure: ok === bodies.length ? '' : `${bodies.length - ok} bets not applied` };
}

function loop_map_wallet(wallet: MapWallet, bodies: Body[], chunk: number, ends: Float64Array, faults: number[]): { ok: number; first_failure: string } {
  let ok = 0;
  let first_failure = '';
  const t0 = process.hrtime.bigint();
  for (let c = 0, at = 0; c < ends.length; c++) {
    const end = at + chunk;
    for (; at < end; at++) {
      const response = wallet.bet(bodies[at]);
      if (response.status === RS_OK) ok++;
      else if (first_failure === '') first_failure = response.status;
    }
    ends[c] = Number(process.hrtime.bigint() - t0);
    mark_chunk(at, bodies.length, faults);
  }
  faults.push(process.resourceUsage().minorPageFault);
  return { ok, first_failure };
}

/** Steps 2-6 in this thread; `handle` given: attach to the wallet the main thread started. */
async function sample(input: ColdChildInput, handle: WalletHandle | undefined): Promise<ColdChildOutput> {
  if (input.calls % input.chunk !== 0) throw new Error('calls must be a multiple of chunk');
  const ends = new Float64Array(input.calls / input.chunk);
  const users = user_names(input.users);
  const t_start = performance.now();
  let wallet: Wallet | undefined;
  let map_wallet: MapWallet | undefined;
  if (input.impl === 'map_wallet') {
    map_wallet = new MapWallet({ maxTransactions: input.tx_max, initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY });
    map_wallet.createUsers(users);
  } else if (handle) {
    wallet = attach(handle);
  } else {
    wallet = start(wallet_options(input));
    createUsers(wallet, users);
  }
  const start_ms = performance.now() - t_start;
  const t_bodies = performance.now();
  const bodies = flat_bodies(input, users);
  const texts = input.bytes ? bodies.map((body) => Buffer.from(JSON.stringify(body), 'utf8')) : [];
  const bodies_ms = performance.now() - t_bodies;
  let warmup_ms: number | null = null;
  let report: WarmupReport | null = null;
  if (input.impl === 'exwallet' && input.warmup !== 'none') {
    // The sample is only read (its JSON text): warmup() never calls a wallet with it.
    const options = input.warmup === 'samples' ? { samples: { bet: bodies[0] } } : {};
    const t_warm = performance.now();
    report = warmup(options);
    warmup_ms = performance.now() - t_warm;
  }
  collect_garbage();
  await new Promise((resolve) => setTimeout(resolve, input.settle_ms ?? 100));
  const faults = [process.resourceUsage().minorPageFault];
  const r = !wallet ? loop_map_wallet(map_wallet!, bodies, input.chunk, ends, faults)
    : input.bytes ? loop_bytes(wallet, texts, input.chunk, ends, faults) : loop_exwallet(wallet, bodies, input.chunk, ends, faults);
  if (wallet && !handle) await close(wallet);
  return {
    impl: input.impl, thread: input.thread, prefault: input.prefault, warmup_mode: input.warmup, calls: input.calls, chunk: input.chunk, chunk_end_ns: Array.from(ends),
    faults, fault_marks: [0, ...FAULT_MARKS.filter((mark) => mark < input.calls), input.calls], ok: r.ok, first_failure: r.first_failure, start_ms, bodies_ms, warmup_ms, warmup: report,
  };
}

/** Thread "worker": the main thread starts the wallet; one fresh worker times. */
async function sample_in_worker(input: ColdChildInput): Promise<ColdChildOutput> {
  let wallet: Wallet | undefined;
  let handle: WalletHandle | undefined;
  if (input.impl !== 'map_wallet') {
    wallet = start(wallet_options(input));
    createUsers(wallet, user_names(input.users));
    handle = share(wallet);
  }
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { input, handle } });
  try {
    return await new Promise<ColdChildOutput>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('cold worker: no result within 120 s')), 120_000);
      worker.once('message', (output: ColdChildOutput) => { clearTimeout(timer); resolve(output); });
      worker.once('error', (error) => { clearTimeout(timer); reject(error); });
      worker.once('exit', (code) => { clearTimeout(timer); reject(new Error(`cold worker exited with code ${code} before its result`)); });
    });
  } finally {
    await worker.terminate();
    if (wallet) await close(wallet);
  }
}

if (isMainThread) {
  const input = JSON.parse(process.argv[2]!) as ColdChildInput;
  const output = input.thread === 'worker' ? await sample_in_worker(input) : await sample(input, undefined);
  process.stdout.write(JSON.stringify(output) + '\n');
} else {
  const { input, handle } = workerData as { input: ColdChildInput; handle: WalletHandle | undefined };
  parentPort!.postMessage(await sample(input, handle));
}
