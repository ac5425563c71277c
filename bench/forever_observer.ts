// The rotator's phases, timed from outside: a worker thread attached to the
// durable wallet that reads header words every POLL_MS and notes each change
// with its time. The thread calling bet() cannot do this: while its bet waits
// for room it sees nothing. The observer never calls into the core, so it is
// never "in a call" and the rotator's pauses do not wait for it; it costs a
// wake-up every POLL_MS (a few µs each).
//
//   asked    the current generation's budget passed rotate_at (75 %); its
//            value: bit 0 set if a previous generation exists (the rotation
//            retires one), bit 1 if the ask was not seen: with the file
//            written ahead, ask → flip can be shorter than the observer's
//            wake-ups on a busy machine, and a flip without a seen ask is
//            given one at the poll before it (no poll saw the ask, so it
//            came after that poll: the window is a little wider, never shorter)
//   full     … passed 98 % of the generation: bets are about to wait for room
//   pause    the run word RUN_OPEN -> RUN_PAUSED, and back (the rotator's
//            three pauses: carry + check, drop the previous generation, flip)
//   retired  H_RETIRED_SEQ moved: the retired file is written (fsync'd) and
//            its uuids are in the filter (src/rotation.ts write(prev)). Since
//            f79ec46 the rotator does this right after the flip that made the
//            generation previous, so it usually comes BEFORE the next ask
//   dropped  prev_live cleared: nobody probes the previous generation (step 3)
//   flip     the generation sequence moved (step 5)
//
// A pause shorter than POLL_MS can be missed; so can a whole phase that
// starts and ends between two polls (then its time is 0 or folded into the
// next one). Times are performance.timeOrigin + performance.now(), the same
// clock in every thread.

import { parentPort, workerData, Worker } from 'node:worker_threads';
import { attach, detach, share, type Wallet, type WalletHandle } from 'exwallet';
import { Wallet as WalletImpl } from 'exwallet/internal/wallet';
import { L } from 'exwallet/internal/layout';

const POLL_MS = 0.25;
const EVENTS_MAX = 1 << 16;

export const EVENT_ASKED = 1;
export const EVENT_FULL = 2;
export const EVENT_PAUSE_ON = 3;
export const EVENT_PAUSE_OFF = 4;
export const EVENT_RETIRED = 5;
export const EVENT_DROPPED = 6;
export const EVENT_FLIP = 7;

interface ObserverData {
  kind: 'exwallet.bench.forever_observer';
  handle: WalletHandle;
  /** [0]: 1 = stop. */
  stop: Int32Array;
}

export interface RotationPhases {
  /** The sequence the flip moved to. */
  seq: number;
  /** When the rotation was asked (performance.timeOrigin + performance.now(), ms). */
  asked_at: number;
  /** ms from the ask to: full (-1: never full), retired, dropped, flip.
   *  retired_ms: until the previous generation was on disk, 0 if it was
   *  written ahead (before the ask); -1: nothing to retire (first rotation). */
  full_ms: number;
  retired_ms: number;
  /** ms from the flip before (that made the generation previous) to its
   *  file written + uuids in the filter: the write ahead (-1: not seen). */
  write_ms: number;
  dropped_ms: number;
  flip_ms: number;
  pauses: number;
  /** Time the wallet was paused (every call waited) during the rotation. */
  paused_ms: number;
  /** The longest single pause. */
  pause_max_ms: number;
  /** ms of the generation being full before the flip: the bets' wait for room, at most. */
  full_to_flip_ms: number;
  /** The ask was not seen: asked_at is the poll before the flip. */
  ask_inferred: boolean;
}

export interface PhaseSummary {
  rotations: number;
  poll_ms: number;
  asked_to_retired_ms: Spread;
  /** The write ahead: flip → file written + uuids in the filter, and in how many rotations it was done by the ask. */
  flip_to_retired_ms: Spread;
  written_before_ask: number;
  retired_to_dropped_ms: Spread;
  dropped_to_flip_ms: Spread;
  asked_to_flip_ms: Spread;
  asked_to_full_ms: Spread;
  full_to_flip_ms: Spread;
  paused_ms: Spread;
  pause_max_ms: Spread;
  rotations_full: number;
  /** Rotations whose ask the observer did not see (asked_at: the poll before the flip). */
  asks_inferred: number;
}

export interface Spread {
  p50: number;
  p90: number;
  max: number;
}

const now_ms = () => performance.timeOrigin + performance.now();
const header_word = (field: number) => (L.HEADER_OFFSET + field) >>> 2;

function observe(data: ObserverData): void {
  const wallet = attach(data.handle);
  const core = WalletImpl.core_of(wallet);
  const u32 = core.u32;
  const events = new Float64Array(EVENTS_MAX * 3);
  let count = 0;
  const note = (kind: number, value: number, at = now_ms()) => {
    if (count === EVENTS_MAX) return;
    events[count * 3] = at;
    events[count * 3 + 1] = kind;
    events[count * 3 + 2] = value;
    count++;
  };
  const { gen_budget, rotate_at } = core.layout;
  let word = Atomics.load(u32, header_word(L.H_GEN_WORD));
  let retired = Atomics.load(u32, header_word(L.H_RETIRED_SEQ));
  let paused = false;
  let asked = false;
  let full = false;
  let dropped = false;
  let last_poll = now_ms();
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  while (Atomics.load(data.stop, 0) === 0) {
    const poll = now_ms();
    const run = Atomics.load(u32, core.run_word);
    if ((run === L.RUN_PAUSED) !== paused) {
      paused = !paused;
      note(paused ? EVENT_PAUSE_ON : EVENT_PAUSE_OFF, 0);
    }
    const retired_now = Atomics.load(u32, header_word(L.H_RETIRED_SEQ));
    if (retired_now !== retired) {
      retired = retired_now;
      note(EVENT_RETIRED, retired);
    }
    const word_now = Atomics.load(u32, header_word(L.H_GEN_WORD));
    if ((word & 1) === 1 && (word_now & 1) === 0) {
      note(EVENT_DROPPED, word_now >>> 1);
      dropped = true;
    }
    if (word_now >>> 1 !== word >>> 1) {
      if (!asked) note(EVENT_ASKED, (word & 1) | 2, last_poll);
      note(EVENT_FLIP, word_now >>> 1);
      asked = false;
      full = false;
      dropped = false;
    }
    word = word_now;
    const seq = word >>> 1;
    const used = Atomics.load(u32, header_word((seq & 1) === 0 ? L.H_TX_BUDGET_NEXT : L.H_GEN_BUDGET_NEXT_1));
    if (!asked && used >= rotate_at) {
      asked = true;
      note(EVENT_ASKED, (word & 1) | (dropped ? 1 : 0));
    }
    if (!full && used >= gen_budget * 0.98) {
      full = true;
      note(EVENT_FULL, seq);
    }
    last_poll = poll;
    Atomics.wait(sleeper, 0, 0, POLL_MS);
  }
  detach(wallet);
  parentPort?.postMessage({ kind: 'events', events: events.subarray(0, count * 3) });
}

const data = workerData as ObserverData | null;
if (data?.kind === 'exwallet.bench.forever_observer') observe(data);

/** Start an observer of `wallet`; stop() ends it and resolves its rotations' phases. */
export function start_observer(wallet: Wallet): { stop(): Promise<RotationPhases[]> } {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { kind: 'exwallet.bench.forever_observer', handle: share(wallet), stop } satisfies ObserverData,
  });
  const events = new Promise<Float64Array>((resolve, reject) => {
    worker.once('message', (message: { events: Float64Array }) => resolve(message.events));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the observer exited (${code}) without its events`)));
  });
  return {
    async stop() {
      Atomics.store(stop, 0, 1);
      const list = await events;
      await worker.terminate();
      return phases_of(list);
    },
  };
}

/** Group the events by rotation: from an ask to the flip that follows it. */
function phases_of(events: Float64Array): RotationPhases[] {
  const out: RotationPhases[] = [];
  let asked = -1, full = -1, retired = -1, dropped = -1, pause_on = -1, pauses = 0, paused = 0, pause_max = 0;
  let retiring = false, inferred = false, last_flip = -1;
  // In time order: an inferred ask is noted after the events of the poll that saw its flip.
  const order = Array.from({ length: events.length / 3 }, (_, i) => i * 3).sort((a, b) => events[a] - events[b] || a - b);
  for (const i of order) {
    const t = events[i], kind = events[i + 1], value = events[i + 2];
    if (kind === EVENT_ASKED) {
      asked = t;
      retiring = (value & 1) === 1;
      inferred = (value & 2) === 2;
      full = dropped = -1; // retired is kept: the write ahead happens between the flip before and this ask
      pauses = paused = pause_max = 0;
    } else if (kind === EVENT_FULL) {
      full = t;
    } else if (kind === EVENT_RETIRED) {
      retired = t;
    } else if (kind === EVENT_DROPPED) {
      dropped = t;
    } else if (kind === EVENT_PAUSE_ON) {
      pause_on = t;
    } else if (kind === EVENT_PAUSE_OFF && pause_on >= 0) {
      pauses++;
      paused += t - pause_on;
      pause_max = Math.max(pause_max, t - pause_on);
      pause_on = -1;
    } else if (kind === EVENT_FLIP) {
      if (asked >= 0) {
        const since = (at: number) => (at < 0 ? -1 : round2(at - asked));
        // Retiring and no write seen since the flip before: written before the observer started, so before the ask.
        const retired_ms = !retiring ? -1 : retired < 0 ? 0 : Math.max(0, since(retired));
        const write_ms = retiring && retired >= 0 && last_flip >= 0 ? round2(retired - last_flip) : -1;
        out.push({
          seq: value, asked_at: asked, full_ms: since(full), retired_ms, write_ms, dropped_ms: since(dropped), flip_ms: since(t),
          pauses, paused_ms: round2(paused), pause_max_ms: round2(pause_max), full_to_flip_ms: full < 0 ? 0 : round2(t - full),
          ask_inferred: inferred,
        });
      }
      asked = -1;
      retired = -1;
      last_flip = t;
    }
  }
  return out;
}

export function summarise_phases(phases: RotationPhases[]): PhaseSummary | null {
  // The first rotation of a wallet only flips (nothing to retire yet).
  const retiring = phases.filter((p) => p.retired_ms >= 0);
  if (retiring.length === 0) return null;
  const spread = (values: number[]): Spread => {
    const sorted = values.filter((v) => v >= 0).sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
    return { p50: round2(at(0.5)), p90: round2(at(0.9)), max: round2(sorted.at(-1) ?? 0) };
  };
  return {
    rotations: retiring.length, poll_ms: POLL_MS,
    asked_to_retired_ms: spread(retiring.map((p) => p.retired_ms)),
    flip_to_retired_ms: spread(retiring.map((p) => p.write_ms)),
    written_before_ask: retiring.filter((p) => p.retired_ms === 0).length,
    retired_to_dropped_ms: spread(retiring.filter((p) => p.dropped_ms >= 0).map((p) => p.dropped_ms - p.retired_ms)),
    dropped_to_flip_ms: spread(retiring.filter((p) => p.dropped_ms >= 0).map((p) => p.flip_ms - p.dropped_ms)),
    asked_to_flip_ms: spread(retiring.map((p) => p.flip_ms)),
    asked_to_full_ms: spread(retiring.map((p) => p.full_ms)),
    full_to_flip_ms: spread(retiring.filter((p) => p.full_ms >= 0).map((p) => p.full_to_flip_ms)),
    paused_ms: spread(retiring.map((p) => p.paused_ms)),
    pause_max_ms: spread(retiring.map((p) => p.pause_max_ms)),
    rotations_full: retiring.filter((p) => p.full_ms >= 0).length,
    asks_inferred: retiring.filter((p) => p.ask_inferred).length,
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}
