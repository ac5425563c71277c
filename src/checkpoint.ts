// Checkpoints: recovery starts from the newest one instead of the beginning.
//
// A checkpoint is built from the journal, never from live memory (lock-free
// memory has no consistent instant): the previous checkpoint plus the
// journal segments it replaces, written to checkpoint.bin.tmp, fsync'd,
// renamed over checkpoint.bin, the directory fsync'd, and only then the
// replaced segments deleted. A crash at any point leaves either the old
// checkpoint with all its segments, or the new one (with segments it already
// holds, whose batches recovery skips by epoch): nothing is lost.
//
// It holds the money of every transaction up to its epoch, as one folded
// delta per user (a user's balance = its users.log balance + that delta),
// and the records of the transactions still LIVE: those not in any retired
// file (src/retired.ts). A retired transaction is on disk there, exactly-once
// for its retention; its money is in the folded delta. So a checkpoint stays
// the size of the in-memory window, however long the wallet runs.
//
// checkpoint.bin:
//
//   off size field
//    0   4   magic         "EXWC"
//    4   4   version       CHECKPOINT_VERSION
//    8   8   epoch         every journal batch up to this epoch is in it
//   16   4   record_count  live records
//   20   4   user_count    folded deltas (user slots 0 .. user_count - 1)
//   24   4   body_crc      crc32 of the deltas and the records
//   28   4   header_crc    crc32 of bytes 0..28
//   32  32   (zero)
//   64   8 x user_count    folded deltas, i64 per user slot
//    .  96 x record_count  live journal records (layout_constants.ts), replay order
//
// Journal segments are journal-<first epoch, 16 hex digits>.log; each one's
// batch chain starts afresh (prev_crc 0).

import { crc32 } from 'node:zlib';
import {
  closeSync, existsSync, fsyncSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { L } from './layout.js';
import { scan_journal, JournalCorrupt, type Batch } from './journal_format.js';
import { RetiredStore } from './retired.js';

export const CHECKPOINT_MAGIC = 0x43575845; // "EXWC"
export const CHECKPOINT_HEADER_BYTES = 64;
export const CHECKPOINT_VERSION = 2;
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
  /** Folded delta per user slot (index = slot). */
  deltas: BigInt64Array;
  /** The live records, replay order. */
  records: Buffer;
}

/** The checkpoint of `dir`, or undefined. One that does not check is
 *  corruption (it was renamed into place whole, after its fsync). */
export function read_checkpoint(dir: string): Checkpoint | undefined {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) return undefined;
  const file = readFileSync(path);
  const header_ok =
    file.length >= CHECKPOINT_HEADER_BYTES &&
    file.readUInt32LE(0) === CHECKPOINT_MAGIC &&
    file.readUInt32LE(4) === CHECKPOINT_VERSION &&
    crc32(file.subarray(0, 28)) === file.readUInt32LE(28);
  const record_count = header_ok ? file.readUInt32LE(16) : 0;
  const user_count = header_ok ? file.readUInt32LE(20) : 0;
  const body = file.subarray(CHECKPOINT_HEADER_BYTES);
  const ok = header_ok &&
    body.length === user_count * 8 + record_count * L.JOURNAL_RECORD_BYTES &&
    crc32(body) === file.readUInt32LE(24);
  if (!ok) throw new JournalCorrupt(`exwallet: ${path} does not check: refusing to open (restore it from a backup)`);
  const deltas = new BigInt64Array(user_count);
  for (let slot = 0; slot < user_count; slot++) deltas[slot] = body.readBigInt64LE(slot * 8);
  return { epoch: Number(file.readBigUInt64LE(8)), record_count, deltas, records: body.subarray(user_count * 8) };
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
 *  live records now in the checkpoint. */
export function write_checkpoint(dir: string, segments: readonly string[]): number {
  const previous = read_checkpoint(dir);
  const previous_epoch = previous?.epoch ?? 0;
  const deltas = new Map<number, bigint>();
  previous?.deltas.forEach((delta, slot) => deltas.set(slot, delta));
  const parts: Buffer[] = previous ? [previous.records] : [];
  let epoch = previous_epoch;
  for (const [index, path] of segments.entries()) {
    const file = readFileSync(path);
    const scan = scan_journal(file, epoch);
    if (scan.end === 'torn' && index < segments.length - 1) {
      throw new JournalCorrupt(`exwallet: journal segment ${path} is torn in the middle of the journal`);
    }
    for (const batch of scan.batches) {
      for (const at of replay_order(file, batch)) {
        const slot = file.readUInt32LE(at + L.R_USER_SLOT);
        const amount = file.readBigInt64LE(at + L.R_AMOUNT);
        deltas.set(slot, (deltas.get(slot) ?? 0n) + (file.readUInt8(at + L.R_KIND) === L.KIND_BET ? -amount : amount));
        parts.push(file.subarray(at, at + L.JOURNAL_RECORD_BYTES));
      }
    }
    epoch = Math.max(epoch, scan.last_epoch);
  }
  const records = without_retired(dir, Buffer.concat(parts), previous_epoch);
  let user_count = 0;
  for (const slot of deltas.keys()) user_count = Math.max(user_count, slot + 1);
  const body = Buffer.alloc(user_count * 8 + records.length);
  for (const [slot, delta] of deltas) body.writeBigInt64LE(delta, slot * 8);
  records.copy(body, user_count * 8);
  const header = Buffer.alloc(CHECKPOINT_HEADER_BYTES);
  header.writeUInt32LE(CHECKPOINT_MAGIC, 0);
  header.writeUInt32LE(CHECKPOINT_VERSION, 4);
  header.writeBigUInt64LE(BigInt(epoch), 8);
  header.writeUInt32LE(records.length / L.JOURNAL_RECORD_BYTES, 16);
  header.writeUInt32LE(user_count, 20);
  header.writeUInt32LE(crc32(body), 24);
  header.writeUInt32LE(crc32(header.subarray(0, 28)), 28);
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, header);
    for (let at = 0; at < body.length; at += 1 << 24) writeSync(fd, body, at, Math.min(1 << 24, body.length - at));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, CHECKPOINT_FILE));
  fsync_path(dir);
  for (const path of segments) unlinkSync(path);
  fsync_path(dir);
  return records.length / L.JOURNAL_RECORD_BYTES;
}

/** `records` without those some retired file holds. Only files retired at
 *  an epoch past the previous checkpoint's can hold records it still kept
 *  live or that came after it (a file's epoch bounds its records'). */
function without_retired(dir: string, records: Buffer, previous_epoch: number): Buffer {
  const store = new RetiredStore(dir);
  const retired = new Set<string>();
  for (const file of store.files()) {
    if (file.max_epoch <= previous_epoch) continue;
    const uuids = store.uuids_of(file.path);
    for (let at = 0; at < uuids.length; at += 16) retired.add(uuids.toString('latin1', at, at + 16));
  }
  if (retired.size === 0) return records;
  const kept: Buffer[] = [];
  for (let at = 0; at < records.length; at += L.JOURNAL_RECORD_BYTES) {
    if (!retired.has(records.toString('latin1', at + L.R_UUID, at + L.R_UUID + 16))) kept.push(records.subarray(at, at + L.JOURNAL_RECORD_BYTES));
  }
  return Buffer.concat(kept);
}
