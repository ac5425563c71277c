// Retired files (src/retired.ts): the transactions that left the in-memory
// window stay findable exactly, once each, until their file expires.
//
// Invariant checked throughout: for every record written to a retired file
// that is still listed, find(its uuid) returns exactly its 96 bytes, and for
// every uuid never written, find returns undefined.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  RetiredStore, write_retired_file, read_retired_header, read_retired_uuids, retired_file_name, retired_file_bytes,
  remove_retired_tmp, RETIRED_HEADER_BYTES, RETIRED_BLOCK_RECORDS, RETIRED_KEY_BYTES, RETIRED_FDS_HELD_MAX,
} from 'exwallet/internal/retired';
import { L } from 'exwallet/internal/layout';
import { Random } from '../tools/random.js';
import { random_journal_records as random_records, random_uuid_bytes as random_uuid } from '../tools/journal_records.js';
import { thrown } from './bodies.js';

const RECORD = L.JOURNAL_RECORD_BYTES;
const dirs: string[] = [];
function fresh_dir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'exwallet-retired-'));
  dirs.push(dir);
  return dir;
}
test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function uuid_of(records: Buffer, index: number): Buffer {
  return records.subarray(index * RECORD + L.R_UUID, index * RECORD + L.R_UUID + 16);
}

function record_of(records: Buffer, index: number): Buffer {
  return records.subarray(index * RECORD, (index + 1) * RECORD);
}

function max_epoch_of(records: Buffer): number {
  let max = 0;
  for (let at = 0; at < records.length; at += RECORD) max = Math.max(max, records.readUInt32LE(at + L.R_EPOCH));
  return max;
}

/** The records in another order (a shuffled copy). */
function shuffled(random: Random, records: Buffer): Buffer {
  const order = random.shuffle(Array.from({ length: records.length / RECORD }, (_, i) => i));
  return Buffer.concat(order.map((i) => record_of(records, i)));
}

test('write, then find every record of several files (1, 1,000, 100,000 and 5,000 records) byte for byte', () => {
  const dir = fresh_dir();
  const random = new Random(1);
  const sizes = [1, 1_000, 100_000, 5_000];
  const written = sizes.map((size, i) => {
    const records = random_records(random, size);
    const result = write_retired_file(dir, i + 1, records, 1_000 * (i + 1));
    assert.is(result.path, join(dir, retired_file_name(i + 1)));
    assert.is(result.record_count, size);
    assert.is(result.max_epoch, max_epoch_of(records));
    return records;
  });
  const store = new RetiredStore(dir);
  assert.equal(store.files().map((file) => [file.seq, file.record_count, file.retired_at_ms]), sizes.map((size, i) => [i + 1, size, 1_000 * (i + 1)]));
  assert.is(store.record_count_total(), 106_001);
  assert.is(store.bytes_total(), sizes.reduce((sum, size) => sum + retired_file_bytes(size), 0));
  let mismatches = 0;
  for (const records of written) {
    for (let i = 0; i < records.length / RECORD; i++) {
      const found = store.find(uuid_of(records, i));
      if (found === undefined || !found.equals(record_of(records, i))) mismatches++;
    }
  }
  assert.is(mismatches, 0);
  // The returned record is a copy: changing it changes no later answer.
  const first = store.find(uuid_of(written[2]!, 0))!;
  first.fill(0);
  assert.ok(store.find(uuid_of(written[2]!, 0))!.equals(record_of(written[2]!, 0)));
  store.close();
});

test('the records on disk are sorted by uuid in unsigned byte order, the flags byte kept, the header as written', () => {
  const dir = fresh_dir();
  const random = new Random(2);
  const records = random_records(random, 3_000);
  records[L.R_UUID] = 0xff; // a uuid whose first byte is >= 0x80: signed order would put it first
  const { path } = write_retired_file(dir, 7, records, 123.5);
  const file = readFileSync(path);
  const header = read_retired_header(path);
  assert.equal(
    { seq: header.seq, record_count: header.record_count, retired_at_ms: header.retired_at_ms, file_bytes: header.file_bytes },
    { seq: 7, record_count: 3_000, retired_at_ms: 123.5, file_bytes: file.length },
  );
  const expected = Array.from({ length: 3_000 }, (_, i) => record_of(records, i))
    .sort((a, b) => Buffer.compare(a.subarray(L.R_UUID, L.R_UUID + 16), b.subarray(L.R_UUID, L.R_UUID + 16)));
  const body = file.subarray(RETIRED_HEADER_BYTES, RETIRED_HEADER_BYTES + 3_000 * RECORD);
  assert.ok(body.equals(Buffer.concat(expected)), 'the body is the records in ascending uuid order, unchanged (flags too)');
  assert.is(body[2_999 * RECORD + L.R_UUID], 0xff);
  assert.is(header.body_crc, crc32(body));
  let min_epoch = Infinity;
  for (let i = 0; i < 3_000; i++) min_epoch = Math.min(min_epoch, records.readUInt32LE(i * RECORD + L.R_EPOCH));
  assert.is(header.max_epoch, max_epoch_of(records));
  assert.is(header.min_epoch, min_epoch);
});

test('10,000 absent uuids are not found, nor uuids one byte away from present ones, below the first or above the last', () => {
  const dir = fresh_dir();
  const random = new Random(3);
  const records = [random_records(random, 20_000), random_records(random, 64 * 10)];
  records.forEach((part, i) => write_retired_file(dir, i, part, 0));
  const store = new RetiredStore(dir);
  let found = 0;
  for (let i = 0; i < 10_000; i++) if (store.find(random_uuid(random)) !== undefined) found++;
  assert.is(found, 0);
  for (let i = 0; i < 20_000; i += 97) {
    const near = Buffer.from(uuid_of(records[0]!, i));
    near[15]! ^= 1; // same sparse-key prefix, same block: only the full compare tells
    if (store.find(near) !== undefined) found++;
  }
  assert.is(found, 0);
  assert.is(store.find(Buffer.alloc(16, 0x00)), undefined);
  assert.is(store.find(Buffer.alloc(16, 0xff)), undefined);
  assert.throws(() => store.find(Buffer.alloc(15)), /16 bytes/);
  store.close();
});

test('uuids sharing their first 8 bytes across many blocks are all found, and their absent neighbours are not', () => {
  const dir = fresh_dir();
  const random = new Random(4);
  const records = random_records(random, 5_000);
  for (let i = 0; i < 2_000; i++) uuid_of(records, i).write('0123456789abcdef', 0, 'hex'); // 2,000 / 64: ~31 blocks share one key
  write_retired_file(dir, 1, records, 0);
  const store = new RetiredStore(dir);
  let mismatches = 0;
  for (let i = 0; i < 5_000; i++) if (!store.find(uuid_of(records, i))?.equals(record_of(records, i))) mismatches++;
  assert.is(mismatches, 0);
  let found = 0;
  for (let i = 0; i < 1_000; i++) {
    const uuid = random_uuid(random);
    uuid.write('0123456789abcdef', 0, 'hex');
    if (store.find(uuid) !== undefined) found++;
  }
  assert.is(found, 0);
  store.close();
});

test('the order of the input does not matter: the same records shuffled make the same body and keys', () => {
  const dir = fresh_dir();
  const random = new Random(5);
  const records = random_records(random, 10_000);
  const a = write_retired_file(dir, 1, records, 42);
  const b = write_retired_file(dir, 2, shuffled(random, records), 42);
  const file_a = readFileSync(a.path);
  const file_b = readFileSync(b.path);
  assert.is(file_a.length, file_b.length);
  assert.ok(file_a.subarray(RETIRED_HEADER_BYTES).equals(file_b.subarray(RETIRED_HEADER_BYTES)), 'records and sparse keys equal');
  const header_a = read_retired_header(a.path);
  const header_b = read_retired_header(b.path);
  assert.equal([header_b.body_crc, header_b.keys_crc, header_b.max_epoch, header_b.min_epoch], [header_a.body_crc, header_a.keys_crc, header_a.max_epoch, header_a.min_epoch]);
  assert.equal(read_retired_uuids(a.path), read_retired_uuids(b.path));
});

test('a uuid twice in the input throws and leaves no file (nor a .tmp); an existing seq is refused', () => {
  const dir = fresh_dir();
  const random = new Random(6);
  const records = random_records(random, 1_000);
  uuid_of(records, 7).copy(uuid_of(records, 500));
  const error = thrown(() => write_retired_file(dir, 1, records, 0));
  assert.match(error.message, /appears twice/);
  assert.match(error.message, new RegExp(uuid_of(records, 7).toString('hex')));
  assert.equal(readdirSync(dir), []);
  const good = random_records(random, 10);
  write_retired_file(dir, 1, good, 0);
  assert.match(thrown(() => write_retired_file(dir, 1, good, 0)).message, /already exists/);
  assert.match(thrown(() => write_retired_file(dir, 2, good.subarray(0, 95), 0)).message, /not a multiple of 96/);
  const bad_kind = Buffer.from(good);
  bad_kind[3 * RECORD + L.R_KIND] = 0;
  assert.match(thrown(() => write_retired_file(dir, 2, bad_kind, 0)).message, /record 3 has kind 0/);
  assert.equal(readdirSync(dir), [retired_file_name(1)]);
});

test('a torn or damaged header is refused clearly (EXWALLET_JOURNAL_CORRUPT), by read_retired_header and by the store', () => {
  const random = new Random(7);
  const records = random_records(random, 200);
  const cases: [string, (path: string) => void, RegExp][] = [
    ['torn in the header', (path) => truncateSync(path, 40), /shorter than its 64-byte header/],
    ['empty', (path) => truncateSync(path, 0), /shorter than its 64-byte header/],
    ['wrong magic', (path) => patch(path, 0, 0x41), /magic/],
    ['a flipped bit in retired_at_ms', (path) => patch(path, 33, 0x01), /header whose crc does not check/],
    ['a flipped bit in the padding', (path) => patch(path, 60, 0x80), /header whose crc does not check/],
    ['torn in the body', (path) => truncateSync(path, RETIRED_HEADER_BYTES + 100 * RECORD), /records make/],
    ['another version', (path) => { patch(path, 4, 0x02); fix_header_crc(path); }, /version 3; this build reads version 1/],
  ];
  for (const [what, damage, message] of cases) {
    const dir = fresh_dir();
    const { path } = write_retired_file(dir, 1, records, 0);
    damage(path);
    const error = thrown(() => read_retired_header(path));
    assert.is(error.code, 'EXWALLET_JOURNAL_CORRUPT', what);
    assert.match(error.message, message, what);
    assert.match(error.message, /retired-0000000000000001\.bin/, what);
    assert.is(thrown(() => new RetiredStore(dir)).code, 'EXWALLET_JOURNAL_CORRUPT', what);
  }
});

function patch(path: string, at: number, xor: number): void {
  const file = readFileSync(path);
  file[at]! ^= xor;
  writeFileSync(path, file);
}

function fix_header_crc(path: string): void {
  const file = readFileSync(path);
  file.writeUInt32LE(crc32(file.subarray(28, 64), crc32(file.subarray(0, 24))), 24);
  writeFileSync(path, file);
}

test('damaged records or sparse keys are refused by uuids_of and by find, never answered as absent', () => {
  const random = new Random(8);
  const records = random_records(random, 1_000);
  const dir = fresh_dir();
  const { path } = write_retired_file(dir, 1, records, 0);
  const sorted_first = read_retired_uuids(path).subarray(0, 16);
  patch(path, RETIRED_HEADER_BYTES + L.R_UUID, 0x01); // block 0's first uuid no longer matches its key
  const body_error = thrown(() => read_retired_uuids(path));
  assert.is(body_error.code, 'EXWALLET_JOURNAL_CORRUPT');
  assert.match(body_error.message, /records whose crc does not check/);
  const store = new RetiredStore(dir);
  assert.match(thrown(() => store.find(sorted_first)).message, /block 0 whose first uuid is not its sparse key/);
  store.close();

  // Two records of block 0 swapped, every crc made to check again: only the order check sees it.
  const order_dir = fresh_dir();
  const swapped = write_retired_file(order_dir, 1, records, 0);
  const file = readFileSync(swapped.path);
  const record_1 = Buffer.from(file.subarray(RETIRED_HEADER_BYTES + RECORD, RETIRED_HEADER_BYTES + 2 * RECORD));
  file.copy(file, RETIRED_HEADER_BYTES + RECORD, RETIRED_HEADER_BYTES + 2 * RECORD, RETIRED_HEADER_BYTES + 3 * RECORD);
  record_1.copy(file, RETIRED_HEADER_BYTES + 2 * RECORD);
  file.writeUInt32LE(crc32(file.subarray(RETIRED_HEADER_BYTES, RETIRED_HEADER_BYTES + 1_000 * RECORD)), 20);
  writeFileSync(swapped.path, file);
  fix_header_crc(swapped.path);
  assert.match(thrown(() => read_retired_uuids(swapped.path)).message, /records 1 and 2 out of uuid order/);

  const keys_dir = fresh_dir();
  const keyed = write_retired_file(keys_dir, 1, records, 0);
  patch(keyed.path, retired_file_bytes(1_000) - 1, 0x10);
  assert.match(thrown(() => read_retired_uuids(keyed.path)).message, /sparse keys whose crc does not check/);
  assert.match(thrown(() => new RetiredStore(keys_dir).find(uuid_of(records, 0))).message, /sparse keys whose crc does not check/);
});

test('delete_expired deletes exactly the files with retired_at_ms + retention_ms < now_ms', () => {
  const dir = fresh_dir();
  const random = new Random(9);
  const parts = [1_000, 2_000, 3_000, 4_000].map((retired_at_ms, i) => {
    const records = random_records(random, 300);
    write_retired_file(dir, i + 1, records, retired_at_ms);
    return records;
  });
  const store = new RetiredStore(dir);
  for (const part of parts) assert.ok(store.find(uuid_of(part, 0)), 'every file is searched once (and its fd held) before the deletion');
  assert.is(store.delete_expired(4_000, 1_000), 2); // 1,000 and 2,000 expired; 3,000 + 1,000 = 4,000 is not < 4,000
  assert.equal(readdirSync(dir).sort(), [retired_file_name(3), retired_file_name(4)]);
  assert.equal(store.files().map((file) => file.seq), [3, 4]);
  assert.is(store.find(uuid_of(parts[0]!, 5)), undefined);
  assert.is(store.find(uuid_of(parts[1]!, 5)), undefined);
  assert.ok(store.find(uuid_of(parts[2]!, 5))?.equals(record_of(parts[2]!, 5)));
  assert.ok(store.find(uuid_of(parts[3]!, 5))?.equals(record_of(parts[3]!, 5)));
  assert.is(store.record_count_total(), 600);
  assert.is(store.delete_expired(4_000, 1_000), 0);
  // Another store that still lists a file this one deleted: dropped, not counted, no error.
  const other = new RetiredStore(dir);
  assert.is(store.delete_expired(4_500, 1_000), 1);
  assert.is(other.delete_expired(4_500, 1_000), 0);
  assert.equal(other.files().map((file) => file.seq), [4]);
  store.close();
  other.close();
});

test('refresh sees a file written after the last listing, and forgets one deleted; a file gone before its first read is simply absent', () => {
  const dir = fresh_dir();
  const random = new Random(10);
  const one = random_records(random, 500);
  const two = random_records(random, 500);
  write_retired_file(dir, 1, one, 0);
  write_retired_file(dir, 2, two, 0);
  const store = new RetiredStore(dir);
  assert.ok(store.find(uuid_of(one, 1)));

  const three = random_records(random, 500);
  write_retired_file(dir, 3, three, 0);
  assert.is(store.find(uuid_of(three, 1)), undefined, 'not seen before a refresh');
  store.refresh();
  assert.equal(store.files().map((file) => file.seq), [1, 2, 3]);
  assert.ok(store.find(uuid_of(three, 1))?.equals(record_of(three, 1)));

  unlinkSync(join(dir, retired_file_name(1)));
  store.refresh();
  assert.equal(store.files().map((file) => file.seq), [2, 3]);
  assert.is(store.find(uuid_of(one, 1)), undefined);
  assert.is(store.bytes_total(), 2 * retired_file_bytes(500));

  // Listed, never read, then unlinked: its first read finds it gone (ENOENT is no error).
  const fresh = new RetiredStore(dir);
  unlinkSync(join(dir, retired_file_name(2)));
  assert.is(fresh.find(uuid_of(two, 1)), undefined);
  assert.equal(fresh.files().map((file) => file.seq), [3]);
  assert.ok(fresh.find(uuid_of(three, 2))?.equals(record_of(three, 2)));
  // Other names in the directory are not retired files.
  writeFileSync(join(dir, 'journal-0000000000000001.log'), 'x');
  writeFileSync(join(dir, `${retired_file_name(9)}.tmp`), 'x');
  fresh.refresh();
  assert.equal(fresh.files().map((file) => file.seq), [3]);
  assert.is(remove_retired_tmp(dir), 1);
  assert.equal(readdirSync(dir).sort(), ['journal-0000000000000001.log', retired_file_name(3)]);
  store.close();
  fresh.close();
});

test('uuids_of returns every uuid of the file, ascending, and a file of no records works', () => {
  const dir = fresh_dir();
  const random = new Random(11);
  const records = random_records(random, 70_000); // more than one 65,536-record read chunk
  const { path } = write_retired_file(dir, 1, records, 0);
  const store = new RetiredStore(dir);
  const expected = Array.from({ length: 70_000 }, (_, i) => uuid_of(records, i)).sort(Buffer.compare);
  assert.ok(store.uuids_of(path).equals(Buffer.concat(expected)));
  const empty = write_retired_file(dir, 2, Buffer.alloc(0), 0);
  assert.equal([empty.record_count, empty.max_epoch], [0, 0]);
  assert.is(store.uuids_of(empty.path).length, 0);
  store.refresh();
  assert.is(store.find(uuid_of(records, 3))?.equals(record_of(records, 3)), true);
  assert.is(store.find(random_uuid(random)), undefined);
  store.close();
});

test('past the descriptors a store holds (the newest RETIRED_FDS_HELD_MAX files), every record is still found and no descriptor leaks', () => {
  const dir = fresh_dir();
  const random = new Random(13);
  const file_count = RETIRED_FDS_HELD_MAX + 72;
  const parts = Array.from({ length: file_count }, (_, seq) => {
    const records = random_records(random, 3);
    write_retired_file(dir, seq, records, 0);
    return records;
  });
  const open_fds = (): number => readdirSync('/proc/self/fd').length;
  const fds_before = open_fds();
  const store = new RetiredStore(dir);
  let mismatches = 0;
  for (const part of parts) for (let i = 0; i < 3; i++) if (!store.find(uuid_of(part, i))?.equals(record_of(part, i))) mismatches++;
  assert.is(mismatches, 0);
  assert.is(store.find(random_uuid(random)), undefined);
  assert.is(open_fds() - fds_before, RETIRED_FDS_HELD_MAX);
  // Newer files push the oldest held ones out of the window: still at most RETIRED_FDS_HELD_MAX.
  for (let seq = file_count; seq < file_count + 10; seq++) write_retired_file(dir, seq, random_records(random, 3), 0);
  store.refresh();
  assert.is(store.find(random_uuid(random)), undefined);
  assert.is(open_fds() - fds_before, RETIRED_FDS_HELD_MAX);
  store.close();
  assert.is(open_fds(), fds_before);
});

test('the sparse index holds 8 bytes per 64 records (0.125 B per record), loaded only for the files searched', () => {
  const dir = fresh_dir();
  const random = new Random(12);
  const a = random_records(random, 100_000);
  write_retired_file(dir, 1, a, 0);
  write_retired_file(dir, 2, random_records(random, 1_000), 0);
  const store = new RetiredStore(dir);
  assert.is(store.index_bytes_total(), 0);
  store.find(uuid_of(a, 0)); // newest first: both files' keys are loaded (file 2 did not have it)
  const blocks = Math.ceil(100_000 / RETIRED_BLOCK_RECORDS) + Math.ceil(1_000 / RETIRED_BLOCK_RECORDS);
  assert.is(store.index_bytes_total(), blocks * RETIRED_KEY_BYTES);
  assert.ok(store.index_bytes_total() / store.record_count_total() < 0.13);
  store.close();
});

test.run();
