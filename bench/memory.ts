// Bytes per stored transaction.
//
//  - exwallet, shared memory by layout: the growth of the reserved memory per
//    extra unit of maxTransactions (computed by src/layout.ts, what start()
//    reserves). maxTransactions is a budget (lib.ts, "Table sizing"): a
//    budget unit is one transaction entry plus its share of the index, 88 B,
//    plus the release slack of 1/64 of the budget: 88 × (1 + 1/64) = 89.4 B.
//    An open bet holds 2 units (its entry and its settlement's reserve), so a
//    table of bets that are never settled reserves 2 × 89.4 B per bet; a bet
//    and its win are 2 transactions in the same 2 units.
//  - RSS growth while filling a fresh wallet (prefault: false) with `fill`
//    bets: pages of the reservation actually touched (exwallet) or the heap
//    (peer a). The reserved half of a bet's 2 units is an entry nobody writes
//    until the settlement comes, so it is not resident; the index, probed at
//    random over its whole (2-unit-sized) capacity, is.
//  - JS heap: process.memoryUsage().heapUsed after global.gc(), before and
//    after the fill. exwallet should keep nothing per transaction on the heap.
//
// The bodies of the fill are generated in batches and dropped, so what stays
// is what the wallet retains.

import { readFileSync } from 'node:fs';
import { bet, detach, stats, DEFAULTS, RS_OK, type Wallet } from 'exwallet';
import type { MapWallet } from './peers/map_wallet.js';
import { Random } from '../tools/random.js';
import { bet_bodies, type BetBody } from './bodies.js';
import { exwallet_for, map_wallet_for, users_max_for } from './throughput.js';
import { memory_snapshot, check_fill_batch, budget_for_bets, BUDGET_UNITS_PER_BET, type MemorySnapshot } from './lib.js';

export interface MemoryOptions {
  users: string[];
  fill: number;
  seed: number;
}

export interface FillMemory {
  impl: string;
  /** Bets stored (never settled). */
  fill: number;
  /** exwallet: its maxTransactions budget (2 units per bet + margin); (a): its table size. */
  tx_max: number;
  /** Per stored bet (= per stored transaction: the fill is bets only). */
  rss_bytes_per_tx: number;
  heap_used_bytes_per_tx: number;
  rss_minus_heap_total_bytes_per_tx: number;
  /** exwallet: growth of the resident pages of the wallet's own shared-memory
   *  mapping (/proc/self/smaps, Linux) per stored bet: exact, unlike RSS, which
   *  the heap's own churn moves by tens of bytes per bet. null if not found. */
  wallet_resident_bytes_per_bet?: number | null;
  /** exwallet: what the layout predicts is resident per stored bet: the entry
   *  it wrote plus the whole transaction index (probed at random, so every
   *  page of it is touched), over the bets stored. The reserved entries are not. */
  model_resident_bytes_per_bet?: number | null;
  /** exwallet: stats(wallet) after the fill. */
  budget_used?: number;
  open_bets?: number;
  table_fill?: number;
  before: MemorySnapshot;
  after: MemorySnapshot;
}

export interface LayoutMemory {
  tx_max_small: number;
  tx_max_large: number;
  /** Shared memory per budget unit (per unit of maxTransactions): = per stored transaction once every bet is settled. */
  shared_bytes_per_tx: number;
  /** The same, named for what it is. */
  shared_bytes_per_budget_unit: number;
  /** What a bet that stays open reserves: BUDGET_UNITS_PER_BET units. */
  shared_bytes_per_open_bet: number;
  budget_units_per_bet: number;
  /** Entries beyond the budget for failures after a claim: release_slack / maxTransactions at tx_max_large. */
  release_slack_fraction: number | null;
  entry_bytes: number | null;
  index_word_bytes: number | null;
  /** entry + 2 index words, × (1 + release slack): what shared_bytes_per_budget_unit should be. */
  expected_bytes_per_budget_unit: number | null;
}

export interface MemoryResult {
  layout: LayoutMemory | { error: string };
  exwallet: FillMemory;
  map_wallet: FillMemory;
}

const BATCH = 20_000;

async function layout_bytes_per_tx(users: number): Promise<MemoryResult['layout']> {
  try {
    // Internal module, read-only: the same arithmetic start() uses.
    const layout = await import('exwallet/internal/layout');
    const sizes = { users_max: users_max_for(users), threads_max: 256 };
    const tx_max_small = 1_000_000;
    const tx_max_large = 2_000_000;
    const small = layout.compute_layout({ ...sizes, tx_max: tx_max_small });
    const large = layout.compute_layout({ ...sizes, tx_max: tx_max_large });
    const per_unit = (large.memory_bytes - small.memory_bytes) / (tx_max_large - tx_max_small);
    const entry_bytes = layout.L?.ENTRY_SIZE_BYTES ?? null;
    const index_word_bytes = layout.L?.INDEX_WORD_BYTES ?? null;
    const slack = typeof large.release_slack === 'number' ? large.release_slack / tx_max_large : null;
    return {
      tx_max_small, tx_max_large,
      shared_bytes_per_tx: per_unit,
      shared_bytes_per_budget_unit: per_unit,
      shared_bytes_per_open_bet: per_unit * BUDGET_UNITS_PER_BET,
      budget_units_per_bet: BUDGET_UNITS_PER_BET,
      release_slack_fraction: slack,
      entry_bytes, index_word_bytes,
      expected_bytes_per_budget_unit: entry_bytes === null || index_word_bytes === null || slack === null
        ? null : (entry_bytes + 2 * index_word_bytes) * (1 + slack),
    };
  } catch (error) {
    return { error: String(error) };
  }
}

/** The layout start() computes for the memory suite's wallet (default maxThreads), or undefined. */
async function wallet_layout(users: number, tx_max: number): Promise<{ memory_bytes: number; tx_index_capacity: number; index_word_bytes: number } | undefined> {
  try {
    const layout = await import('exwallet/internal/layout');
    const l = layout.compute_layout({ users_max: users_max_for(users), tx_max, threads_max: DEFAULTS.maxThreads });
    return { memory_bytes: l.memory_bytes, tx_index_capacity: l.tx_index_capacity, index_word_bytes: layout.L.INDEX_WORD_BYTES };
  } catch {
    return undefined;
  }
}

function per_tx(after: number, before: number, fill: number): number {
  return Math.round(((after - before) / fill) * 10) / 10;
}

function fill_memory(impl: string, fill: number, tx_max: number, before: MemorySnapshot, after: MemorySnapshot): FillMemory {
  return {
    impl, fill, tx_max,
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
  const bodies = bet_bodies(new Random(seed, 6), users, calls);
  const ours = exwallet_for(users, { bets: calls });
  const peer = map_wallet_for(users, calls + 1024);
  for (const body of bodies) {
    bet(ours, body);
    peer.bet(body);
  }
  detach(ours);
}

function apply_exwallet(wallet: Wallet, batch: BetBody[]): number {
  let ok = 0;
  for (const body of batch) if (bet(wallet, body).status === RS_OK) ok++;
  return ok;
}

function apply_map(wallet: MapWallet, batch: BetBody[]): number {
  let ok = 0;
  for (const body of batch) if (wallet.bet(body).status === RS_OK) ok++;
  return ok;
}

/** Store `fill` new bets in batches. Bounded: a batch in which a bet fails
 *  (a full table, a wrong status) throws, since the loop could not make progress. */
function fill_bets(what: string, fill: number, users: string[], seed: number, apply: (batch: BetBody[]) => number, hint: string): void {
  const rng = new Random(seed, 5); // the same bodies for both wallets
  for (let stored = 0; stored < fill;) {
    const batch = bet_bodies(rng, users, Math.min(BATCH, fill - stored));
    const ok = apply(batch);
    check_fill_batch(what, ok, batch.length, stored, fill, hint);
    stored += ok;
  }
}

interface Mapping { start: string; size: number; rss: number }

/** The process's mappings with their resident bytes, or null off Linux. */
function read_mappings(): Mapping[] | null {
  try {
    const out: Mapping[] = [];
    let current: Mapping | undefined;
    for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
      if (range) {
        current = { start: range[1], size: parseInt(range[2], 16) - parseInt(range[1], 16), rss: 0 };
        out.push(current);
      } else if (current && line.startsWith('Rss:')) {
        current.rss = Number(line.split(/\s+/)[1]) * 1024;
      }
    }
    return out;
  } catch {
    return null;
  }
}

/** The mapping start() made for a wallet of `memory_bytes`: new since `before`, of exactly that size. */
function wallet_mapping(before: Mapping[] | null, memory_bytes: number | undefined): string | undefined {
  const now = read_mappings();
  if (before === null || now === null || memory_bytes === undefined) return undefined;
  const known = new Set(before.map((m) => m.start));
  const found = now.filter((m) => !known.has(m.start) && m.size === memory_bytes);
  return found.length === 1 ? found[0].start : undefined;
}

function mapping_rss(start: string | undefined): number | undefined {
  if (start === undefined) return undefined;
  return read_mappings()?.find((m) => m.start === start)?.rss;
}

export async function run_memory(options: MemoryOptions): Promise<MemoryResult> {
  const layout = await layout_bytes_per_tx(options.users.length);

  let result_exwallet: FillMemory;
  {
    warm_up(options.users, options.seed);
    // prefault: false, so RSS grows with the pages the transactions really use.
    const tx_max = budget_for_bets(options.fill);
    const own_layout = await wallet_layout(options.users.length, tx_max);
    const mappings_before_start = read_mappings();
    const wallet = exwallet_for(options.users, { bets: options.fill }, false);
    const mapping = wallet_mapping(mappings_before_start, own_layout?.memory_bytes);
    const before = memory_snapshot();
    const mapping_before = mapping_rss(mapping);
    fill_bets('memory fill exwallet', options.fill, options.users, options.seed, (batch) => apply_exwallet(wallet, batch),
      `maxTransactions ${tx_max}, ${BUDGET_UNITS_PER_BET} units per bet`);
    const after = memory_snapshot();
    const mapping_after = mapping_rss(mapping);
    const s = stats(wallet);
    const entry_bytes = 'entry_bytes' in layout ? layout.entry_bytes : null;
    result_exwallet = {
      ...fill_memory('exwallet', options.fill, tx_max, before, after),
      wallet_resident_bytes_per_bet: mapping_before === undefined || mapping_after === undefined ? null : per_tx(mapping_after, mapping_before, options.fill),
      model_resident_bytes_per_bet: own_layout === undefined || entry_bytes === null
        ? null : Math.round((entry_bytes + (own_layout.tx_index_capacity * own_layout.index_word_bytes) / options.fill) * 10) / 10,
      budget_used: s.budgetUsed, open_bets: s.openBets, table_fill: Math.round(s.tableFill * 1e4) / 1e4,
    };
    detach(wallet);
  }

  let result_map: FillMemory;
  {
    memory_snapshot();
    const tx_max = options.fill + 1024;
    const wallet = map_wallet_for(options.users, tx_max);
    const before = memory_snapshot();
    fill_bets('memory fill map_wallet', options.fill, options.users, options.seed, (batch) => apply_map(wallet, batch), `maxTransactions ${tx_max}`);
    const after = memory_snapshot();
    if (wallet.transactions.size !== options.fill) throw new Error('map wallet fill incomplete');
    result_map = fill_memory('map_wallet', options.fill, tx_max, before, after);
  }
  return { layout, exwallet: result_exwallet, map_wallet: result_map };
}
