// One worker of the exwallet scaling suites: get a wallet, build this
// worker's own slice of bet bodies (its own random stream), warm up, report
// ready, wait at the gate, then time only the loop.
//
// mode 'shared':  attach to the one wallet of the run (the real figure).
// mode 'private': start a wallet of its own (same sizes): no memory shared
//                 with the other workers. A control: if private scales and
//                 shared does not, the shared memory is the bottleneck.
// mode 'js':      no wallet, a pure-JS loop of similar shape (read the body,
//                 walk both uuids, allocate a response). A control for V8
//                 itself (allocation, scavenges and their helper threads).
// mode 'compute': the same loop without the allocation. A control for the
//                 machine (are two cores really ours?).

import { parentPort, workerData } from 'node:worker_threads';
import { attach, start, createUsers, bet, detach, RS_OK, type Wallet, type WalletHandle } from 'exwallet';
import { Random } from '../tools/random.js';
import { bet_bodies, type BetBody, CURRENCY, INITIAL_BALANCE_UNITS } from './bodies.js';
import { wait_gate } from '../tools/sync.js';
import { budget_for_bets } from './lib.js';

export type WorkerMode = 'shared' | 'private' | 'js' | 'compute';

interface Input {
  mode: WorkerMode;
  handle: WalletHandle | undefined;
  users_max: number;
  users: string[];
  seed: number;
  stream: number;
  calls: number;
  warmup_calls: number;
  gate: Int32Array;
  gate_wait_ms_max: number;
}

let sink: unknown;

function js_loop(bodies: BetBody[]): number {
  let ok = 0;
  for (let i = 0; i < bodies.length; i++) {
    const body = bodies[i];
    let digits = 0;
    const a = body.transaction_uuid;
    const b = body.request_uuid;
    for (let k = 0; k < 36; k++) digits += (a.charCodeAt(k) ^ b.charCodeAt(k)) & 15;
    sink = { user: body.user, status: RS_OK, request_uuid: b, currency: body.currency, balance: digits };
    ok++;
  }
  return ok;
}

function compute_loop(bodies: BetBody[]): number {
  let ok = 0;
  let digits = 0;
  for (let i = 0; i < bodies.length; i++) {
    const body = bodies[i];
    const a = body.transaction_uuid;
    const b = body.request_uuid;
    for (let k = 0; k < 36; k++) digits += (a.charCodeAt(k) ^ b.charCodeAt(k)) & 15;
    ok++;
  }
  sink = digits;
  return ok;
}

function wallet_loop(wallet: Wallet, bodies: BetBody[]): { ok: number; first_failure: string } {
  let ok = 0;
  let first_failure = '';
  for (let i = 0; i < bodies.length; i++) {
    const response = bet(wallet, bodies[i]);
    if (response.status === RS_OK) ok++;
    else if (first_failure === '') first_failure = response.status;
  }
  return { ok, first_failure };
}

const input = workerData as Input;
let wallet: Wallet | undefined;
if (input.mode === 'shared') {
  wallet = attach(input.handle!);
} else if (input.mode === 'private') {
  wallet = start({
    maxUsers: input.users_max, maxTransactions: budget_for_bets(input.calls + input.warmup_calls), // 2 units per bet
    initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY, prefault: true, // as exwallet_for()
  });
  createUsers(wallet, input.users);
}
const rng = new Random(input.seed, input.stream);
const warmup = bet_bodies(rng, input.users, input.warmup_calls);
const bodies = bet_bodies(rng, input.users, input.calls);

function run(batch: BetBody[]): { ok: number; first_failure: string } {
  if (wallet) return wallet_loop(wallet, batch);
  return { ok: input.mode === 'js' ? js_loop(batch) : compute_loop(batch), first_failure: '' };
}

const warm_ok = run(warmup).ok;

parentPort!.postMessage({ kind: 'ready' });
wait_gate(input.gate, performance.now() + input.gate_wait_ms_max);

const started_ms = performance.now();
const { ok, first_failure } = run(bodies);
const elapsed_ms = performance.now() - started_ms;

if (wallet) detach(wallet);
if (sink === undefined && !wallet) throw new Error('unreachable: the js loop ran');
parentPort!.postMessage({ kind: 'result', calls: bodies.length, ok, warm_ok, first_failure, elapsed_ms });
