// The flusher: one worker thread per durable wallet, started by start().
// It does group commit in epochs (assembly/journal.ts says why epochs keep
// dependency order):
//
//   e = E; E = e + 1                         new calls now announce e + 1
//   wait until no slot announces an epoch <= e   every call of e has left
//   take from each ring the records of epochs <= e, write them as one batch,
//   fdatasync, DURABLE = e, notify           durable() waiters wake
//
// One flush serves every call that arrived while the previous one ran: the
// group grows with the load, and there is no timer on the way (an idle
// flusher sleeps until a durable() wakes it, or 1 ms, whichever is first).
//
// A write or fdatasync error is fail-stop (PostgreSQL's fsyncgate, Redis's
// exit on a failed AOF write): the flusher marks the journal failed, new
// transactions answer RS_ERROR_UNKNOWN, durable() rejects, and it never
// retries on the same file (the kernel may have dropped the dirty pages).
// Nothing acknowledged is lost: only durable epochs were acknowledged.

import { Worker, parentPort, workerData } from 'node:worker_threads';
import { openSync, writeSync, fdatasyncSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { L, read_header, ring_offset, type Layout } from './layout.js';
import { seal_batch, BATCH_HEADER_BYTES } from './journal_format.js';
import { segment_name, segments_of, write_checkpoint, fsync_path } from './checkpoint.js';
import { CHECKPOINT_RUNNING, CHECKPOINT_IDLE, type CheckpointerData } from './checkpointer.js';

export interface FlusherData {
  memory: WebAssembly.Memory;
  /** The data directory, and the journal segment batches go to. */
  dir: string;
  journal_path: string;
  /** Where the next batch goes, and the chain value it continues. */
  offset: number;
  prev_crc: number;
  /** Tests: fail or slow the journal's writes. */
  faults?: JournalFaults;
}

export interface JournalFaults {
  /** Writes that succeed before every later write fails with `errno`. */
  fail_after_writes?: number;
  errno?: 'ENOSPC' | 'EIO';
  /** Each batch waits this long before its fdatasync (a slow disk). */
  pause_ms?: number;
  /** A segment this large is closed and folded into a checkpoint (default segment_bytes_for the layout). */
  segment_bytes_max?: number;
}

/** Journal bytes per segment before it is folded into a checkpoint: bounds
 *  recovery's replay to the checkpoint plus about this much journal. A
 *  segment holds about SEGMENT_WINDOWS windows of records (so the
 *  checkpointer's work, and its memory, scale with the window, not with a
 *  fixed size), within these bounds. */
export const SEGMENT_BYTES_MAX = 64 << 20;
export const SEGMENT_BYTES_MIN = 4 << 20;
export const SEGMENT_WINDOWS = 4;

export function segment_bytes_for(layout: Layout): number {
  const bytes = SEGMENT_WINDOWS * layout.tx_max * L.JOURNAL_RECORD_BYTES;
  return Math.min(SEGMENT_BYTES_MAX, Math.max(SEGMENT_BYTES_MIN, bytes));
}

/** Fail-stop, from any thread: durable() waiters wake and reject, new
 *  transactions answer RS_ERROR_UNKNOWN (an audit's pause or a close already
 *  in the run word is left alone). */
export function mark_journal_failed(u32: Uint32Array, i64: BigInt64Array): void {
  Atomics.store(u32, (L.HEADER_OFFSET + L.H_JOURNAL_FAILED) >>> 2, 1);
  Atomics.compareExchange(u32, (L.HEADER_OFFSET + L.H_RUN) >>> 2, L.RUN_OPEN, L.RUN_FAILED);
  Atomics.notify(i64, (L.HEADER_OFFSET + L.H_DURABLE) / 8);
}

export type FlusherReply = { kind: 'closed' } | { kind: 'failed'; message: string };

const IDLE_SLEEP_MS = 1;
const CLOSE_SPIN_MS = 0.02;
const BATCH_BUFFER_RECORDS = 1 << 16;

class Flusher {
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly i64: BigInt64Array;
  private readonly layout: Layout;
  private readonly sleeper = new Int32Array(new SharedArrayBuffer(4));
  private buffer = Buffer.alloc(BATCH_HEADER_BYTES + BATCH_BUFFER_RECORDS * L.JOURNAL_RECORD_BYTES);
  private readonly bytes: Buffer;
  private fd: number;
  private journal_path: string;
  private readonly checkpoint_state = new Int32Array(new SharedArrayBuffer(4));
  private readonly segment_bytes_max: number;
  private offset: number;
  private prev_crc: number;
  private writes = 0;
  private closing = false;
  private want_seen = 0;

  constructor(private readonly data: FlusherData) {
    const shared = data.memory.buffer as unknown as SharedArrayBuffer;
    this.u32 = new Uint32Array(shared);
    this.i32 = new Int32Array(shared);
    this.i64 = new BigInt64Array(shared);
    this.bytes = Buffer.from(shared);
    this.layout = read_header(shared).layout;
    this.journal_path = data.journal_path;
    this.fd = openSync(data.journal_path, 'r+');
    this.segment_bytes_max = data.faults?.segment_bytes_max ?? segment_bytes_for(this.layout);
    this.offset = data.offset;
    this.prev_crc = data.prev_crc;
  }

  private epoch(): number {
    return Number(Atomics.load(this.i64, (L.HEADER_OFFSET + L.H_EPOCH) / 8));
  }

  private ring_at(slot: number): number {
    return ring_offset(this.layout, slot);
  }

  /** Records appended and not yet taken, over all rings. */
  private pending(): boolean {
    for (let slot = 0; slot < this.layout.threads_max; slot++) {
      const ring = this.ring_at(slot);
      if (Atomics.load(this.u32, (ring + L.RING_HEAD) >>> 2) !== Atomics.load(this.u32, (ring + L.RING_TAIL) >>> 2)) return true;
    }
    return false;
  }

  /** Wait until no slot announces an epoch <= e. A slot whose thread died
   *  mid-call keeps announcing: durability waits until audit() frees it. */
  private wait_closed(e: bigint): void {
    for (let slot = 0; slot < this.layout.threads_max; slot++) {
      const at = (this.layout.threads_offset + slot * L.THREAD_RECORD_BYTES + L.T_ANNOUNCE) / 8;
      for (let spin = 0; ; spin++) {
        const announce = Atomics.load(this.i64, at);
        if (announce === 0n || announce > e) break;
        if (spin > 64) Atomics.wait(this.sleeper, 0, 0, CLOSE_SPIN_MS);
      }
    }
  }

  /** Copy the records of epochs <= e from every ring into the batch buffer;
   *  returns the count and the new tails to publish after the write. */
  private gather(e: number): { count: number; tails: Array<[number, number]> } {
    let count = 0;
    const tails: Array<[number, number]> = [];
    const ring_records = this.layout.ring_records;
    for (let slot = 0; slot < this.layout.threads_max; slot++) {
      const ring = this.ring_at(slot);
      const head = Atomics.load(this.u32, (ring + L.RING_HEAD) >>> 2);
      let tail = Atomics.load(this.u32, (ring + L.RING_TAIL) >>> 2);
      if (head === tail) continue;
      while (tail !== head) {
        const record = ring + L.RING_RECORDS_AT + (tail % ring_records) * L.JOURNAL_RECORD_BYTES;
        // Per slot, epochs only grow: the first record past e ends this ring's share.
        if (Number(this.i64[(record + L.R_EPOCH) / 8]) > e) break;
        if (count === BATCH_BUFFER_RECORDS) this.grow();
        this.bytes.copy(this.buffer, BATCH_HEADER_BYTES + count * L.JOURNAL_RECORD_BYTES, record, record + L.JOURNAL_RECORD_BYTES);
        count++;
        tail = (tail + 1) >>> 0;
      }
      tails.push([ring, tail]);
    }
    return { count, tails };
  }

  private grow(): void {
    const bigger = Buffer.alloc(this.buffer.length * 2);
    this.buffer.copy(bigger);
    this.buffer = bigger;
  }

  private write(length: number): void {
    const faults = this.data.faults;
    if (faults?.fail_after_writes !== undefined && this.writes >= faults.fail_after_writes) {
      const error = new Error(`${faults.errno ?? 'EIO'}: injected journal write failure`) as Error & { code: string };
      error.code = faults.errno ?? 'EIO';
      throw error;
    }
    writeSync(this.fd, this.buffer, 0, length, this.offset);
    if (faults?.pause_ms) Atomics.wait(this.sleeper, 0, 0, faults.pause_ms);
    fdatasyncSync(this.fd);
    this.writes++;
    this.offset += length;
  }

  /** One group commit. Returns false when there was nothing to do: no
   *  records pending, and no durable() asked since the last flush (a waiter
   *  of a read-only answer needs the open epoch closed even when it is empty). */
  flush_once(): boolean {
    const want_word = (L.HEADER_OFFSET + L.H_FLUSH_WANT) >>> 2;
    if (!this.pending() && Atomics.load(this.u32, want_word) === this.want_seen) {
      if (this.closing) return false;
      Atomics.wait(this.i32, want_word, this.want_seen | 0, IDLE_SLEEP_MS);
      if (!this.pending() && Atomics.load(this.u32, want_word) === this.want_seen) return false;
    }
    this.want_seen = Atomics.load(this.u32, want_word); // read before E moves: a later want gets its own flush
    const e = this.epoch();
    Atomics.store(this.i64, (L.HEADER_OFFSET + L.H_EPOCH) / 8, BigInt(e + 1));
    this.wait_closed(BigInt(e));
    const { count, tails } = this.gather(e);
    if (count > 0) {
      this.prev_crc = seal_batch(this.buffer, e, count, this.prev_crc, Date.now());
      this.write(BATCH_HEADER_BYTES + count * L.JOURNAL_RECORD_BYTES);
    }
    for (const [ring, tail] of tails) {
      Atomics.store(this.u32, (ring + L.RING_TAIL) >>> 2, tail);
      Atomics.notify(this.i32, (ring + L.RING_TAIL) >>> 2); // a caller waiting for room
    }
    Atomics.store(this.i64, (L.HEADER_OFFSET + L.H_DURABLE) / 8, BigInt(e));
    Atomics.notify(this.i64, (L.HEADER_OFFSET + L.H_DURABLE) / 8);
    if (this.offset >= this.segment_bytes_max && Atomics.load(this.checkpoint_state, 0) !== CHECKPOINT_RUNNING) {
      this.checkpoint_in_background(this.rotate(e + 1));
    }
    return true;
  }

  /** Close the current segment and start the next (its first batch will be
   *  epoch `next_epoch` or later). Returns the closed segments. */
  private rotate(next_epoch: number): string[] {
    closeSync(this.fd);
    const closed = segments_of(this.data.dir);
    this.journal_path = join(this.data.dir, segment_name(next_epoch));
    writeFileSync(this.journal_path, '');
    fsync_path(this.data.dir);
    this.fd = openSync(this.journal_path, 'r+');
    this.offset = 0;
    this.prev_crc = 0;
    return closed.filter((path) => path !== this.journal_path);
  }

  /** Fold closed segments into the checkpoint in another thread, so that
   *  flushes go on meanwhile. */
  private checkpoint_in_background(segments: string[]): void {
    Atomics.store(this.checkpoint_state, 0, CHECKPOINT_RUNNING);
    const data: CheckpointerData = { kind: 'exwallet.checkpointer', dir: this.data.dir, segments, state: this.checkpoint_state };
    new Worker(new URL('./checkpointer.js', import.meta.url), { workerData: data }).unref();
  }

  /** close(): wait out a background checkpoint, then fold everything into
   *  a last one, so that the next start replays no journal at all. */
  private final_checkpoint(): void {
    while (Atomics.load(this.checkpoint_state, 0) === CHECKPOINT_RUNNING) Atomics.wait(this.checkpoint_state, 0, CHECKPOINT_RUNNING, 100);
    if (this.offset === 0 && segments_of(this.data.dir).length <= 1) return; // nothing since the last checkpoint
    const closed = this.rotate(this.epoch());
    write_checkpoint(this.data.dir, closed);
    Atomics.store(this.checkpoint_state, 0, CHECKPOINT_IDLE);
  }

  fail(error: Error): void {
    mark_journal_failed(this.u32, this.i64);
    parentPort?.postMessage({ kind: 'failed', message: error.message } satisfies FlusherReply);
  }

  run(): void {
    try {
      for (;;) {
        if (Atomics.load(this.u32, (L.HEADER_OFFSET + L.H_FLUSH_CLOSE) >>> 2) !== 0) this.closing = true;
        const worked = this.flush_once();
        if (!worked && this.closing) break;
      }
      this.final_checkpoint();
      closeSync(this.fd);
      parentPort?.postMessage({ kind: 'closed' } satisfies FlusherReply);
    } catch (error) {
      this.fail(error as Error);
    }
  }

}

if (parentPort && (workerData as { kind?: string } | null)?.kind === 'exwallet.flusher') {
  new Flusher((workerData as { data: FlusherData }).data).run();
}
