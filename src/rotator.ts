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
import { L, gen_counter } from './layout.js';
import { new_core } from './core.js';
import { rotate, write_previous, BLOCKED, BLOCKED_TEXTS } from './rotation.js';
import { checkpoint_holds_retired } from './checkpoint.js';
import { RetiredStore } from './retired.js';

export interface RotatorData {
  kind: 'exwallet.rotator';
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  dir: string;
  retention_ms: number;
}

export type RotatorReply = { kind: 'blocked'; reason: string };

const RETENTION_CHECK_MS = 60_000;
/** A rotation may have let a checkpoint or a file expire: look soon after. */
const RETENTION_AFTER_ROTATION_MS = 1_000;
const BLOCKED_RETRY_MS = 20;
const IDLE_WAIT_MS = 1_000;

const header_word = (field: number) => (L.HEADER_OFFSET + field) >>> 2;

function serve(data: RotatorData): void {
  const core = new_core(data.memory, data.module);
  const { u32, i32 } = core;
  const retired = new RetiredStore(data.dir);
  const written_for_seq = { seq: -1 };
  let retention_due_ms = 0;
  for (;;) {
    const run = Atomics.load(u32, core.run_word);
    if (run === L.RUN_CLOSED || run === L.RUN_FAILED) break;
    const want = Atomics.load(u32, header_word(L.H_ROTATE_WANT));
    const seq = Atomics.load(u32, header_word(L.H_GEN_WORD)) >>> 1;
    let low = current_generation_low(core);
    if (written_for_seq.seq !== seq && low !== 'rotate') {
      // Write the previous generation out while the current one has room (rotation.ts).
      if (typeof write_previous(core, { dir: data.dir, live: true, written_for_seq }) === 'string') written_for_seq.seq = -1;
    }
    let blocked = false;
    if (low === 'useless') {
      // Open bets hold so much of the generation that a rotation, which
      // would carry them all, frees next to nothing: say so, and wait for
      // settlements instead of rotating in a loop.
      report_blocked(core, BLOCKED.open_bets);
      blocked = true;
    } else if (low === 'rotate') {
      const outcome = rotate_locked(core, data, written_for_seq);
      if (outcome === undefined) {
        blocked = true; // an audit holds the tables: look again shortly
      } else if (!outcome.rotated) {
        report_blocked(core, outcome.reason);
        blocked = true;
      } else {
        report_blocked(core, BLOCKED.none);
        Atomics.add(u32, header_word(L.H_ROTATIONS), 1);
        retention_due_ms = Math.min(retention_due_ms, Date.now() + RETENTION_AFTER_ROTATION_MS);
        continue; // write the new previous generation out at once
      }
    }
    if (Date.now() >= retention_due_ms) {
      retention_due_ms = Date.now() + RETENTION_CHECK_MS;
      retired.refresh();
      retired.delete_expired(Date.now(), data.retention_ms, checkpoint_holds_retired(data.dir));
    }
    low = current_generation_low(core);
    if (low !== 'rotate' || blocked) Atomics.wait(i32, header_word(L.H_ROTATE_WANT), want | 0, blocked ? BLOCKED_RETRY_MS : IDLE_WAIT_MS);
  }
  core.release();
}

/** Publish why the window cannot rotate (stats().rotationBlocked); the owner thread hears it too. */
function report_blocked(core: ReturnType<typeof new_core>, reason: string): void {
  const word = header_word(L.H_ROTATION_BLOCKED);
  const code = Math.max(0, BLOCKED_TEXTS.indexOf(reason));
  if (Atomics.exchange(core.u32, word, code) !== code && code !== 0) {
    parentPort?.postMessage({ kind: 'blocked', reason } satisfies RotatorReply);
  }
}

/** Has the current generation used H_ROTATE_AT of its budget ('rotate')?
 *  Not while a rotation would free less than ROTATION_GAIN_MIN of it,
 *  because open bets (carried into the next one whole) hold the rest: then
 *  wait for more to be used ('no'), or, once the generation is full, for
 *  settlements ('useless': the window is full of open bets). */
function current_generation_low(core: ReturnType<typeof new_core>): 'no' | 'rotate' | 'useless' {
  const { layout, u32, i64 } = core;
  const seq = Atomics.load(u32, header_word(L.H_GEN_WORD)) >>> 1;
  const used = Math.min(layout.gen_budget, Atomics.load(u32, header_word(gen_counter('budget_next', seq & 1))));
  if (used < layout.rotate_at) return 'no';
  let open = 0n;
  for (let slot = 0; slot < layout.threads_max; slot++) {
    const record = (layout.threads_offset + slot * L.THREAD_RECORD_BYTES) / 8;
    open += Atomics.load(i64, record + L.T_BETS / 8) - Atomics.load(i64, record + L.T_WINS / 8) - Atomics.load(i64, record + L.T_ROLLBACKS / 8);
  }
  const open_units = Number(open) * L.BET_UNITS;
  if (used - open_units >= layout.gen_budget * ROTATION_GAIN_MIN) return 'rotate';
  return used + L.BET_UNITS > layout.gen_budget ? 'useless' : 'no';
}
/** A rotation must free at least this share of a generation. */
const ROTATION_GAIN_MIN = 1 / 8;

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
