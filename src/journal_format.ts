// The files of a durable wallet's data directory, and their formats. Written
// once here; the flusher writes them, recovery and the tests read them.
//
//   <dataDir>/
//     LOCK              the pid of the process that has the directory open
//     wallet.json       the wallet's options, fingerprint seed and format versions
//     users.log         one frame per createUsers batch, fsync'd before the users are published
//     journal-<epoch>.log   journal segments: one batch per group commit (epoch),
//                       appended by the flusher (checkpoint.ts names them)
//     checkpoint.bin    (optional) every user's money up to an epoch, and the
//                       transactions still in memory then (checkpoint.ts)
//     retired-<seq>.bin the settled transactions of one retired generation of
//                       the window, uuid-sorted, deleted after retentionDays
//                       (retired.ts; rotation.ts retires them)
//
// A journal segment is a sequence of batches; a batch completes one epoch:
//
//   off size field
//    0   4   magic        "EXWB"
//    4   4   version      JOURNAL_VERSION
//    8   8   epoch        u64: every record in the batch has epoch <= this
//   16   4   record_count
//   20   4   body_crc     crc32 of the records
//   24   4   prev_crc     header_crc of the batch before (0 for the first): the chain
//   28   4   header_crc   crc32 of bytes 0..28
//   32   8   time_ms      f64 wall clock when the batch was written
//   40  24   (zero)
//   64  96 x record_count  journal records (layout_constants.ts, "journal record")
//
// A torn or stale tail (a batch whose header or body does not check, or
// whose chain or epoch does not follow) ends the journal: recovery truncates
// there. A bad batch followed by a good one is corruption in the middle:
// recovery refuses to open (EXWALLET_JOURNAL_CORRUPT) rather than lose it.
//
// users.log is a sequence of frames: u32 payload_bytes, u32 crc32(payload),
// payload = one or more users: u32 slot, f64 balance_units, u8 currency
// bytes, u8 name bytes, currency, name.

import { crc32 } from 'node:zlib';
import { L } from './layout.js';

export const BATCH_MAGIC = 0x42575845; // "EXWB"
export const JOURNAL_VERSION = 1;
export const BATCH_HEADER_BYTES = 64;
export const FRAME_HEADER_BYTES = 8;
export const FILES = {
  lock: 'LOCK',
  meta: 'wallet.json',
  users: 'users.log',

} as const;

export interface Batch {
  epoch: number;
  record_count: number;
  /** Byte offset of the batch in the file, and of its first record. */
  offset: number;
  records_offset: number;
  header_crc: number;
  time_ms: number;
}

/** Write the header of a batch of `record_count` records already at
 *  `buffer[BATCH_HEADER_BYTES ..]`. */
export function seal_batch(buffer: Buffer, epoch: number, record_count: number, prev_crc: number, time_ms: number): number {
  const body_bytes = record_count * L.JOURNAL_RECORD_BYTES;
  buffer.fill(0, 0, BATCH_HEADER_BYTES);
  buffer.writeUInt32LE(BATCH_MAGIC, 0);
  buffer.writeUInt32LE(JOURNAL_VERSION, 4);
  buffer.writeBigUInt64LE(BigInt(epoch), 8);
  buffer.writeUInt32LE(record_count, 16);
  buffer.writeUInt32LE(crc32(buffer.subarray(BATCH_HEADER_BYTES, BATCH_HEADER_BYTES + body_bytes)), 20);
  buffer.writeUInt32LE(prev_crc, 24);
  const header_crc = crc32(buffer.subarray(0, 28));
  buffer.writeUInt32LE(header_crc, 28);
  buffer.writeDoubleLE(time_ms, 32);
  return header_crc;
}

export type ScanEnd = 'end' | 'torn';

export interface JournalScan {
  batches: Batch[];
  /** Bytes of the valid prefix: recovery truncates the file there. */
  valid_bytes: number;
  end: ScanEnd;
  last_epoch: number;
  last_crc: number;
}

export class JournalCorrupt extends Error {
  readonly code = 'EXWALLET_JOURNAL_CORRUPT';
}

/** Is there a well-formed batch header anywhere after `from`? A torn tail
 *  has none; damage in the middle does. Batches start at multiples of 32
 *  bytes (a 64-byte header, then 96-byte records), so those are the places
 *  to look. */
function later_batch_exists(file: Buffer, from: number): boolean {
  for (let at = from + 32; at + BATCH_HEADER_BYTES <= file.length; at += 32) {
    if (file.readUInt32LE(at) !== BATCH_MAGIC) continue;
    if (crc32(file.subarray(at, at + 28)) === file.readUInt32LE(at + 28)) return true;
  }
  return false;
}

/** Walk the batches of a journal segment; stop at the first one that does
 *  not check. Batches up to `after_epoch` (already in the checkpoint) are
 *  checked but not returned. */
export function scan_journal(file: Buffer, after_epoch: number): JournalScan {
  const batches: Batch[] = [];
  let at = 0;
  let prev_crc = 0;
  let last_epoch = 0;
  let end: ScanEnd = 'end';
  while (at < file.length) {
    if (file.length - at < BATCH_HEADER_BYTES || file.readUInt32LE(at) !== BATCH_MAGIC) {
      end = file.subarray(at).every((byte) => byte === 0) ? 'end' : 'torn';
      break;
    }
    const header_crc = file.readUInt32LE(at + 28);
    const record_count = file.readUInt32LE(at + 16);
    const body_end = at + BATCH_HEADER_BYTES + record_count * L.JOURNAL_RECORD_BYTES;
    const epoch = Number(file.readBigUInt64LE(at + 8));
    const ok =
      crc32(file.subarray(at, at + 28)) === header_crc &&
      file.readUInt32LE(at + 4) === JOURNAL_VERSION &&
      file.readUInt32LE(at + 24) === prev_crc &&
      epoch > last_epoch &&
      body_end <= file.length &&
      crc32(file.subarray(at + BATCH_HEADER_BYTES, body_end)) === file.readUInt32LE(at + 20);
    if (!ok) {
      end = 'torn';
      break;
    }
    if (epoch > after_epoch) {
      batches.push({ epoch, record_count, offset: at, records_offset: at + BATCH_HEADER_BYTES, header_crc, time_ms: file.readDoubleLE(at + 32) });
    }
    prev_crc = header_crc;
    last_epoch = epoch;
    at = body_end;
  }
  if (end === 'torn' && later_batch_exists(file, at)) {
    throw new JournalCorrupt(
      `exwallet: the journal is corrupt at byte ${at} of ${file.length} with well-formed batches after it: ` +
      'refusing to open (restore the data directory from a backup, or move that journal segment and the ones after it aside to accept the loss)',
    );
  }
  return { batches, valid_bytes: at, end, last_epoch: Math.max(last_epoch, after_epoch), last_crc: prev_crc };
}

export interface UserRecord {
  slot: number;
  balance_units: number;
  currency: string;
  name: string;
}

/** One users.log frame for `users`. */
export function encode_users(users: readonly UserRecord[]): Buffer {
  const parts = users.map((user) => {
    const currency = Buffer.from(user.currency, 'utf8');
    const name = Buffer.from(user.name, 'utf8');
    const part = Buffer.alloc(14 + currency.length + name.length);
    part.writeUInt32LE(user.slot, 0);
    part.writeDoubleLE(user.balance_units, 4);
    part.writeUInt8(currency.length, 12);
    part.writeUInt8(name.length, 13);
    currency.copy(part, 14);
    name.copy(part, 14 + currency.length);
    return part;
  });
  const payload = Buffer.concat(parts);
  const frame = Buffer.alloc(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** The users of every whole frame; a torn last frame (a createUsers that
 *  crashed before its fsync returned: none of its users was published) ends
 *  the log. Returns the users and the bytes of the valid prefix. */
export function decode_users(file: Buffer): { users: UserRecord[]; valid_bytes: number } {
  const users: UserRecord[] = [];
  let at = 0;
  while (at + FRAME_HEADER_BYTES <= file.length) {
    const payload_bytes = file.readUInt32LE(at);
    const end = at + FRAME_HEADER_BYTES + payload_bytes;
    if (payload_bytes === 0 || end > file.length) break;
    const payload = file.subarray(at + FRAME_HEADER_BYTES, end);
    if (crc32(payload) !== file.readUInt32LE(at + 4)) break;
    for (let p = 0; p < payload.length;) {
      const currency_bytes = payload.readUInt8(p + 12);
      const name_bytes = payload.readUInt8(p + 13);
      users.push({
        slot: payload.readUInt32LE(p),
        balance_units: payload.readDoubleLE(p + 4),
        currency: payload.toString('utf8', p + 14, p + 14 + currency_bytes),
        name: payload.toString('utf8', p + 14 + currency_bytes, p + 14 + currency_bytes + name_bytes),
      });
      p += 14 + currency_bytes + name_bytes;
    }
    at = end;
  }
  return { users, valid_bytes: at };
}

/** A journal record, decoded (tests and tools; recovery hands the bytes to the core). */
export interface JournalRecord {
  kind: number;
  user_slot: number;
  epoch: number;
  amount_units: number;
  balance_after_units: number;
  uuid_hex: string;
}

export function decode_record(file: Buffer, at: number): JournalRecord {
  return {
    kind: file.readUInt8(at + L.R_KIND),
    user_slot: file.readUInt32LE(at + L.R_USER_SLOT),
    epoch: Number(file.readBigUInt64LE(at + L.R_EPOCH)),
    amount_units: Number(file.readBigInt64LE(at + L.R_AMOUNT)),
    balance_after_units: Number(file.readBigInt64LE(at + L.R_BALANCE_AFTER)),
    uuid_hex: file.toString('hex', at + L.R_UUID, at + L.R_UUID + 16),
  };
}
