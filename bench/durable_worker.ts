// One worker of the durable suite (durable.ts): attach to the run's wallet
// (durable or in memory), build this worker's own bodies (its own random
// stream), warm up, report ready, wait at the gate, then time the loop,
// the last durable() included.

import { parentPort, workerData } from 'node:worker_threads';
import { attach, detach, type WalletHandle } from 'exwallet';
import { Random } from '../tools/random.js';
import { bet_bodies } from './bodies.js';
import { wait_gate } from '../tools/sync.js';
import { loop_exwallet_awaited, loop_exwallet_pipelined, type GroupMode } from './durable_loops.js';

interface Input {
  handle: WalletHandle;
  users: string[];
  seed: number;
  stream: number;
  calls: number;
  warmup_calls: number;
  group: number;
  mode: GroupMode;
  gate: Int32Array;
  gate_wait_ms_max: number;
}

const input = workerData as Input;
const wallet = attach(input.handle);
const rng = new Random(input.seed, input.stream);
const warmup = bet_bodies(rng, input.users, input.warmup_calls);
const bodies = bet_bodies(rng, input.users, input.calls);
const loop = input.mode === 'awaited' ? loop_exwallet_awaited : loop_exwallet_pipelined;

const warm = await loop(wallet, warmup, 0, warmup.length, input.group);
parentPort!.postMessage({ kind: 'ready' });
wait_gate(input.gate, performance.now() + input.gate_wait_ms_max);
const result = await loop(wallet, bodies, 0, bodies.length, input.group);
detach(wallet);
parentPort!.postMessage({ kind: 'result', ...result, warm_ok: warm.ok });
