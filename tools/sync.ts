// The shared words that coordinate a run, in one Int32Array over a
// SharedArrayBuffer that the parent creates and every worker receives:
//
//   word  name         who writes                 meaning
//   0     gate         parent (once)              0 = hold, 1 = go: workers start together
//   1     arrived      workers                    barrier: workers arrived in this generation
//   2     generation   the last arriving worker   barrier: bumped to release the others
//   3     clock        every call, twice          a logical clock: ticked at invoke and at return
//   4     stop         parent                     1 = stop issuing calls (crash storms)
//   5     aborted      anyone                     1 = a worker gave up waiting: everybody stops
//   8+    per worker   that worker                stress: plan position of the call in flight
//                                                (-1: none); crash storms also keep a count of
//                                                calls started here (crash.ts)
//
// Waits are Atomics.wait with a timeout in a bounded loop, never sleeps: a
// worker that does not arrive makes the others fail by deadline, not hang.

export const W_GATE = 0;
export const W_ARRIVED = 1;
export const W_GENERATION = 2;
export const W_CLOCK = 3;
export const W_STOP = 4;
export const W_ABORTED = 5;
export const W_PROGRESS = 8;

/** One slice of waiting; the loops around it carry the overall deadline. */
const WAIT_SLICE_MS = 20;
/** Loads of the generation word before sleeping at a barrier (~100 µs). */
const SPIN_MAX = 20_000;

export function make_sync(workers_max: number): SharedArrayBuffer {
  const words = new Int32Array(new SharedArrayBuffer((W_PROGRESS + workers_max) * 4));
  words.fill(-1, W_PROGRESS);
  return words.buffer as SharedArrayBuffer;
}

/** Parent: let every worker waiting at the gate go at once. */
export function open_gate(sync: Int32Array): void {
  Atomics.store(sync, W_GATE, 1);
  Atomics.notify(sync, W_GATE);
}

/** Worker: wait until the parent opens the gate. Throws past the deadline. */
export function wait_gate(sync: Int32Array, deadline_ms: number): void {
  for (let slice = 0; Atomics.load(sync, W_GATE) === 0; slice++) {
    const remaining_ms = deadline_ms - performance.now();
    if (remaining_ms <= 0 || Atomics.load(sync, W_ABORTED) !== 0) {
      throw new Error(`gate not opened before the deadline (${slice} slices)`);
    }
    Atomics.wait(sync, W_GATE, 0, Math.min(WAIT_SLICE_MS, remaining_ms));
  }
}

/** Worker: a reusable barrier for `parties` workers. The last to arrive
 *  resets the count *before* bumping the generation, so nobody can arrive at
 *  the next barrier while the count still holds this one's arrivals. */
export function arrive_and_wait(sync: Int32Array, parties: number, deadline_ms: number): void {
  const generation = Atomics.load(sync, W_GENERATION);
  if (Atomics.add(sync, W_ARRIVED, 1) === parties - 1) {
    Atomics.store(sync, W_ARRIVED, 0);
    Atomics.add(sync, W_GENERATION, 1);
    Atomics.notify(sync, W_GENERATION);
    return;
  }
  // Spin a little first: a thread woken from Atomics.wait starts tens of
  // microseconds after the releaser, long enough for the releaser to finish
  // several calls alone; spinners start within nanoseconds, together.
  for (let spin = 0; spin < SPIN_MAX; spin++) {
    if (Atomics.load(sync, W_GENERATION) !== generation) return;
  }
  for (let slice = 0; Atomics.load(sync, W_GENERATION) === generation; slice++) {
    const remaining_ms = deadline_ms - performance.now();
    if (remaining_ms <= 0 || Atomics.load(sync, W_ABORTED) !== 0) {
      Atomics.store(sync, W_ABORTED, 1);
      throw new Error(`barrier: ${Atomics.load(sync, W_ARRIVED)}/${parties} arrived before the deadline (${slice} slices)`);
    }
    Atomics.wait(sync, W_GENERATION, generation, Math.min(WAIT_SLICE_MS, remaining_ms));
  }
}

/** A tick of the shared logical clock. Atomics are sequentially consistent,
 *  so if call A's return tick is below call B's invoke tick, A returned
 *  before B was invoked, whatever threads they ran in. */
export function tick(sync: Int32Array): number {
  return Atomics.add(sync, W_CLOCK, 1);
}
