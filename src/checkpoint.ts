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
//   28   4   header_crc    crc32 of bytes 0..28 and 32..64
//   32   8   retired_bets  transactions folded here and not live (retired), by
//   40   8   retired_wins  kind, since the wallet began: stats() counts every
//   48   8   retired_rollbacks  transaction ever applied
//   56   8   retired_seq   every retired file up to this seq has been taken out of
//                         the live records (the rotator deletes a file for
//                         retention only once it is, and its epoch is <= epoch)
//   64   8 x user_count    folded deltas, i64 per user slot
//    .  96 x record_count  live journal records (layout_constants.ts), replay order
//
// Journal segments are journal-<first epoch, 16 hex digits>.log; each one's
// batch chain starts afresh (prev_crc 0).

import { crc32 } from 'node:zlib';
import {
  closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, readdirSync, renameSync, unlinkSync, writeSync,
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
  /** Retired transactions folded in, by kind (index KIND_BET, KIND_WIN, KIND_ROLLBACK; 0 unused). */
  retired_counts: number[];
  retired_seq: number;
}

function header_crc(header: Buffer): number {
  return crc32(Buffer.concat([header.subarray(0, 28), header.subarray(32, CHECKPOINT_HEADER_BYTES)]));
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
    header_crc(file.subarray(0, CHECKPOINT_HEADER_BYTES)) === file.readUInt32LE(28);
  const record_count = header_ok ? file.readUInt32LE(16) : 0;
  const user_count = header_ok ? file.readUInt32LE(20) : 0;
  const body = file.subarray(CHECKPOINT_HEADER_BYTES);
  const ok = header_ok &&
    body.length === user_count * 8 + record_count * L.JOURNAL_RECORD_BYTES &&
    crc32(body) === file.readUInt32LE(24);
  if (!ok) throw new JournalCorrupt(`exwallet: ${path} does not check: refusing to open (restore it from a backup)`);
  const deltas = new BigInt64Array(user_count);
  for (let slot = 0; slot < user_count; slot++) deltas[slot] = body.readBigInt64LE(slot * 8);
  const retired_counts = [0, Number(file.readBigUInt64LE(32)), Number(file.readBigUInt64LE(40)), Number(file.readBigUInt64LE(48))];
  return {
    epoch: Number(file.readBigUInt64LE(8)), record_count, deltas, records: body.subarray(user_count * 8), retired_counts,
    retired_seq: Number(file.readBigUInt64LE(56)),
  };
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
  const retired_counts = previous?.retired_counts.slice() ?? [0, 0, 0, 0];
  const { retired, retired_seq } = retired_since(dir, previous_epoch, previous?.retired_seq ?? 0);
  const files = segments.map((path) => readFileSync(path));
  // The live records, copied once into one buffer sized for all of them.
  let bound = previous?.records.length ?? 0;
  for (const file of files) bound += file.length;
  const live = Buffer.allocUnsafe(bound);
  let live_bytes = 0;
  const keep = (source: Buffer, at: number) => {
    if (retired.has(source.toString('latin1', at + L.R_UUID, at + L.R_UUID + 16))) {
      retired_counts[source.readUInt8(at + L.R_KIND)]++;
      return;
    }
    live_bytes += source.copy(live, live_bytes, at, at + L.JOURNAL_RECORD_BYTES);
  };
  if (previous) for (let at = 0; at < previous.records.length; at += L.JOURNAL_RECORD_BYTES) keep(previous.records, at);
  let epoch = previous_epoch;
  for (const [index, file] of files.entries()) {
    const scan = scan_journal(file, epoch);
    if (scan.end === 'torn' && index < files.length - 1) {
      throw new JournalCorrupt(`exwallet: journal segment ${segments[index]} is torn in the middle of the journal`);
    }
    for (const batch of scan.batches) {
      for (const at of replay_order(file, batch)) {
        const slot = file.readUInt32LE(at + L.R_USER_SLOT);
        const amount = file.readBigInt64LE(at + L.R_AMOUNT);
        deltas.set(slot, (deltas.get(slot) ?? 0n) + (file.readUInt8(at + L.R_KIND) === L.KIND_BET ? -amount : amount));
        keep(file, at);
      }
    }
    epoch = Math.max(epoch, scan.last_epoch);
  }
  const records = live.subarray(0, live_bytes);
  let user_count = 0;
  for (const slot of deltas.keys()) user_count = Math.max(user_count, slot + 1);
  const folded = Buffer.alloc(user_count * 8);
  for (const [slot, delta] of deltas) folded.writeBigInt64LE(delta, slot * 8);
  const header = Buffer.alloc(CHECKPOINT_HEADER_BYTES);
  header.writeUInt32LE(CHECKPOINT_MAGIC, 0);
  header.writeUInt32LE(CHECKPOINT_VERSION, 4);
  header.writeBigUInt64LE(BigInt(epoch), 8);
  header.writeUInt32LE(records.length / L.JOURNAL_RECORD_BYTES, 16);
  header.writeUInt32LE(user_count, 20);
  header.writeUInt32LE(crc32(records, crc32(folded)), 24);
  header.writeBigUInt64LE(BigInt(retired_counts[L.KIND_BET]), 32);
  header.writeBigUInt64LE(BigInt(retired_counts[L.KIND_WIN]), 40);
  header.writeBigUInt64LE(BigInt(retired_counts[L.KIND_ROLLBACK]), 48);
  header.writeBigUInt64LE(BigInt(retired_seq), 56);
  header.writeUInt32LE(header_crc(header), 28);
  const tmp = join(dir, `${CHECKPOINT_FILE}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    for (const part of [header, folded, records]) {
      for (let at = 0; at < part.length; at += 1 << 24) writeSync(fd, part, at, Math.min(1 << 24, part.length - at));
    }
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

/** The uuids of the retired files that may hold records the previous
 *  checkpoint kept live or that come after it: the files it did not see
 *  (a seq past its retired_seq), and those with records past its epoch (a
 *  file's epoch bounds its records'). Returns them with the highest seq
 *  seen, the new checkpoint's retired_seq. */
function retired_since(dir: string, previous_epoch: number, previous_seq: number): { retired: Set<string>; retired_seq: number } {
  const store = new RetiredStore(dir);
  const retired = new Set<string>();
  let retired_seq = previous_seq;
  for (const file of store.files()) {
    retired_seq = Math.max(retired_seq, file.seq);
    if (file.seq <= previous_seq && file.max_epoch <= previous_epoch) continue;
    const uuids = store.uuids_of(file.path);
    for (let at = 0; at < uuids.length; at += 16) retired.add(uuids.toString('latin1', at, at + 16));
  }
  store.close();
  return { retired, retired_seq };
}

/** The rotator's question before deleting a retired file for retention:
 *  have checkpoints taken all its records out of the live records, and out
 *  of the journal? (Else a crash would bring them back from the journal.) */
export function checkpoint_holds_retired(dir: string): (file: { seq: number; max_epoch: number }) => boolean {
  const path = join(dir, CHECKPOINT_FILE);
  if (!existsSync(path)) return () => false;
  const header = Buffer.alloc(CHECKPOINT_HEADER_BYTES);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, CHECKPOINT_HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32LE(0) !== CHECKPOINT_MAGIC || header_crc(header) !== header.readUInt32LE(28)) return () => false;
  const epoch = Number(header.readBigUInt64LE(8));
  const seq = Number(header.readBigUInt64LE(56));
  return (file) => file.seq <= seq && file.max_epoch <= epoch;
}
