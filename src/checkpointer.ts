// The checkpointer: a short-lived worker the flusher starts when a journal
// segment is full, so that a checkpoint is built while calls and flushes go
// on (checkpoint.ts says how, and why a crash at any point loses nothing).

import { workerData } from 'node:worker_threads';
import { write_checkpoint } from './checkpoint.js';

export interface CheckpointerData {
  kind: 'exwallet.checkpointer';
  dir: string;
  segments: string[];
  /** [0]: 1 while running; 0 done; 2 failed (the journal still holds everything). */
  state: Int32Array;
}

export const CHECKPOINT_RUNNING = 1;
export const CHECKPOINT_IDLE = 0;
export const CHECKPOINT_FAILED = 2;

const data = workerData as CheckpointerData | null;
if (data?.kind === 'exwallet.checkpointer') {
  let outcome = CHECKPOINT_IDLE;
  try {
    write_checkpoint(data.dir, data.segments);
  } catch {
    outcome = CHECKPOINT_FAILED;
  }
  Atomics.store(data.state, 0, outcome);
  Atomics.notify(data.state, 0);
}
