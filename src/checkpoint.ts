// Checkpoints: recovery starts from the newest one instead of the beginning.
//
// A checkpoint is built from the journal, never from live memory (lock-free
// memory has no consistent instant): the previous checkpoint's records plus
// those of the journal segments it replaces, in an order recovery can apply
// one by one (a bet before what settles it), written to checkpoint.bin.tmp,
// fsync'd, renamed over checkpoint.bin, the directory fsync'd, and only then
// the replaced segments deleted. A crash at any point leaves either the old
// checkpoint with all its segments, or the new one (with segments it already
// holds, whose batches recovery skips by epoch): nothing is lost.
//
// checkpoint.bin:
//
//   off size field
//    0   4   magic         "EXWC"
//    4   4   version       JOURNAL_VERSION
//    8   8   epoch         every journal batch up to this epoch is in it
//   16   4   record_count
//   20   4   body_crc      crc32 of the records
//   24   4   header_crc    crc32 of bytes 0..24
//   28  36   (zero)
//   64  96 x record_count  journal records (layout_constants.ts), replay order
//
// Journal segments are journal-<first epoch, 16 hex digits>.log; each one's
// batch chain starts afresh (prev_crc 0).

import { crc32 } from 'node:zlib';
import {
  closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { L } from './layout.js';
import { JOURNAL_VERSION, scan_journal, JournalCorrupt, type Batch } from './journal_format.js';

export const CHECKPOINT_MAGIC = 0x43575845; // "EXWC"
export const CHECKPOINT_HEADER_BYTES = 64;
export const CHECKPOINT_FILE = 'checkpoint.bin';
const SEGMENT_PATTERN = /^journal-([0-9a-f]{16})\.log$/;

export function segment_name(first_epoch: number): string {
  return `journal-${first_epoch.toString(16).padStart(16, '0')}.log`;
}

/** The journal segments of `dir`, oldest first. */
export function segments_of(dir: string): string[] {
  return readdirSync(dir).filter((name) => SEGMENT_PATTERN.test(name)).sort().map((name) => join(dir, name));
}

export interface Checkpoint {
  epoch: number;
  record_count: number;
  /** The records, replay order. */
  records: Buffer;
}

/** The checkpoint of `dir`, or undefined. One that does not check is
 *  corruption (it was renamed into place whole, after its fsync). */
export function read_checkpoint(dir: string): Checkpoint | undefined {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) return undefined;
  const file = readFileSync(path);
  const record_count = file.length >= CHECKPOINT_HEADER_BYTES ? file.readUInt32LE(16) : -1;
  const records = file.subarray(CHECKPOINT_HEADER_BYTES);
  const ok =
    record_count >= 0 &&
    file.readUInt32LE(0) === CHECKPOINT_MAGIC &&
    file.readUInt32LE(4) === JOURNAL_VERSION &&
    crc32(file.subarray(0, 24)) === file.readUInt32LE(24) &&
    records.length === record_count * L.JOURNAL_RECORD_BYTES &&
    crc32(records) === file.readUInt32LE(20);
  if (!ok) throw new JournalCorrupt(`exwallet: ${path} does not check: refusing to open (restore it from a backup)`);
  return { epoch: Number(file.readBigUInt64LE(8)), record_count, records };
}

/** Offsets of a batch's records in the order recovery applies them: bets
 *  first. Within one epoch a bet and the win that settles it may sit in
 *  different threads' rings, in either order; no bet depends on a
 *  settlement, so applying a batch's bets first is always possible. */
export function replay_order(file: Buffer, batch: Batch): number[] {
  const bets: number[] = [];
  const settlements: number[] = [];
  for (let i = 0; i < batch.record_count; i++) {
    const at = batch.records_offset + i * L.JOURNAL_RECORD_BYTES;
    (file.readUInt8(at + L.R_KIND) === L.KIND_BET ? bets : settlements).push(at);
  }
  return bets.concat(settlements);
}

/** fsync a file or a directory by path (a directory's entries: a rename or a new file is durable only then). */
export function fsync_path(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Fold `segments` (full, closed journal segments, oldest first) into a new
 *  checkpoint at `epoch` (their last batch's), then delete them. Returns the
 *  records now in the checkpoint. */
export function write_checkpoint(dir: string, segments: readonly string[]): number {
  const previous = read_checkpoint(dir);
  const parts: Buffer[] = previous ? [previous.records] : [];
  let record_count = previous?.record_count ?? 0;
  let epoch = previous?.epoch ?? 0;
  for (const [index, path] of segments.entries()) {
    const file = readFileSync(path);
    const scan = scan_journal(file, epoch);
    if (scan.end === 'torn' && index < segments.length - 1) {
      throw new JournalCorrupt(`exwallet: journal segment ${path} is torn in the middle of the journal`);
    }
    for (const batch of scan.batches) {
      // Runs of adjacent records are copied as one piece (most batches are one run).
      const order = replay_order(file, batch);
      for (let i = 0; i < order.length;) {
        let run = 1;
        while (i + run < order.length && order[i + run] === order[i] + run * L.JOURNAL_RECORD_BYTES) run++;
        parts.push(file.subarray(order[i], order[i] + run * L.JOURNAL_RECORD_BYTES));
        i += run;
      }
      record_count += batch.record_count;
    }
    epoch = Math.max(epoch, scan.last_epoch);
  }
  const records = Buffer.concat(parts);
  const header = Buffer.alloc(CHECKPOINT_HEADER_BYTES);
  header.writeUInt32LE(CHECKPOINT_MAGIC, 0);
  header.writeUInt32LE(JOURNAL_VERSION, 4);
  header.writeBigUInt64LE(BigInt(epoch), 8);
  header.writeUInt32LE(record_count, 16);
  header.writeUInt32LE(crc32(records), 20);
  header.writeUInt32LE(crc32(header.subarray(0, 24)), 24);
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, header);
    for (let at = 0; at < records.length; at += 1 << 24) writeSync(fd, records, at, Math.min(1 << 24, records.length - at));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, CHECKPOINT_FILE));
  fsync_path(dir);
  for (const path of segments) unlinkSync(path);
  fsync_path(dir);
  return record_count;
}
