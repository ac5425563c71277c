// Region offsets of one wallet's shared memory, computed once from the
// options. The constants and the diagram live in src/layout_constants.ts, shared
// with the WASM core; this module only does the arithmetic and writes the
// header that every thread (and the core's `init`) reads back.

import * as L from './layout_constants.js';

export * as L from './layout_constants.js';

export const WASM_PAGE_BYTES = 65536;
export const WASM_PAGES_MAX = 65536; // 4 GiB: the wasm32 limit

export interface LayoutSizes {
  users_max: number;
  tx_max: number;
  threads_max: number;
  /** Records per journal ring; 0 for a memory-only wallet (no rings). */
  ring_records?: number;
  /** Generations of the transaction table: 1 (memory-only) or 2 (durable: rotates). */
  gen_count?: number;
  /** Retired uuids the filter is sized for (durable wallets); 0: no filter. */
  filter_capacity?: number;
}

export interface Layout extends LayoutSizes {
  user_records_max: number;
  user_index_capacity: number;
  /** Physical entries: tx_max budget units plus the slack (layout_constants.ts, "Capacity"). */
  tx_entries_max: number;
  release_slack: number;
  tx_index_capacity: number;
  gen_count: number;
  /** Per generation: budget units, physical entries, index words. */
  gen_budget: number;
  gen_entries: number;
  gen_index_capacity: number;
  /** Budget units used in the current generation that ask for a rotation. */
  rotate_at: number;
  filter_capacity: number;
  filter_blocks: number;
  filter_offset: number;
  ring_records: number;
  ring_bytes: number;
  rings_offset: number;
  currencies_offset: number;
  user_index_offset: number;
  user_names_offset: number;
  user_balances_offset: number;
  user_meta_offset: number;
  tx_index_offset: number;
  tx_entries_offset: number;
  threads_offset: number;
  scratch_offset: number;
  memory_bytes: number;
}

function align_up(offset_bytes: number): number {
  return Math.ceil(offset_bytes / L.REGION_ALIGN_BYTES) * L.REGION_ALIGN_BYTES;
}

/** Lay out the regions for these sizes. May return more than WASM_PAGES_MAX
 *  pages worth of bytes: the caller refuses that. */
export function compute_layout(sizes: LayoutSizes): Layout {
  const { users_max, tx_max, threads_max } = sizes;
  const ring_records = sizes.ring_records ?? 0;
  const ring_bytes = ring_records === 0 ? 0 : L.RING_RECORDS_AT + ring_records * L.JOURNAL_RECORD_BYTES;
  const user_records_max = users_max + threads_max;
  const gen_count = sizes.gen_count ?? 1;
  if (gen_count !== 1 && gen_count !== L.GEN_COUNT_DURABLE) throw new RangeError(`exwallet: ${gen_count} generations`);
  // A rotating wallet's window is two generations of half the budget each.
  const gen_budget = gen_count === 1 ? tx_max : Math.max(2 * L.BET_UNITS, Math.ceil(tx_max / gen_count));
  // The slack, per generation: entries handed to threads in chunks and not
  // used yet (a chunk is at most 1/64 of what is left, and at most
  // ENTRY_CHUNK_MAX), plus the post-claim failures it absorbs before they
  // hold budget units.
  const release_slack = Math.max(L.RELEASE_SLACK_MIN, Math.ceil(gen_budget / 64));
  const chunk_slack = Math.min(threads_max * L.ENTRY_CHUNK_MAX, gen_budget + release_slack);
  const gen_entries = gen_budget + release_slack + chunk_slack;
  const tx_entries_max = gen_entries * gen_count;
  // Load factor 1/2 on both indexes: probes stay short and bounded, and an
  // empty word is always reachable (the core's probe loops rely on it).
  const user_index_capacity = users_max * 2;
  const gen_index_capacity = gen_entries * 2;
  const tx_index_capacity = gen_index_capacity * gen_count;
  const filter_capacity = gen_count === 1 ? 0 : sizes.filter_capacity ?? 0;
  const filter_blocks = Math.ceil((filter_capacity * L.FILTER_BITS_PER_KEY) / (L.FILTER_BLOCK_BYTES * 8));
  const rotate_at = Math.floor((gen_budget * L.ROTATE_AT_PER_1024) / 1024);
  let offset = L.HEADER_OFFSET + L.HEADER_SIZE_BYTES;
  const take = (bytes: number): number => {
    const at = align_up(offset);
    offset = at + bytes;
    return at;
  };
  const layout: Layout = {
    users_max, tx_max, threads_max, user_records_max, user_index_capacity, tx_entries_max, release_slack, tx_index_capacity,
    gen_count, gen_budget, gen_entries, gen_index_capacity, rotate_at, filter_capacity, filter_blocks,
    ring_records, ring_bytes,
    currencies_offset: take(L.CURRENCIES_MAX * L.CURRENCY_RECORD_BYTES),
    user_index_offset: take(user_index_capacity * L.INDEX_WORD_BYTES),
    user_names_offset: take(user_records_max * L.USER_NAME_RECORD_BYTES),
    user_balances_offset: take(user_records_max * L.BALANCE_BYTES),
    user_meta_offset: take(user_records_max * L.USER_META_BYTES),
    tx_index_offset: take(tx_index_capacity * L.INDEX_WORD_BYTES),
    tx_entries_offset: take(tx_entries_max * L.ENTRY_SIZE_BYTES),
    threads_offset: take(threads_max * L.THREAD_RECORD_BYTES),
    scratch_offset: take(threads_max * L.SCRATCH_SIZE_BYTES),
    rings_offset: take(threads_max * ring_bytes),
    filter_offset: take(filter_blocks * L.FILTER_BLOCK_BYTES),
    memory_bytes: 0,
  };
  layout.memory_bytes = Math.ceil(align_up(offset) / WASM_PAGE_BYTES) * WASM_PAGE_BYTES;
  return layout;
}

/** Byte offset of thread slot `slot`'s journal ring (layout_constants.ts, "The journal"). */
export function ring_offset(layout: Layout, slot: number): number {
  return layout.rings_offset + slot * layout.ring_bytes;
}

export interface HeaderInit {
  initial_balance_units: number;
  fingerprint_seed: bigint;
  hash_key: readonly [bigint, bigint];
  wait_ms_max: number;
  /** The first open epoch: 1 for a new wallet, the last recovered + 1 otherwise. */
  first_epoch: number;
  /** A durable wallet's data directory (real path), else ''. */
  data_dir: string;
  currency_utf8: Uint8Array;
}

/** Write the header of a fresh (all-zero) memory. Runs once, in start(),
 *  before the memory is shared with anyone. */
export function write_header(buffer: SharedArrayBuffer, layout: Layout, init: HeaderInit): void {
  const view = new DataView(buffer, L.HEADER_OFFSET, L.HEADER_SIZE_BYTES);
  const u32 = (at: number, value: number) => view.setUint32(at, value, true);
  u32(L.H_MAGIC, L.LAYOUT_MAGIC);
  u32(L.H_VERSION, L.LAYOUT_VERSION);
  u32(L.H_USERS_MAX, layout.users_max);
  u32(L.H_USER_RECORDS_MAX, layout.user_records_max);
  u32(L.H_USER_INDEX_CAPACITY, layout.user_index_capacity);
  u32(L.H_TX_MAX, layout.tx_max);
  u32(L.H_TX_INDEX_CAPACITY, layout.tx_index_capacity);
  u32(L.H_THREADS_MAX, layout.threads_max);
  view.setBigInt64(L.H_INITIAL_BALANCE, BigInt(init.initial_balance_units), true);
  view.setBigUint64(L.H_FINGERPRINT_SEED, init.fingerprint_seed, true);
  view.setBigUint64(L.H_HASH_KEY, init.hash_key[0], true);
  view.setBigUint64(L.H_HASH_KEY + 8, init.hash_key[1], true);
  u32(L.H_WAIT_MS_MAX, init.wait_ms_max);
  u32(L.H_TX_ENTRIES_MAX, layout.tx_entries_max);
  u32(L.H_RELEASE_SLACK, layout.release_slack);
  // The wallet's currency is currency record 0.
  const record = layout.currencies_offset;
  new Uint8Array(buffer, record + L.C_BYTES, L.CURRENCY_MAX_BYTES).set(init.currency_utf8);
  new Uint32Array(buffer, record, 1)[0] = init.currency_utf8.length;
  u32(L.H_CURRENCIES_RESERVED, 1);
  u32(L.H_CURRENCY_ID, 0);
  u32(L.H_CURRENCIES_OFFSET, layout.currencies_offset);
  u32(L.H_USER_META_OFFSET, layout.user_meta_offset);
  u32(L.H_RINGS_OFFSET, layout.rings_offset);
  u32(L.H_RING_RECORDS, layout.ring_records);
  u32(L.H_JOURNAL_ON, layout.ring_records > 0 ? 1 : 0);
  view.setBigUint64(L.H_EPOCH, BigInt(init.first_epoch), true);
  view.setBigUint64(L.H_DURABLE, BigInt(init.first_epoch - 1), true);
  const dir_utf8 = Buffer.from(init.data_dir, 'utf8');
  if (dir_utf8.length > L.DATA_DIR_MAX_BYTES) throw new RangeError(`exwallet: dataDir path is longer than ${L.DATA_DIR_MAX_BYTES} bytes`);
  u32(L.H_DATA_DIR_LENGTH, dir_utf8.length);
  new Uint8Array(buffer, L.HEADER_OFFSET + L.H_DATA_DIR, dir_utf8.length).set(dir_utf8);
  u32(L.H_USER_INDEX_OFFSET, layout.user_index_offset);
  u32(L.H_USER_NAMES_OFFSET, layout.user_names_offset);
  u32(L.H_USER_BALANCES_OFFSET, layout.user_balances_offset);
  u32(L.H_TX_INDEX_OFFSET, layout.tx_index_offset);
  u32(L.H_TX_ENTRIES_OFFSET, layout.tx_entries_offset);
  u32(L.H_THREADS_OFFSET, layout.threads_offset);
  u32(L.H_SCRATCH_OFFSET, layout.scratch_offset);
  u32(L.H_MEMORY_PAGES, layout.memory_bytes / WASM_PAGE_BYTES); // in pages: 4 GiB overflows u32 bytes
  u32(L.H_GEN_COUNT, layout.gen_count);
  u32(L.H_GEN_BUDGET, layout.gen_budget);
  u32(L.H_GEN_ENTRIES, layout.gen_entries);
  u32(L.H_GEN_INDEX_CAPACITY, layout.gen_index_capacity);
  u32(L.H_FILTER_OFFSET, layout.filter_offset);
  u32(L.H_FILTER_BLOCKS, layout.filter_blocks);
  u32(L.H_ROTATE_AT, layout.rotate_at);
}

/** Header word of generation `gen`'s entry, budget and released counters. */
export function gen_counter(field: 'entries_next' | 'budget_next' | 'released_bound', gen: number): number {
  const fields = {
    entries_next: [L.H_TX_ENTRIES_NEXT, L.H_GEN_ENTRIES_NEXT_1],
    budget_next: [L.H_TX_BUDGET_NEXT, L.H_GEN_BUDGET_NEXT_1],
    released_bound: [L.H_RELEASED_BOUND, L.H_GEN_RELEASED_BOUND_1],
  } as const;
  return fields[field][gen];
}

export interface HeaderView {
  layout: Layout;
  initial_balance_units: number;
  wait_ms_max: number;
  /** The wallet's default currency record. */
  currency_id: number;
  journal_on: boolean;
  data_dir: string;
  seed_hex: string;
}

/** Read back what write_header wrote, checking magic and version. */
export function read_header(buffer: SharedArrayBuffer): HeaderView {
  const view = new DataView(buffer, L.HEADER_OFFSET, L.HEADER_SIZE_BYTES);
  const u32 = (at: number) => view.getUint32(at, true);
  if (u32(L.H_MAGIC) !== L.LAYOUT_MAGIC) throw new TypeError('exwallet: not a wallet memory (bad magic)');
  if (u32(L.H_VERSION) !== L.LAYOUT_VERSION) {
    throw new TypeError(`exwallet: wallet memory has layout version ${u32(L.H_VERSION)}, this build reads ${L.LAYOUT_VERSION}`);
  }
  const layout = compute_layout({
    users_max: u32(L.H_USERS_MAX), tx_max: u32(L.H_TX_MAX), threads_max: u32(L.H_THREADS_MAX), ring_records: u32(L.H_RING_RECORDS),
    gen_count: u32(L.H_GEN_COUNT),
    filter_capacity: Math.floor((u32(L.H_FILTER_BLOCKS) * L.FILTER_BLOCK_BYTES * 8) / L.FILTER_BITS_PER_KEY),
  });
  // Pair assertion: the offsets recomputed here equal the ones written.
  const written = [
    [L.H_TX_ENTRIES_MAX, layout.tx_entries_max], [L.H_RELEASE_SLACK, layout.release_slack],
    [L.H_CURRENCIES_OFFSET, layout.currencies_offset], [L.H_USER_META_OFFSET, layout.user_meta_offset],
    [L.H_RINGS_OFFSET, layout.rings_offset],
    [L.H_USER_INDEX_OFFSET, layout.user_index_offset], [L.H_USER_NAMES_OFFSET, layout.user_names_offset],
    [L.H_USER_BALANCES_OFFSET, layout.user_balances_offset], [L.H_TX_INDEX_OFFSET, layout.tx_index_offset],
    [L.H_TX_ENTRIES_OFFSET, layout.tx_entries_offset], [L.H_THREADS_OFFSET, layout.threads_offset],
    [L.H_SCRATCH_OFFSET, layout.scratch_offset], [L.H_MEMORY_PAGES, layout.memory_bytes / WASM_PAGE_BYTES],
    [L.H_GEN_ENTRIES, layout.gen_entries], [L.H_FILTER_OFFSET, layout.filter_offset], [L.H_FILTER_BLOCKS, layout.filter_blocks],
  ];
  for (const [at, expected] of written) {
    if (u32(at) !== expected) throw new Error(`exwallet: header field at +${at} is ${u32(at)}, layout says ${expected}`);
  }
  return {
    layout,
    initial_balance_units: Number(view.getBigInt64(L.H_INITIAL_BALANCE, true)),
    wait_ms_max: u32(L.H_WAIT_MS_MAX),
    currency_id: u32(L.H_CURRENCY_ID),
    journal_on: u32(L.H_JOURNAL_ON) !== 0,
    data_dir: Buffer.from(buffer, L.HEADER_OFFSET + L.H_DATA_DIR, u32(L.H_DATA_DIR_LENGTH)).toString('utf8'),
    seed_hex: view.getBigUint64(L.H_FINGERPRINT_SEED, true).toString(16),
  };
}
