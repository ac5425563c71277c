// Retired files (src/retired.ts): a small measurement, not a test.
//
//   node tools/build.mjs && node out/bench/retired.js [--seed n] [--dir path]
//
// Prints: write throughput (records/s, sort + copy + crc + write + fsync +
// rename) for 1M and 4M records; find cost (µs per call) for present and
// absent uuids over 50 files of 20k records, all sparse indexes loaded
// first (the steady state); bytes on disk and sparse-index bytes per record.
// And, past the descriptors a store holds (RETIRED_FDS_HELD_MAX), the absent
// cost over 300 files: those beyond the newest 128 are opened per read.
//
// The sketch it checks (src/retired.ts, "Costs"): present ~ one 6 KiB pread
// (page cache: a few µs) in the newest file holding it, so on average half
// the files are searched; absent = one pread per file; 96 + 1/8 B per record
// on disk (plus 64 B a file); 0.125 B per record of sparse index.
//
// Measured (2 vCPU VM, Node 20.20, /tmp on ext4 over virtio, seeds 1
// and 2): write 1M records 0.8-1.2 s (0.8-1.25M records/s), 4M 4.4 s (of
// which ~2 s is gathering the records in uuid order: one random 96-byte read
// each, memory-bound; ~0.6 s the sort; ~1 s the kernel's copy). find over 50
// files x 20k: present in a random file 83-96 µs (half the files searched),
// in the newest 2.8-3.5 µs, absent 161-173 µs (3.2-3.5 µs a file, nearly all
// of it the pread syscall: ~1.7 µs for 6 KiB here); past the 128 held
// descriptors, 6.4-6.6 µs a file (open + pread + close). 96.128 B on disk
// and 0.125 B of sparse index per record.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RetiredStore, write_retired_file } from 'exwallet/internal/retired';
import { L } from 'exwallet/internal/layout';
import { Random } from '../tools/random.js';
import { random_journal_records, random_uuid_bytes } from '../tools/journal_records.js';
import { parse_flags, integer_flag } from '../tools/cli.js';

const flags = parse_flags(process.argv.slice(2), { seed: { type: 'string' }, dir: { type: 'string' } });
const seed = integer_flag('seed', flags.seed, 1, 0, 0xffffffff);
const root = mkdtempSync(join(flags.dir ?? tmpdir(), 'exwallet-retired-bench-'));
const random = new Random(seed);

function uuid_at(records: Buffer, index: number): Buffer {
  return records.subarray(index * L.JOURNAL_RECORD_BYTES + L.R_UUID, index * L.JOURNAL_RECORD_BYTES + L.R_UUID + 16);
}

function measure_write(record_count: number, seq: number): string {
  const dir = mkdtempSync(join(root, `write-${record_count}-`));
  const records = random_journal_records(random, record_count);
  const started = process.hrtime.bigint();
  write_retired_file(dir, seq, records, Date.now());
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return `write ${record_count.toLocaleString('en')} records: ${(seconds * 1e3).toFixed(0)} ms, ${(record_count / seconds / 1e6).toFixed(2)}M records/s`;
}

/** µs per find of `uuids`, each call timed as part of one loop. */
function time_finds(store: RetiredStore, uuids: readonly Buffer[], expect_found: boolean): number {
  let wrong = 0;
  const started = process.hrtime.bigint();
  for (const uuid of uuids) if ((store.find(uuid) !== undefined) !== expect_found) wrong++;
  const us = Number(process.hrtime.bigint() - started) / 1e3 / uuids.length;
  if (wrong > 0) throw new Error(`${wrong} finds answered wrongly`);
  return us;
}

function measure_finds(file_count: number, records_per_file: number, present_count: number, absent_count: number): string[] {
  const dir = mkdtempSync(join(root, `find-${file_count}-`));
  const files = Array.from({ length: file_count }, (_, seq) => {
    const records = random_journal_records(random, records_per_file);
    write_retired_file(dir, seq, records, Date.now());
    return records;
  });
  const store = new RetiredStore(dir);
  store.find(random_uuid_bytes(random)); // absent: loads every file's sparse keys
  const present = Array.from({ length: present_count }, () => uuid_at(random.pick(files), random.below(records_per_file)));
  const absent = Array.from({ length: absent_count }, () => random_uuid_bytes(random));
  const newest = Array.from({ length: present_count }, () => uuid_at(files[file_count - 1]!, random.below(records_per_file)));
  const present_us = present_count > 0 ? time_finds(store, present, true) : NaN;
  const newest_us = present_count > 0 ? time_finds(store, newest, true) : NaN;
  const absent_us = time_finds(store, absent, false);
  const records = store.record_count_total();
  const lines = [
    `find over ${file_count} files x ${records_per_file.toLocaleString('en')} records: ` +
      (present_count > 0 ? `present ${present_us.toFixed(1)} µs (in a random file), ${newest_us.toFixed(1)} µs (in the newest), ` : '') +
      `absent ${absent_us.toFixed(1)} µs (${(absent_us / file_count).toFixed(2)} µs per file)`,
    `  bytes on disk per record ${(store.bytes_total() / records).toFixed(3)}, sparse index ${(store.index_bytes_total() / records).toFixed(3)} B per record`,
  ];
  store.close();
  return lines;
}

try {
  console.log(`node ${process.version}, seed ${seed}, dir ${root}`);
  console.log(measure_write(1_000_000, 1));
  console.log(measure_write(4_000_000, 2));
  for (const line of measure_finds(50, 20_000, 100_000, 10_000)) console.log(line);
  for (const line of measure_finds(300, 1_000, 0, 2_000)) console.log(line);
} finally {
  rmSync(root, { recursive: true, force: true });
}
