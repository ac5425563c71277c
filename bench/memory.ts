// Bytes per stored transaction.
//
//  - exwallet, shared memory by layout: the growth of the reserved memory per
//    extra maxTransactions (computed by src/layout.ts, what start() reserves).
//  - RSS growth while filling a fresh wallet with `fill` bets: pages of the
//    reservation actually touched (exwallet) or the heap (peer a).
//  - JS heap: process.memoryUsage().heapUsed after global.gc(), before and
//    after the fill. exwallet should keep nothing per transaction on the heap.
//
// The bodies of the fill are generated in batches and dropped, so what stays
// is what the wallet retains.

import { bet, detach, RS_OK } from 'exwallet';
import { Rng, bet_bodies } from './bodies.js';
import { exwallet_for, map_wallet_for, users_max_for } from './throughput.js';
import { memory_snapshot, type MemorySnapshot } from './lib.js';

export interface MemoryOptions {
  users: string[];
  fill: number;
  seed: number;
}

export interface FillMemory {
  impl: string;
  fill: number;
  rss_bytes_per_tx: number;
  heap_used_bytes_per_tx: number;
  rss_minus_heap_total_bytes_per_tx: number;
  before: MemorySnapshot;
  after: MemorySnapshot;
}

export interface MemoryResult {
  layout: { tx_max_small: number; tx_max_large: number; shared_bytes_per_tx: number; entry_bytes: number | null; index_word_bytes: number | null } | { error: string };
  exwallet: FillMemory;
  map_wallet: FillMemory;
}

const BATCH = 20_000;

async function layout_bytes_per_tx(users: number): Promise<MemoryResult['layout']> {
  try {
    // Internal module, read-only: the same arithmetic start() uses.
    const layout = await import(new URL('../src/layout.js', import.meta.url).href);
    const sizes = { users_max: users_max_for(users), threads_max: 256 };
    const tx_max_small = 1_000_000;
    const tx_max_large = 2_000_000;
    const small = layout.compute_layout({ ...sizes, tx_max: tx_max_small });
    const large = layout.compute_layout({ ...sizes, tx_max: tx_max_large });
    return {
      tx_max_small, tx_max_large,
      shared_bytes_per_tx: (large.memory_bytes - small.memory_bytes) / (tx_max_large - tx_max_small),
      entry_bytes: layout.L?.ENTRY_SIZE_BYTES ?? null,
      index_word_bytes: layout.L?.INDEX_WORD_BYTES ?? null,
    };
  } catch (error) {
    return { error: String(error) };
  }
}

function per_tx(after: number, before: number, fill: number): number {
  return Math.round(((after - before) / fill) * 10) / 10;
}

function fill_memory(impl: string, fill: number, before: MemorySnapshot, after: MemorySnapshot): FillMemory {
  return {
    impl, fill,
    rss_bytes_per_tx: per_tx(after.rss_bytes, before.rss_bytes, fill),
    heap_used_bytes_per_tx: per_tx(after.heap_used_bytes, before.heap_used_bytes, fill),
    rss_minus_heap_total_bytes_per_tx: per_tx(after.rss_bytes - after.heap_total_bytes, before.rss_bytes - before.heap_total_bytes, fill),
    before, after,
  };
}

/** Run both wallets on a throwaway pair first, so that the JIT code of the
 *  bet paths (which lives on the heap) is not counted as per-tx memory. */
function warm_up(users: string[], seed: number): void {
  const calls = 20_000;
  const bodies = bet_bodies(new Rng(seed, 6), users, calls);
  const ours = exwallet_for(users, calls + 1024);
  const peer = map_wallet_for(users, calls + 1024);
  for (const body of bodies) {
    bet(ours, body);
    peer.bet(body);
  }
  detach(ours);
}

export async function run_memory(options: MemoryOptions): Promise<MemoryResult> {
  const layout = await layout_bytes_per_tx(options.users.length);

  let result_exwallet: FillMemory;
  {
    warm_up(options.users, options.seed);
    // prefault: false, so RSS grows with the pages the transactions really use.
    const wallet = exwallet_for(options.users, options.fill + 1024, false);
    const rng = new Rng(options.seed, 5);
    const before = memory_snapshot();
    for (let stored = 0; stored < options.fill;) {
      const batch = bet_bodies(rng, options.users, Math.min(BATCH, options.fill - stored));
      for (const body of batch) if (bet(wallet, body).status === RS_OK) stored++;
    }
    const after = memory_snapshot();
    result_exwallet = fill_memory('exwallet', options.fill, before, after);
    detach(wallet);
  }

  let result_map: FillMemory;
  {
    memory_snapshot();
    const wallet = map_wallet_for(options.users, options.fill + 1024);
    const rng = new Rng(options.seed, 5);
    const before = memory_snapshot();
    for (let stored = 0; stored < options.fill;) {
      const batch = bet_bodies(rng, options.users, Math.min(BATCH, options.fill - stored));
      for (const body of batch) if (wallet.bet(body).status === RS_OK) stored++;
    }
    const after = memory_snapshot();
    if (wallet.transactions.size !== options.fill) throw new Error('map wallet fill incomplete');
    result_map = fill_memory('map_wallet', options.fill, before, after);
  }
  return { layout, exwallet: result_exwallet, map_wallet: result_map };
}
