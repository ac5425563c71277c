// The WASM core as built, and the shared-memory layout both sides read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { compute_layout, L } from 'exwallet/internal/layout';
import { Worker } from 'node:worker_threads';
import { start, share } from 'exwallet';
import { layout_of } from 'exwallet/testing';

const wat = readFileSync(new URL('../../build/exwallet.wat', import.meta.url), 'utf8');

test('the core imports one shared memory and has no data segments to re-apply per instance', () => {
  assert.match(wat, /\(import "env" "memory" \(memory \$0 \d+ \d+ shared\)\)/);
  assert.not.match(wat, /\(data /);
});

test('balances and claims change by real atomic compare-exchange instructions', () => {
  assert.match(wat, /i64\.atomic\.rmw\.cmpxchg/); // balance words, index words
  assert.match(wat, /i32\.atomic\.rmw\.cmpxchg/); // entry state words
  assert.match(wat, /memory\.atomic\.notify/); //   waking a twin's waiter
});

test('the binary was compiled from the same layout_constants.ts as the TypeScript side', async () => {
  const wasm = new WebAssembly.Module(readFileSync(new URL('../../build/exwallet.wasm', import.meta.url)));
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
  const instance = new WebAssembly.Instance(wasm, { env: { memory, abort() {} } });
  const exports = instance.exports as { layout_fingerprint(): number; init(slot: number): number };
  assert.is(exports.layout_fingerprint(), L.LAYOUT_FINGERPRINT);
  assert.is(exports.init(0), L.INIT_BAD_MAGIC, 'init refuses a memory without the header magic');
});

test('regions are aligned, ordered, disjoint and inside the memory', () => {
  for (const sizes of [
    { users_max: 1, tx_max: 1, threads_max: 1 }, { users_max: 1_048_576, tx_max: 4_194_304, threads_max: 256 },
    { users_max: 777, tx_max: 12_345, threads_max: 3 },
    { users_max: 777, tx_max: 12_345, threads_max: 3, gen_count: 2, filter_capacity: 1_000_000, ring_records: 64 },
  ]) {
    const layout = compute_layout(sizes);
    const regions: Array<[number, number]> = [
      [layout.currencies_offset, L.CURRENCIES_MAX * L.CURRENCY_RECORD_BYTES],
      [layout.user_index_offset, layout.user_index_capacity * L.INDEX_WORD_BYTES],
      [layout.user_names_offset, layout.user_records_max * L.USER_NAME_RECORD_BYTES],
      [layout.user_balances_offset, layout.user_records_max * L.BALANCE_BYTES],
      [layout.user_meta_offset, layout.user_records_max * L.USER_META_BYTES],
      [layout.tx_index_offset, layout.tx_index_capacity * L.INDEX_WORD_BYTES],
      [layout.tx_entries_offset, layout.tx_entries_max * L.ENTRY_SIZE_BYTES],
      [layout.threads_offset, layout.threads_max * L.THREAD_RECORD_BYTES],
      [layout.scratch_offset, layout.threads_max * L.SCRATCH_SIZE_BYTES],
      [layout.rings_offset, layout.threads_max * layout.ring_bytes],
      [layout.filter_offset, layout.filter_blocks * L.FILTER_BLOCK_BYTES],
    ];
    assert.is(layout.tx_entries_max, layout.gen_entries * layout.gen_count);
    assert.is(layout.tx_index_capacity, layout.gen_index_capacity * layout.gen_count);
    assert.ok(layout.gen_budget * layout.gen_count >= layout.tx_max, 'the generations hold the window');
    let end = L.HEADER_OFFSET + L.HEADER_SIZE_BYTES;
    for (const [offset, bytes] of regions) {
      assert.ok(offset % L.REGION_ALIGN_BYTES === 0, `region at ${offset} aligned`);
      assert.ok(offset >= end, `region at ${offset} starts after the previous one ends (${end})`);
      end = offset + bytes;
    }
    assert.ok(end <= layout.memory_bytes);
  }
});

test('a stored transaction costs 104 bytes of shared memory (an 88-byte entry, two 8-byte index words) plus 1/64 of that for the release slack', () => {
  for (const gen_count of [1, 2]) {
    const small = compute_layout({ users_max: 10, tx_max: 1_000_000, threads_max: 1, gen_count });
    const large = compute_layout({ users_max: 10, tx_max: 2_000_000, threads_max: 1, gen_count });
    const bytes_per_tx = (large.memory_bytes - small.memory_bytes) / 1_000_000;
    assert.ok(Math.abs(bytes_per_tx - 104 * (1 + 1 / 64)) < 0.1, `${bytes_per_tx} bytes per transaction (${gen_count} generations)`);
  }
  // The retired filter: FILTER_BITS_PER_KEY bits per retired uuid it is sized for.
  const plain = compute_layout({ users_max: 10, tx_max: 1_000, threads_max: 1, gen_count: 2, filter_capacity: 0 });
  const filtered = compute_layout({ users_max: 10, tx_max: 1_000, threads_max: 1, gen_count: 2, filter_capacity: 8_000_000 });
  assert.ok(Math.abs((filtered.memory_bytes - plain.memory_bytes) / 8_000_000 - L.FILTER_BITS_PER_KEY / 8) < 0.01);
});

test('layout constants agree: derived sizes, disjoint header words, records that fit their cache line', () => {
  assert.is(L.S_RECORDS_MAX_BYTES, L.SCRATCH_SIZE_BYTES - L.S_RECORDS);
  assert.ok(L.S_OUT_REF_TEXT + L.UUID_TEXT_BYTES <= L.S_RECORDS, 'scratch outputs end before the records');
  assert.ok(L.S_OUT_REQUEST_TEXT + L.UUID_TEXT_BYTES <= L.S_OUT_REF_TEXT);
  assert.ok(L.S_NAME + 1 + L.USER_NAME_MAX_BYTES <= L.S_OUT_REQUEST_TEXT);
  for (const field of [L.T_OWNER, L.T_ENTRY_NEXT, L.T_ENTRY_END, L.T_USER_SPARE, L.T_BUDGET_UNITS, L.T_GEN_SEQ, L.T_RELEASED]) {
    assert.ok(field % 4 === 0 && field + 4 <= L.THREAD_RECORD_BYTES, `thread record u32 at ${field}`);
  }
  for (const field of [L.T_BETS, L.T_WINS, L.T_ROLLBACKS]) assert.ok(field % 8 === 0 && field + 8 <= L.THREAD_RECORD_BYTES);
  // Counters written by many threads each own a cache line.
  const shared = [L.H_USERS_RESERVED, L.H_USER_RECORDS_NEXT, L.H_TX_ENTRIES_NEXT, L.H_USERS_PUBLISHED, L.H_TX_BUDGET_NEXT,
    L.H_RELEASED_BOUND, L.H_CURRENCIES_RESERVED, L.H_RUN, L.H_EPOCH, L.H_DURABLE, L.H_CREATE_LOCK, L.H_FLUSH_WANT,
    L.H_JOURNAL_FAILED, L.H_FLUSH_CLOSE, L.H_GEN_WORD, L.H_ROTATE_WANT, L.H_ROTATING, L.H_RETIRED_SEQ,
    L.H_GEN_ENTRIES_NEXT_1, L.H_GEN_BUDGET_NEXT_1, L.H_GEN_RELEASED_BOUND_1, L.H_FILTER_KEYS, L.H_FLIP_CANARY, L.H_ROTATIONS, L.H_ROTATION_STALL_MS, L.H_ROTATION_BLOCKED];
  assert.is(new Set(shared.map((at) => Math.floor(at / L.CACHE_LINE_BYTES))).size, shared.length);
  assert.ok(Math.max(...shared) + 8 <= L.H_DATA_DIR, 'the counters end before the data directory path');
  assert.ok(L.H_USER_META_OFFSET + 4 <= L.H_USERS_RESERVED, 'fixed header fields end before the counters');
  assert.ok(L.C_BYTES + L.CURRENCY_MAX_BYTES <= L.CURRENCY_RECORD_BYTES);
  assert.ok(L.USER_CURRENCY_MAX_BYTES <= L.CURRENCY_MAX_BYTES);
  assert.is(L.E_BALANCE_AFTER + 8, L.E_REF_UUID);
  assert.is(L.E_REF_UUID + 16, L.ENTRY_SIZE_BYTES);
  assert.ok(L.H_ROTATE_AT + 4 <= L.H_USERS_RESERVED, 'the fixed generation fields end before the counters');
  assert.ok(L.S_IN_RETIRED_SEQ + 4 <= L.S_NAME && L.S_OUT_FINGERPRINT >= L.S_OUT_TICKET + 8);
});

test('start() writes a header that reads back to the same layout', () => {
  const wallet = start({ maxUsers: 100, maxTransactions: 1_000, maxThreads: 4 });
  assert.equal(layout_of(wallet), compute_layout({ users_max: 100, tx_max: 1_000, threads_max: 4 }));
});

test('wallets dropped in a synchronous loop are collected: 15_000 start() calls do not run out of address space', () => {
  // Each wasm memory reserves gigabytes of address space (guard regions);
  // ~12_900 live ones exhaust it. A WeakRef made in start() would keep every
  // wallet of one synchronous job alive: this failed before start() stopped
  // registering one.
  for (let round = 0; round < 15_000; round++) start({ maxUsers: 1, maxTransactions: 1, maxThreads: 1 });
});

test('a worker that ends by itself gives its thread slot back (maxThreads is not spent by a pool)', async () => {
  const wallet = start({ maxUsers: 10, maxTransactions: 10, maxThreads: 2 }); // main holds one of the two
  const handle = share(wallet);
  const source = "import { attach } from 'exwallet'; import { workerData } from 'node:worker_threads'; attach(workerData);";
  for (let round = 0; round < 4; round++) {
    const worker = new Worker(source, { eval: true, workerData: handle });
    const exit_code = await new Promise<number>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error('worker did not exit within 10 s')), 10_000);
      worker.once('error', reject);
      worker.once('exit', (code) => {
        clearTimeout(deadline);
        resolve(code);
      });
    }).finally(() => worker.terminate());
    assert.is(exit_code, 0, `worker ${round} attached (a slot was free) and exited cleanly`);
  }
});

test.run();
