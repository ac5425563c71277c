// Peer (b), the two roles of the original's architecture in Node:
//
//  - owner:  one worker thread owns a MapWallet (peer a); every request
//            arrives as a message on a port, is applied, and the response is
//            posted back. One thread serialises all money movement.
//  - client: a worker that sends its bet bodies to the owner by postMessage
//            and awaits the replies, keeping `inflight` requests outstanding.

import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { MapWallet } from './map_wallet.js';
import { Random } from '../../tools/random.js';
import { bet_bodies, type BetBody } from '../bodies.js';
import { wait_gate } from '../../tools/sync.js';

interface Request {
  op: 'bet' | 'win' | 'rollback' | 'balance';
  body: unknown;
}

interface OwnerInput {
  role: 'owner';
  users: string[];
  initial_balance_units: number;
  tx_max: number;
}

interface ClientInput {
  role: 'client';
  port: MessagePort;
  users: string[];
  seed: number;
  stream: number;
  calls: number;
  warmup_calls: number;
  inflight: number;
  gate: Int32Array;
  gate_wait_ms_max: number;
}

function run_owner(input: OwnerInput): void {
  const wallet = new MapWallet({ maxTransactions: input.tx_max, initialBalance: input.initial_balance_units });
  wallet.createUsers(input.users);
  parentPort!.on('message', (message: { port: MessagePort }) => {
    const port = message.port;
    port.on('message', (request: Request) => {
      switch (request.op) {
        case 'bet': port.postMessage(wallet.bet(request.body)); break;
        case 'win': port.postMessage(wallet.win(request.body)); break;
        case 'rollback': port.postMessage(wallet.rollback(request.body)); break;
        default: port.postMessage(wallet.balance(request.body));
      }
    });
  });
  parentPort!.postMessage({ kind: 'ready' });
}

/** Send every body, `inflight` at a time; resolve with the RS_OK count. */
function send_all(port: MessagePort, bodies: BetBody[], inflight: number): Promise<{ ok: number; first_failure: string }> {
  return new Promise((resolve) => {
    let sent = 0;
    let received = 0;
    let ok = 0;
    let first_failure = '';
    const on_reply = (response: { status: string }) => {
      received++;
      if (response.status === 'RS_OK') ok++;
      else if (first_failure === '') first_failure = response.status;
      if (sent < bodies.length) port.postMessage({ op: 'bet', body: bodies[sent++] });
      if (received === bodies.length) {
        port.off('message', on_reply);
        resolve({ ok, first_failure });
      }
    };
    port.on('message', on_reply);
    while (sent < bodies.length && sent < inflight) port.postMessage({ op: 'bet', body: bodies[sent++] });
  });
}

async function run_client(input: ClientInput): Promise<void> {
  const rng = new Random(input.seed, input.stream);
  const warmup = bet_bodies(rng, input.users, input.warmup_calls);
  const bodies = bet_bodies(rng, input.users, input.calls);
  const warm = await send_all(input.port, warmup, input.inflight);
  parentPort!.postMessage({ kind: 'ready' });
  wait_gate(input.gate, performance.now() + input.gate_wait_ms_max);
  const started_ms = performance.now();
  const { ok, first_failure } = await send_all(input.port, bodies, input.inflight);
  const elapsed_ms = performance.now() - started_ms;
  input.port.close();
  parentPort!.postMessage({ kind: 'result', calls: bodies.length, ok, warm_ok: warm.ok, first_failure, elapsed_ms });
}

const input = workerData as OwnerInput | ClientInput;
if (input.role === 'owner') run_owner(input);
else await run_client(input);
