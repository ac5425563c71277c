// The rotator: one worker thread per durable wallet, started by start(). It
// sleeps until the current generation runs low (the core bumps H_ROTATE_WANT
// when a budget chunk crosses H_ROTATE_AT, and bets that found it full do
// too), then rotates (src/rotation.ts). Once a minute, and after each
// rotation, it deletes the retired files older than retentionDays.
//
// A rotation that cannot proceed (a dead thread's claim in the generation to
// retire, the journal failing) is tried again every BLOCKED_RETRY_MS; until
// then the current generation fills, bets wait for room (bounded) and then
// answer RS_ERROR_UNKNOWN, and every settlement of an open bet still fits.

import { parentPort, workerData } from 'node:worker_threads';
import { L } from './layout.js';
import { new_core } from './core.js';
import { rotate, write_previous, BLOCKED_TEXTS } from './rotation.js';
import { RetiredStore } from './retired.js';

export interface RotatorData {
  kind: 'exwallet.rotator';
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  dir: string;
  retention_ms: number;
}

export type RotatorReply = { kind: 'blocked'; reason: string } | { kind: 'rotated'; retired_records: number; carried: number };

const RETENTION_CHECK_MS = 60_000;
const BLOCKED_RETRY_MS = 20;
const IDLE_WAIT_MS = 1_000;

const header_word = (field: number) => (L.HEADER_OFFSET + field) >>> 2;

function serve(data: RotatorData): void {
  const core = new_core(data.memory, data.module);
  const { u32, i32, layout } = core;
  const retired = new RetiredStore(data.dir);
  const written_for_seq = { seq: -1 };
  let retention_checked_ms = 0;
  let blocked = false;
  for (;;) {
    const run = Atomics.load(u32, core.run_word);
    if (run === L.RUN_CLOSED || run === L.RUN_FAILED) break;
    const want = Atomics.load(u32, header_word(L.H_ROTATE_WANT));
    const seq = Atomics.load(u32, header_word(L.H_GEN_WORD)) >>> 1;
    if (written_for_seq.seq !== seq && !current_generation_low(core)) {
      // Write the previous generation out while the current one has room (rotation.ts).
      if (typeof write_previous(core, { dir: data.dir, live: true, written_for_seq }) === 'string') written_for_seq.seq = -1;
    }
    let rotated = false;
    if (current_generation_low(core)) {
      const outcome = rotate_locked(core, data, written_for_seq);
      if (outcome && !outcome.rotated) {
        if (!blocked) parentPort?.postMessage({ kind: 'blocked', reason: outcome.reason } satisfies RotatorReply);
        blocked = true;
        Atomics.store(u32, header_word(L.H_ROTATION_BLOCKED), Math.max(0, BLOCKED_TEXTS.indexOf(outcome.reason)));
      } else if (outcome) {
        blocked = false;
        rotated = true;
        Atomics.store(u32, header_word(L.H_ROTATION_BLOCKED), 0);
        Atomics.add(u32, header_word(L.H_ROTATIONS), 1);
        retention_checked_ms = 0;
      }
    }
    if (Date.now() - retention_checked_ms >= RETENTION_CHECK_MS) {
      retention_checked_ms = Date.now();
      retired.refresh();
      retired.delete_expired(Date.now(), data.retention_ms);
    }
    if (rotated) continue; // write the new previous generation out at once
    const wait_ms = blocked ? BLOCKED_RETRY_MS : IDLE_WAIT_MS;
    if (!current_generation_low(core) || blocked) Atomics.wait(i32, header_word(L.H_ROTATE_WANT), want | 0, wait_ms);
  }
  core.release();
  void layout;
}

/** Has the current generation used H_ROTATE_AT of its budget? */
function current_generation_low(core: ReturnType<typeof new_core>): boolean {
  const seq = Atomics.load(core.u32, header_word(L.H_GEN_WORD)) >>> 1;
  const field = (seq & 1) === 0 ? L.H_TX_BUDGET_NEXT : L.H_GEN_BUDGET_NEXT_1;
  return Atomics.load(core.u32, header_word(field)) >= core.layout.rotate_at;
}

/** One rotation, holding H_ROTATING against audit (which waits for it). */
function rotate_locked(core: ReturnType<typeof new_core>, data: RotatorData, written_for_seq: { seq: number }) {
  const lock = header_word(L.H_ROTATING);
  if (Atomics.compareExchange(core.u32, lock, L.ROTATION_NONE, L.ROTATION_ROTATOR) !== L.ROTATION_NONE) return undefined;
  try {
    const flip_canary = Atomics.load(core.u32, header_word(L.H_FLIP_CANARY)) !== 0;
    return rotate(core, { dir: data.dir, live: true, flip_canary, written_for_seq });
  } finally {
    Atomics.store(core.u32, lock, L.ROTATION_NONE);
    Atomics.notify(core.i32, lock);
  }
}

const data = workerData as RotatorData | null;
if (data?.kind === 'exwallet.rotator') serve(data);
