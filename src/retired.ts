// Retired files: the transactions a durable wallet no longer keeps in memory.
//
// When a generation of the in-memory window is retired, its committed
// transactions are written, once, to an immutable retired file in the data
// directory and stay findable there, exactly once, for `retentionDays`; then
// the file is deleted whole. Readers: a duplicate whose uuid has left memory
// (the slow path of the idempotency check), lookup(), and the checkpointer
// (the uuids of each new file, to drop them from its live set).
//
//   <dataDir>/retired-<seq, 16 hex digits>.bin      (retired_file_name)
//
//   off        size             field
//    0           4              magic          "EXWR" (0x52575845 little-endian)
//    4           4              version        RETIRED_VERSION
//    8           8              seq            u64, also in the name
//   16           4              record_count   n
//   20           4              body_crc       crc32 of the records
//   24           4              header_crc     crc32 of bytes 0..24 then 28..64: the whole header but itself
//   28           4              keys_crc       crc32 of the sparse keys (below)
//   32           8              retired_at_ms  f64 wall clock when the file was written
//   40           8              max_epoch      u64 largest R_EPOCH of its records (0 when n = 0)
//   48           8              min_epoch      u64 smallest R_EPOCH (0 when n = 0)
//   56           8              (zero)
//   64          96 x n          journal records (layout_constants.ts, "journal record"),
//                               sorted by uuid (bytes R_UUID..+16) in unsigned byte
//                               order, no uuid twice; flags (byte 1) as the writer gave it
//   64 + 96n     8 x ceil(n/64) sparse keys: bytes R_UUID..+8 of records 0, 64, 128, ...
//
//   | header 64 B | record 0 | record 1 | ... | record n-1 | key 0 | key 1 | ... |
//                 \_________ block 0: records 0..63 ___/ ...      one key per block
//
// Why the sparse keys are stored in the file (a trailer, so the records still
// start at 64 + 96 i): a reader loads a file's index with ONE positioned read
// of n/8 bytes, not n/64 scattered reads or a whole-file scan. They are
// derived from the records, so uuids_of (which reads everything) checks them.
//
// Costs, sketched (n records in a file, F files):
//   - memory: 8 bytes of key per 64 records, 0.125 B per record, loaded per
//     file on its first find (10^9 records: 125 MB per thread), plus ~200 B
//     of bookkeeping per file;
//   - find: per file newest first, a binary search of its keys (~16 compares
//     for 4M records, no I/O) then one pread of one block (64 x 96 = 6 KiB)
//     and a binary search in it. A uuid present in the newest file costs one
//     read; an ABSENT uuid costs one read per file (F reads: the index can
//     bound where a uuid would be, not rule it out). Only when several blocks
//     start with the same 8-byte prefix (adversarial or time-ordered uuids)
//     does it cost more: a binary search over those blocks, one 16-byte read
//     each step, bounded by log2(blocks) + 1 reads;
//   - write: the input indexes sorted by uuid (native sorts of (32-bit word,
//     index) pairs, see sort_order), then the records copied in 6 MiB chunks,
//     each crc'd and written; memory ~32 bytes per record beyond the
//     caller's buffer.
//
// Written by write_retired_file: <name>.tmp, fsync, rename, fsync of the
// directory. A file is therefore whole under its name or absent; a stale
// .tmp (a crash mid-write) matches no reader's pattern, and
// remove_retired_tmp clears it at start. A file whose header or size does not
// check was renamed into place after its fsync, so it is corruption, never a
// torn write: readers throw JournalCorrupt (EXWALLET_JOURNAL_CORRUPT) rather
// than answer "absent", which would let a duplicate apply twice.

import { crc32 } from 'node:zlib';
import {
  closeSync, existsSync, fstatSync, fsyncSync, openSync, readdirSync, readSync, renameSync, unlinkSync, writeSync,
} from 'node:fs';
import { join, basename } from 'node:path';
import { L } from './layout.js';
import { JournalCorrupt } from './journal_format.js';
import { fsync_path } from './checkpoint.js';

export const RETIRED_MAGIC = 0x52575845; // "EXWR"
export const RETIRED_VERSION = 1;
export const RETIRED_HEADER_BYTES = 64;
/** Records per block: one sparse key each, and what one find reads. */
export const RETIRED_BLOCK_RECORDS = 64;
export const RETIRED_KEY_BYTES = 8;
/** Records one file may hold: a generation of the window holds at most
 *  maxTransactions (<= 2^26) transactions; more is the caller's bug. */
export const RETIRED_RECORDS_MAX = 1 << 26;
/** File descriptors a store holds open: those of its newest files (where a
 *  duplicate most likely is). Older files are opened for each read: a store
 *  per thread times 10,000 files would pass any ulimit. */
export const RETIRED_FDS_HELD_MAX = 128;
const RETIRED_PATTERN = /^retired-([0-9a-f]{16})\.bin$/;
const RETIRED_TMP_PATTERN = /^retired-[0-9a-f]{16}\.bin\.tmp$/;
const WRITE_CHUNK_RECORDS = 1 << 16; // 6 MiB of records per write
const UUID_BYTES = 16;
const RECORD_WORDS = L.JOURNAL_RECORD_BYTES / 4;
const BLOCK_BYTES = RETIRED_BLOCK_RECORDS * L.JOURNAL_RECORD_BYTES;
const TWO_32 = 4_294_967_296;

// Header field offsets.
const H_MAGIC = 0;
const H_VERSION = 4;
const H_SEQ = 8;
const H_RECORD_COUNT = 16;
const H_BODY_CRC = 20;
const H_HEADER_CRC = 24;
const H_KEYS_CRC = 28;
const H_RETIRED_AT_MS = 32;
const H_MAX_EPOCH = 40;
const H_MIN_EPOCH = 48;

function assert_that(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`exwallet retired: ${message}`);
}

export function retired_file_name(seq: number): string {
  assert_that(Number.isSafeInteger(seq) && seq >= 0, `seq ${seq} is not a safe non-negative integer`);
  return `retired-${seq.toString(16).padStart(16, '0')}.bin`;
}

function blocks_of(record_count: number): number {
  return Math.ceil(record_count / RETIRED_BLOCK_RECORDS);
}

/** The size a file of `record_count` records must have. */
export function retired_file_bytes(record_count: number): number {
  return RETIRED_HEADER_BYTES + record_count * L.JOURNAL_RECORD_BYTES + blocks_of(record_count) * RETIRED_KEY_BYTES;
}

function keys_offset(record_count: number): number {
  return RETIRED_HEADER_BYTES + record_count * L.JOURNAL_RECORD_BYTES;
}

function header_crc_of(header: Buffer): number {
  return crc32(header.subarray(H_HEADER_CRC + 4, RETIRED_HEADER_BYTES), crc32(header.subarray(0, H_HEADER_CRC)));
}

function read_u64(buffer: Buffer, at: number): number {
  const high = buffer.readUInt32LE(at + 4);
  assert_that(high < 1 << 21, `u64 at ${at} is past 2^53`);
  return high * TWO_32 + buffer.readUInt32LE(at);
}

function is_enoent(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

// ---------------------------------------------------------------- writing

type UuidWords = readonly [Uint32Array, Uint32Array, Uint32Array, Uint32Array];

interface KeyedInput {
  /** The uuid as four big-endian u32 words, by input index (words[0] most significant). */
  words: UuidWords;
  max_epoch: number;
  min_epoch: number;
}

interface SortedInput extends KeyedInput {
  /** order[k]: the input index of the k-th smallest uuid. */
  order: Uint32Array;
}

/** Extract each record's uuid words and epoch, asserting its kind. */
function extract_keys(records: Buffer, record_count: number): KeyedInput {
  const words = [new Uint32Array(record_count), new Uint32Array(record_count), new Uint32Array(record_count), new Uint32Array(record_count)] as const;
  let max_epoch = 0;
  let min_epoch = record_count === 0 ? 0 : Number.MAX_SAFE_INTEGER;
  for (let i = 0; i < record_count; i++) {
    const at = i * L.JOURNAL_RECORD_BYTES;
    const kind = records[at + L.R_KIND]!;
    assert_that(kind === L.KIND_BET || kind === L.KIND_WIN || kind === L.KIND_ROLLBACK, `record ${i} has kind ${kind}`);
    for (let w = 0, b = at + L.R_UUID; w < 4; w++, b += 4) {
      words[w]![i] = ((records[b]! << 24) | (records[b + 1]! << 16) | (records[b + 2]! << 8) | records[b + 3]!) >>> 0;
    }
    const epoch = read_u64(records, at + L.R_EPOCH);
    if (epoch > max_epoch) max_epoch = epoch;
    if (epoch < min_epoch) min_epoch = epoch;
  }
  return { words, max_epoch, min_epoch };
}

// The sort below packs (word, index) into a u64 through a Uint32Array view
// of its buffer, so it needs the low half first: a little-endian host (as
// the WebAssembly memory of the whole library already does).
assert_that(new Uint8Array(new Uint32Array([1]).buffer)[0] === 1, 'this host is not little-endian');

/** The input indexes in ascending uuid order. A round packs each index with
 *  one 32-bit word of its uuid (high half) into a u64 and sorts those with
 *  the typed array's native sort (no comparator calls: 4M pairs in ~0.4 s);
 *  then every run of equal words is sorted the same way by the next word,
 *  at most 4 rounds deep. Random uuids: one round over n and runs of 2 or 3
 *  (~n^2 / 2^33 of them); uuids that share a prefix: one more round per
 *  shared word over the runs sharing it, n x 4 pairs sorted at worst. */
function sort_order(words: UuidWords, record_count: number): Uint32Array {
  const order = new Uint32Array(record_count);
  for (let i = 0; i < record_count; i++) order[i] = i;
  const pairs = new BigUint64Array(record_count);
  sort_run(words, order, pairs, new Uint32Array(pairs.buffer), 0, record_count, 0);
  return order;
}

/** Sort order[start..end) (whose uuids share words 0..level-1) by words level..3. */
function sort_run(words: UuidWords, order: Uint32Array, pairs: BigUint64Array, halves: Uint32Array, start: number, end: number, level: number): void {
  const word = words[level]!;
  const count = end - start;
  for (let j = 0; j < count; j++) {
    const index = order[start + j]!;
    halves[2 * j] = index;
    halves[2 * j + 1] = word[index]!;
  }
  pairs.subarray(0, count).sort();
  for (let j = 0; j < count; j++) order[start + j] = halves[2 * j]!;
  if (level === 3) return; // equal in all four words: the duplicate check reports it
  // `pairs` is free again: each run below reuses it from 0.
  for (let run_start = start; run_start < end;) {
    const value = word[order[run_start]!];
    let run_end = run_start + 1;
    while (run_end < end && word[order[run_end]!] === value) run_end++;
    if (run_end - run_start > 1) sort_run(words, order, pairs, halves, run_start, run_end, level + 1);
    run_start = run_end;
  }
}

function uuid_hex_of(words: UuidWords, index: number): string {
  return words.map((word) => word[index]!.toString(16).padStart(8, '0')).join('');
}

/** Sorted order of `records`, their uuid words and epoch bounds. */
function sort_input(records: Buffer, record_count: number): SortedInput {
  const input = extract_keys(records, record_count);
  return { ...input, order: sort_order(input.words, record_count) };
}

function duplicate_error(sorted: SortedInput, k: number): Error {
  const a = sorted.order[k - 1]!;
  const b = sorted.order[k]!;
  return new Error(`exwallet retired: uuid ${uuid_hex_of(sorted.words, b)} appears twice in the records to retire (records ${Math.min(a, b)} and ${Math.max(a, b)})`);
}

function write_all(fd: number, buffer: Buffer, length: number, position: number): void {
  for (let done = 0; done < length;) done += writeSync(fd, buffer, done, length - done, position + done);
}

/** Copy the sorted records into the file in chunks, and the sparse keys
 *  after them. Returns the body crc. Throws on two equal uuids (adjacent
 *  once sorted), checked on the chunk just gathered, in cache, before it is
 *  written: a separate pass over the sorted order would cost 4 random reads
 *  per record (~0.4 s for 4M). */
function write_body(fd: number, records: Buffer, sorted: SortedInput, record_count: number, keys: Buffer): number {
  // Records move as 24 u32 words when the caller's buffer is 4-aligned (a
  // Buffer.copy per 96-byte record costs ~5x more in Node 20); Buffer.alloc
  // is never pooled, so the chunk always is.
  const chunk = Buffer.alloc(Math.min(record_count, WRITE_CHUNK_RECORDS) * L.JOURNAL_RECORD_BYTES);
  const target_words = new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 2);
  const source_words = records.byteOffset % 4 === 0 ? new Uint32Array(records.buffer, records.byteOffset, records.length >>> 2) : undefined;
  const [w0, w1] = sorted.words;
  const uuid_word = L.R_UUID / 4;
  // The previous record's uuid, as the chunk's native-order words: only equality is asked of them.
  let previous_0 = 0, previous_1 = 0, previous_2 = 0, previous_3 = 0;
  let body_crc = 0;
  for (let first = 0; first < record_count; first += WRITE_CHUNK_RECORDS) {
    const count = Math.min(WRITE_CHUNK_RECORDS, record_count - first);
    for (let j = 0; j < count; j++) {
      const k = first + j;
      const index = sorted.order[k]!;
      const from = index * L.JOURNAL_RECORD_BYTES;
      if (source_words !== undefined) {
        for (let w = 0, t = j * RECORD_WORDS, f = index * RECORD_WORDS; w < RECORD_WORDS; w++) target_words[t + w] = source_words[f + w]!;
      } else {
        records.copy(chunk, j * L.JOURNAL_RECORD_BYTES, from, from + L.JOURNAL_RECORD_BYTES);
      }
      const u = j * RECORD_WORDS + uuid_word;
      const u0 = target_words[u]!, u1 = target_words[u + 1]!, u2 = target_words[u + 2]!, u3 = target_words[u + 3]!;
      if (k > 0 && u0 === previous_0 && u1 === previous_1 && u2 === previous_2 && u3 === previous_3) throw duplicate_error(sorted, k);
      previous_0 = u0;
      previous_1 = u1;
      previous_2 = u2;
      previous_3 = u3;
      if (k % RETIRED_BLOCK_RECORDS === 0) {
        const key_at = (k / RETIRED_BLOCK_RECORDS) * RETIRED_KEY_BYTES;
        keys.writeUInt32BE(w0[index]!, key_at);
        keys.writeUInt32BE(w1[index]!, key_at + 4);
      }
    }
    const bytes = count * L.JOURNAL_RECORD_BYTES;
    body_crc = crc32(chunk.subarray(0, bytes), body_crc);
    write_all(fd, chunk, bytes, RETIRED_HEADER_BYTES + first * L.JOURNAL_RECORD_BYTES);
  }
  write_all(fd, keys, keys.length, keys_offset(record_count));
  return body_crc;
}

function encode_header(seq: number, record_count: number, body_crc: number, keys_crc: number, retired_at_ms: number, sorted: SortedInput): Buffer {
  const header = Buffer.alloc(RETIRED_HEADER_BYTES);
  header.writeUInt32LE(RETIRED_MAGIC, H_MAGIC);
  header.writeUInt32LE(RETIRED_VERSION, H_VERSION);
  header.writeBigUInt64LE(BigInt(seq), H_SEQ);
  header.writeUInt32LE(record_count, H_RECORD_COUNT);
  header.writeUInt32LE(body_crc, H_BODY_CRC);
  header.writeUInt32LE(keys_crc, H_KEYS_CRC);
  header.writeDoubleLE(retired_at_ms, H_RETIRED_AT_MS);
  header.writeBigUInt64LE(BigInt(sorted.max_epoch), H_MAX_EPOCH);
  header.writeBigUInt64LE(BigInt(sorted.min_epoch), H_MIN_EPOCH);
  header.writeUInt32LE(header_crc_of(header), H_HEADER_CRC);
  return header;
}

/** Write `records` (n x 96 bytes, any order) as retired file `seq` of `dir`:
 *  sorted by uuid, to <name>.tmp, fsync'd, renamed into place, the directory
 *  fsync'd. When it returns, the file is durable and whole; a reader sees it
 *  after its next RetiredStore.refresh() (never part of it). Throws, writing
 *  nothing under the name, on a uuid that appears twice in `records`, on a
 *  record whose kind is not BET/WIN/ROLLBACK, and if retired file `seq`
 *  already exists (retired files are immutable: written once).
 *  Allocates ~32 bytes per record plus a 6 MiB chunk. */
export function write_retired_file(dir: string, seq: number, records: Buffer, retired_at_ms: number): { path: string; record_count: number; max_epoch: number } {
  assert_that(records.length % L.JOURNAL_RECORD_BYTES === 0, `${records.length} bytes of records is not a multiple of ${L.JOURNAL_RECORD_BYTES}`);
  const record_count = records.length / L.JOURNAL_RECORD_BYTES;
  assert_that(record_count <= RETIRED_RECORDS_MAX, `${record_count} records do not fit one retired file`);
  assert_that(Number.isFinite(retired_at_ms), `retired_at_ms ${retired_at_ms} is not finite`);
  const path = join(dir, retired_file_name(seq));
  assert_that(!existsSync(path), `${path} already exists (retired files are written once)`);
  const sorted = sort_input(records, record_count);
  const keys = Buffer.alloc(blocks_of(record_count) * RETIRED_KEY_BYTES);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    const body_crc = write_body(fd, records, sorted, record_count, keys);
    write_all(fd, encode_header(seq, record_count, body_crc, crc32(keys), retired_at_ms, sorted), RETIRED_HEADER_BYTES, 0);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsync_path(dir);
  return { path, record_count, max_epoch: sorted.max_epoch };
}

/** Delete the .tmp files a crash mid-write left in `dir`. Only at start,
 *  before any writer runs (it would delete a write in progress). Returns how
 *  many it deleted. */
export function remove_retired_tmp(dir: string): number {
  let removed = 0;
  for (const name of readdirSync(dir)) {
    if (!RETIRED_TMP_PATTERN.test(name)) continue;
    try {
      unlinkSync(join(dir, name));
      removed++;
    } catch (error) {
      if (!is_enoent(error)) throw error;
    }
  }
  if (removed > 0) fsync_path(dir);
  return removed;
}

// ---------------------------------------------------------------- reading

export interface RetiredHeader {
  path: string;
  seq: number;
  record_count: number;
  body_crc: number;
  keys_crc: number;
  retired_at_ms: number;
  max_epoch: number;
  min_epoch: number;
  file_bytes: number;
}

function corrupt(path: string, what: string): JournalCorrupt {
  return new JournalCorrupt(`exwallet: retired file ${path} ${what}: refusing to read it (restore it from a backup)`);
}

/** Read exactly `length` bytes at `position`, or throw: a file shorter than
 *  its header says is corruption. */
function read_exactly(fd: number, buffer: Buffer, length: number, position: number, path: string): void {
  for (let done = 0; done < length;) {
    const got = readSync(fd, buffer, done, length - done, position + done);
    if (got === 0) throw corrupt(path, `ends at byte ${position + done}, before the ${length} bytes at ${position} it must hold`);
    done += got;
  }
}

/** Decode and check a header read from an open file of `file_bytes` bytes. */
function check_header(header: Buffer, header_bytes: number, file_bytes: number, path: string): RetiredHeader {
  if (header_bytes < RETIRED_HEADER_BYTES) throw corrupt(path, `is ${file_bytes} bytes, shorter than its ${RETIRED_HEADER_BYTES}-byte header (torn)`);
  const magic = header.readUInt32LE(H_MAGIC);
  if (magic !== RETIRED_MAGIC) throw corrupt(path, `has magic 0x${magic.toString(16)}, not "EXWR" (0x${RETIRED_MAGIC.toString(16)})`);
  const version = header.readUInt32LE(H_VERSION);
  if (version !== RETIRED_VERSION) throw corrupt(path, `has version ${version}; this build reads version ${RETIRED_VERSION}`);
  if (header_crc_of(header) !== header.readUInt32LE(H_HEADER_CRC)) throw corrupt(path, 'has a header whose crc does not check (torn or damaged)');
  const record_count = header.readUInt32LE(H_RECORD_COUNT);
  if (file_bytes !== retired_file_bytes(record_count)) {
    throw corrupt(path, `is ${file_bytes} bytes; ${record_count} records make ${retired_file_bytes(record_count)}`);
  }
  const seq = read_u64(header, H_SEQ);
  const named = RETIRED_PATTERN.exec(basename(path));
  if (named && parseInt(named[1]!, 16) !== seq) throw corrupt(path, `holds seq ${seq}, not the one its name gives`);
  return {
    path, seq, record_count, file_bytes,
    body_crc: header.readUInt32LE(H_BODY_CRC),
    keys_crc: header.readUInt32LE(H_KEYS_CRC),
    retired_at_ms: header.readDoubleLE(H_RETIRED_AT_MS),
    max_epoch: read_u64(header, H_MAX_EPOCH),
    min_epoch: read_u64(header, H_MIN_EPOCH),
  };
}

function header_of_fd(fd: number, path: string): RetiredHeader {
  const file_bytes = fstatSync(fd).size;
  const header = Buffer.alloc(RETIRED_HEADER_BYTES);
  const header_bytes = readSync(fd, header, 0, RETIRED_HEADER_BYTES, 0);
  return check_header(header, header_bytes, file_bytes, path);
}

/** The header of retired file `path`, checked (magic, version, header crc,
 *  file size, seq against the name). Throws JournalCorrupt
 *  (EXWALLET_JOURNAL_CORRUPT) when it does not check, and the fs error
 *  (ENOENT, …) when the file cannot be opened. */
export function read_retired_header(path: string): RetiredHeader {
  const fd = openSync(path, 'r');
  try {
    return header_of_fd(fd, path);
  } finally {
    closeSync(fd);
  }
}

/** Every uuid of retired file `path` (n x 16 bytes, ascending), read whole in
 *  6 MiB chunks and checked: header, body crc, sparse keys and their crc,
 *  strictly ascending uuids. For the checkpointer: a slow path. */
export function read_retired_uuids(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const header = header_of_fd(fd, path);
    const n = header.record_count;
    const keys = Buffer.allocUnsafe(blocks_of(n) * RETIRED_KEY_BYTES);
    read_exactly(fd, keys, keys.length, keys_offset(n), path);
    if (crc32(keys) !== header.keys_crc) throw corrupt(path, 'has sparse keys whose crc does not check');
    const uuids = Buffer.allocUnsafe(n * UUID_BYTES);
    const chunk = Buffer.allocUnsafe(Math.min(n, WRITE_CHUNK_RECORDS) * L.JOURNAL_RECORD_BYTES);
    let body_crc = 0;
    for (let first = 0; first < n; first += WRITE_CHUNK_RECORDS) {
      const count = Math.min(WRITE_CHUNK_RECORDS, n - first);
      const bytes = count * L.JOURNAL_RECORD_BYTES;
      read_exactly(fd, chunk, bytes, RETIRED_HEADER_BYTES + first * L.JOURNAL_RECORD_BYTES, path);
      body_crc = crc32(chunk.subarray(0, bytes), body_crc);
      for (let j = 0; j < count; j++) chunk.copy(uuids, (first + j) * UUID_BYTES, j * L.JOURNAL_RECORD_BYTES + L.R_UUID, j * L.JOURNAL_RECORD_BYTES + L.R_UUID + UUID_BYTES);
    }
    if (body_crc !== header.body_crc) throw corrupt(path, 'has records whose crc does not check');
    check_uuids_against_keys(uuids, keys, n, path);
    return uuids;
  } finally {
    closeSync(fd);
  }
}

/** Pair check of what write_retired_file asserted: strictly ascending uuids,
 *  and each block's key equal to its first uuid's first 8 bytes. */
function check_uuids_against_keys(uuids: Buffer, keys: Buffer, record_count: number, path: string): void {
  for (let k = 0; k < record_count; k++) {
    const at = k * UUID_BYTES;
    if (k > 0 && uuids.compare(uuids, at - UUID_BYTES, at, at, at + UUID_BYTES) <= 0) {
      throw corrupt(path, `has records ${k - 1} and ${k} out of uuid order`);
    }
    if (k % RETIRED_BLOCK_RECORDS === 0) {
      const key_at = (k / RETIRED_BLOCK_RECORDS) * RETIRED_KEY_BYTES;
      if (keys.compare(uuids, at, at + RETIRED_KEY_BYTES, key_at, key_at + RETIRED_KEY_BYTES) !== 0) {
        throw corrupt(path, `has a sparse key for block ${k / RETIRED_BLOCK_RECORDS} that is not its first uuid`);
      }
    }
  }
}

// ---------------------------------------------------------------- the store

/** One retired file, as files() lists it. */
export interface RetiredFileInfo {
  readonly path: string;
  readonly seq: number;
  readonly record_count: number;
  readonly retired_at_ms: number;
  readonly max_epoch: number;
  readonly min_epoch: number;
  readonly file_bytes: number;
}

interface Entry {
  readonly info: RetiredFileInfo;
  readonly keys_crc: number;
  /** Sparse keys as (high, low) big-endian u32 pairs; undefined until the first find that reaches the file. */
  keys: Uint32Array | undefined;
  /** Open descriptor (one of the newest RETIRED_FDS_HELD_MAX files), or -1. */
  fd: number;
}

/** "The file is gone" (unlinked since the listing): not an error, the file's records expired. */
const GONE = -1;
const ABSENT = -2;

/** The retired files of one data directory, as one thread sees them. One per
 *  thread (threads cannot share it); the directory is the only thing shared.
 *
 *  What a concurrent caller can see: the files as of this store's last
 *  refresh() (the constructor does one). A file written after it is not
 *  seen until the next refresh; one deleted since (by another store's
 *  delete_expired) is dropped when a read finds it gone, and any answer
 *  from it until then is from its still-readable, immutable content. */
export class RetiredStore {
  readonly #dir: string;
  /** Oldest first (ascending seq). */
  #entries: Entry[] = [];
  #infos: readonly RetiredFileInfo[] = [];
  // Scratch, allocated once: a find allocates only the record it returns.
  readonly #target = Buffer.alloc(UUID_BYTES);
  readonly #probe = Buffer.alloc(UUID_BYTES);
  readonly #block = Buffer.alloc(BLOCK_BYTES);

  constructor(dir: string) {
    this.#dir = dir;
    this.refresh();
  }

  /** Re-list the directory: read the header of each new file (checked: a
   *  bad one throws JournalCorrupt), forget the ones gone. A file that
   *  vanishes between the listing and the reading is simply gone. A name
   *  already known is not read again: seqs are never reused. Costs a
   *  readdir plus one open and 64-byte read per new file. */
  refresh(): void {
    const known = new Map(this.#entries.map((entry) => [basename(entry.info.path), entry]));
    const names = readdirSync(this.#dir).filter((name) => RETIRED_PATTERN.test(name)).sort(); // 16 hex digits: name order is seq order
    const entries: Entry[] = [];
    for (const name of names) {
      const entry = known.get(name);
      if (entry !== undefined) {
        known.delete(name);
        entries.push(entry);
        continue;
      }
      let header: RetiredHeader;
      try {
        header = read_retired_header(join(this.#dir, name));
      } catch (error) {
        if (is_enoent(error)) continue;
        throw error;
      }
      const { path, seq, record_count, retired_at_ms, max_epoch, min_epoch, file_bytes } = header;
      entries.push({ info: Object.freeze({ path, seq, record_count, retired_at_ms, max_epoch, min_epoch, file_bytes }), keys_crc: header.keys_crc, keys: undefined, fd: -1 });
    }
    for (const gone of known.values()) this.#release(gone);
    this.#entries = entries;
    for (let i = 0; i < entries.length - RETIRED_FDS_HELD_MAX; i++) this.#release(entries[i]!);
    this.#infos = Object.freeze(entries.map((entry) => entry.info));
  }

  /** A copy of the 96-byte record whose uuid is `uuid` (16 bytes), or
   *  undefined. Files newest first; the full uuid is compared. Costs one
   *  block read per file it searches (the first search of a file also loads
   *  its sparse keys). Allocates the returned record. */
  find(uuid: Uint8Array): Buffer | undefined {
    assert_that(uuid.length === UUID_BYTES, `a uuid is ${UUID_BYTES} bytes, not ${uuid.length}`);
    this.#target.set(uuid);
    const high = this.#target.readUInt32BE(0);
    const low = this.#target.readUInt32BE(4);
    let dropped = false;
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const entry = this.#entries[i]!;
      if (entry.info.record_count === 0) continue;
      const found = this.#find_in(entry, this.#entries.length - 1 - i, high, low);
      if (found === GONE) {
        this.#release(entry);
        this.#entries.splice(i, 1);
        dropped = true;
      } else if (found !== ABSENT) {
        if (dropped) this.#infos = Object.freeze(this.#entries.map((e) => e.info));
        return Buffer.from(this.#block.subarray(found, found + L.JOURNAL_RECORD_BYTES));
      }
    }
    if (dropped) this.#infos = Object.freeze(this.#entries.map((e) => e.info));
    return undefined;
  }

  /** The files, oldest first, as of the last refresh (or the last find that
   *  found one gone). */
  files(): readonly RetiredFileInfo[] {
    return this.#infos;
  }

  /** Delete the files with retired_at_ms + retention_ms < now_ms, then fsync
   *  the directory. Returns how many this call deleted (a file another store
   *  deleted first is dropped, not counted). A concurrent reader of a deleted
   *  file either still reads its immutable content or finds it gone.
   *  Only those `deletable` allows (the rotator: those a checkpoint has
   *  taken out of the journal's live records). */
  delete_expired(now_ms: number, retention_ms: number, deletable: (info: RetiredFileInfo) => boolean = () => true): number {
    let deleted = 0;
    const kept: Entry[] = [];
    for (const entry of this.#entries) {
      if (!(entry.info.retired_at_ms + retention_ms < now_ms) || !deletable(entry.info)) {
        kept.push(entry);
        continue;
      }
      this.#release(entry);
      try {
        unlinkSync(entry.info.path);
        deleted++;
      } catch (error) {
        if (!is_enoent(error)) throw error;
      }
    }
    if (deleted > 0) fsync_path(this.#dir);
    if (kept.length !== this.#entries.length) {
      this.#entries = kept;
      this.#infos = Object.freeze(kept.map((entry) => entry.info));
    }
    return deleted;
  }

  /** All uuids of retired file `path` (n x 16 bytes, ascending), checked
   *  whole (read_retired_uuids). */
  uuids_of(path: string): Buffer {
    return read_retired_uuids(path);
  }

  record_count_total(): number {
    let total = 0;
    for (const entry of this.#entries) total += entry.info.record_count;
    return total;
  }

  bytes_total(): number {
    let total = 0;
    for (const entry of this.#entries) total += entry.info.file_bytes;
    return total;
  }

  /** Bytes of sparse keys loaded so far (memory, for stats). */
  index_bytes_total(): number {
    let total = 0;
    for (const entry of this.#entries) total += entry.keys?.byteLength ?? 0;
    return total;
  }

  /** Close every descriptor the store holds. It can be used again (they reopen). */
  close(): void {
    for (const entry of this.#entries) this.#release(entry);
  }

  #release(entry: Entry): void {
    if (entry.fd >= 0) closeSync(entry.fd);
    entry.fd = -1;
  }

  /** The record's byte offset in #block, ABSENT, or GONE. `rank` is the
   *  file's place from the newest (0): it decides whether its fd is held. */
  #find_in(entry: Entry, rank: number, high: number, low: number): number {
    const fd = this.#open(entry, rank);
    if (fd === GONE) return GONE;
    try {
      const keys = entry.keys ?? (entry.keys = this.#load_keys(entry, fd));
      const blocks = keys.length >>> 1;
      // The record, if present, is in the last block whose first uuid is <= it:
      // after every block whose key is < its prefix, and not after the last
      // block whose key is <= its prefix.
      const last_below = last_key_before(keys, blocks, high, low, true);
      const last_at_most = last_key_before(keys, blocks, high, low, false);
      if (last_at_most < 0) return ABSENT; // below the file's first uuid
      const block = this.#narrow(entry, fd, Math.max(0, last_below), last_at_most);
      return this.#search_block(entry, fd, keys, block);
    } finally {
      if (fd !== entry.fd) closeSync(fd);
    }
  }

  /** Blocks first..last all may hold the target (they start with its 8-byte
   *  prefix): binary search them by their first full uuid, one 16-byte read a
   *  step. The common case is first === last: no read. */
  #narrow(entry: Entry, fd: number, first: number, last: number): number {
    while (first < last) {
      const middle = first + Math.ceil((last - first) / 2);
      const at = RETIRED_HEADER_BYTES + middle * BLOCK_BYTES + L.R_UUID;
      read_exactly(fd, this.#probe, UUID_BYTES, at, entry.info.path);
      if (this.#probe.compare(this.#target) <= 0) first = middle;
      else last = middle - 1;
    }
    return first;
  }

  /** Read block `block` into #block and binary search it for the target. */
  #search_block(entry: Entry, fd: number, keys: Uint32Array, block: number): number {
    const records = Math.min(RETIRED_BLOCK_RECORDS, entry.info.record_count - block * RETIRED_BLOCK_RECORDS);
    read_exactly(fd, this.#block, records * L.JOURNAL_RECORD_BYTES, RETIRED_HEADER_BYTES + block * BLOCK_BYTES, entry.info.path);
    // Pair check: the block starts with the key the index holds for it.
    if (this.#block.readUInt32BE(L.R_UUID) !== keys[2 * block] || this.#block.readUInt32BE(L.R_UUID + 4) !== keys[2 * block + 1]) {
      throw corrupt(entry.info.path, `has block ${block} whose first uuid is not its sparse key`);
    }
    let low = 0;
    let high = records - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const at = middle * L.JOURNAL_RECORD_BYTES;
      const order = this.#target.compare(this.#block, at + L.R_UUID, at + L.R_UUID + UUID_BYTES);
      if (order === 0) return at;
      if (order < 0) high = middle - 1;
      else low = middle + 1;
    }
    return ABSENT;
  }

  #load_keys(entry: Entry, fd: number): Uint32Array {
    const n = entry.info.record_count;
    const raw = Buffer.allocUnsafe(blocks_of(n) * RETIRED_KEY_BYTES);
    read_exactly(fd, raw, raw.length, keys_offset(n), entry.info.path);
    if (crc32(raw) !== entry.keys_crc) throw corrupt(entry.info.path, 'has sparse keys whose crc does not check');
    const keys = new Uint32Array(raw.length >>> 2);
    for (let i = 0; i < keys.length; i++) keys[i] = raw.readUInt32BE(i * 4);
    for (let b = 1; b < keys.length >>> 1; b++) {
      const before = keys[2 * b - 2]! < keys[2 * b]! || (keys[2 * b - 2] === keys[2 * b] && keys[2 * b - 1]! <= keys[2 * b + 1]!);
      if (!before) throw corrupt(entry.info.path, `has sparse keys out of order at block ${b}`);
    }
    return keys;
  }

  /** An fd for the file, held if it is among the newest; GONE if it was unlinked. */
  #open(entry: Entry, rank: number): number {
    if (entry.fd >= 0) return entry.fd;
    let fd: number;
    try {
      fd = openSync(entry.info.path, 'r');
    } catch (error) {
      if (is_enoent(error)) return GONE;
      throw error;
    }
    if (rank < RETIRED_FDS_HELD_MAX) entry.fd = fd;
    return fd;
  }
}

/** The last block whose key is < (high, low) (strict) or <= it; -1 if none. */
function last_key_before(keys: Uint32Array, blocks: number, high: number, low: number, strict: boolean): number {
  let first = 0;
  let last = blocks - 1;
  let answer = -1;
  while (first <= last) {
    const middle = (first + last) >>> 1;
    const key_high = keys[2 * middle]!;
    const key_low = keys[2 * middle + 1]!;
    const below = key_high < high || (key_high === high && (strict ? key_low < low : key_low <= low));
    if (below) {
      answer = middle;
      first = middle + 1;
    } else {
      last = middle - 1;
    }
  }
  return answer;
}
