// stats(wallet): counts and fill levels (contract §11). No scan of the
// tables: every figure is a header counter or a sum of the per-slot counters
// in the thread registry (one cache line per slot, written only by its
// holder), so it is cheap and any thread can ask while calls are in flight.

import { L, gen_counter, ring_offset } from './layout.js';
import { Wallet, next_call } from './wallet.js';
import type { WalletStats } from './types.js';
import type { ThreadCore } from './core.js';
import { durable_epoch, journal_failed } from './durability.js';
import { BLOCKED_TEXTS } from './rotation.js';

export function stats(wallet: Wallet): WalletStats {
  const core = Wallet.core_of(wallet);
  next_call();
  const { layout, u32, i64 } = core;
  const header = (field: number) => Atomics.load(u32, (L.HEADER_OFFSET + field) >>> 2);
  let bets = 0n, wins = 0n, rollbacks = 0n;
  let released = 0, budget_held = 0, chunk_held = 0, slots_in_use = 0;
  const gen_word = header(L.H_GEN_WORD);
  const cur = layout.gen_count === 1 ? 0 : (gen_word >>> 1) & 1;
  const gens = layout.gen_count > 1 && (gen_word & 1) !== 0 ? [cur, cur ^ 1] : [cur];
  for (let slot = 0; slot < layout.threads_max; slot++) {
    const record_u32 = (layout.threads_offset + slot * L.THREAD_RECORD_BYTES) >>> 2;
    const record_i64 = (layout.threads_offset + slot * L.THREAD_RECORD_BYTES) / 8;
    bets += Atomics.load(i64, record_i64 + L.T_BETS / 8);
    wins += Atomics.load(i64, record_i64 + L.T_WINS / 8);
    rollbacks += Atomics.load(i64, record_i64 + L.T_ROLLBACKS / 8);
    released += Atomics.load(u32, record_u32 + L.T_RELEASED / 4);
    if (Atomics.load(u32, record_u32 + L.T_GEN_SEQ / 4) === gen_word >>> 1) {
      budget_held += Atomics.load(u32, record_u32 + L.T_BUDGET_UNITS / 4);
      chunk_held += Math.max(0, Atomics.load(u32, record_u32 + L.T_ENTRY_END / 4) - Atomics.load(u32, record_u32 + L.T_ENTRY_NEXT / 4));
    }
    const owner = Atomics.load(u32, record_u32 + L.T_OWNER / 4);
    if (owner !== 0 && owner !== L.ADOPTING_OWNER) slots_in_use++;
  }
  const transactions = Number(bets + wins + rollbacks);
  // Each counter is exact on its own; read at slightly different moments a
  // settlement may be counted before its bet: never report less than none.
  const open_bets = Math.max(0, Number(bets - wins - rollbacks));
  let budget_handed = 0, entries_handed = 0;
  for (const gen of gens) {
    budget_handed += Math.min(layout.gen_budget, header(gen_counter('budget_next', gen)));
    entries_handed += Math.min(layout.gen_entries, header(gen_counter('entries_next', gen)));
  }
  const budget_used = Math.max(0, Math.min(layout.tx_max, budget_handed - budget_held));
  const in_memory = layout.gen_count === 1 ? transactions : Math.max(0, entries_handed - chunk_held);
  return {
    users: header(L.H_USERS_PUBLISHED),
    usersMax: layout.users_max,
    currencies: core.currencies.count(),
    transactions,
    bets: Number(bets),
    wins: Number(wins),
    rollbacks: Number(rollbacks),
    openBets: open_bets,
    inMemory: in_memory,
    budget: layout.tx_max,
    budgetUsed: budget_used,
    reserveHeld: open_bets,
    tableFill: layout.tx_max === 0 ? 0 : budget_used / layout.tx_max,
    releasedAfterClaim: released,
    threadSlots: layout.threads_max,
    threadSlotsInUse: slots_in_use,
    ...journal_stats(core),
    ...window_stats(core),
    bytesFallbacks: header(L.H_BYTES_FALLBACKS),
  };
}

/** Durable wallets: the window's rotations and the retired filter (contract §10). */
function window_stats(core: ThreadCore): Pick<WalletStats, 'rotations' | 'retirements' | 'retiredFilterKeys' | 'retiredFilterCapacity' | 'retiredFilterFalsePositiveRate' | 'rotationBlocked'> {
  const { layout, u32 } = core;
  const keys = Atomics.load(u32, (L.HEADER_OFFSET + L.H_FILTER_KEYS) >>> 2);
  // A split-block Bloom filter's rate: a block holding k keys has each of
  // its 8 words with k bits set at most, so a new uuid aimed at it passes
  // with probability (1 - (1 - 1/64)^k)^8; blocks' loads are Poisson around
  // keys/blocks, and the uneven ones dominate the rate.
  const rate = filter_false_positive_rate(keys, layout.filter_blocks);
  return {
    rotations: Atomics.load(u32, (L.HEADER_OFFSET + L.H_ROTATIONS) >>> 2),
    retirements: Atomics.load(u32, (L.HEADER_OFFSET + L.H_RETIRED_SEQ) >>> 2),
    retiredFilterKeys: keys,
    retiredFilterCapacity: layout.filter_capacity,
    retiredFilterFalsePositiveRate: rate,
    rotationBlocked: BLOCKED_TEXTS[Atomics.load(u32, (L.HEADER_OFFSET + L.H_ROTATION_BLOCKED) >>> 2)] || null,
  };
}

/** Durable wallets: where the journal stands (contract §11). */
function journal_stats(core: ThreadCore): Pick<WalletStats, 'durable' | 'openEpoch' | 'durableEpoch' | 'journalPendingRecords' | 'journalFailed'> {
  if (!core.journal_on) return { durable: false, openEpoch: 0, durableEpoch: 0, journalPendingRecords: 0, journalFailed: false };
  const { layout, u32 } = core;
  let pending = 0;
  for (let slot = 0; slot < layout.threads_max; slot++) {
    const ring = ring_offset(layout, slot);
    pending += (Atomics.load(u32, (ring + L.RING_HEAD) >>> 2) - Atomics.load(u32, (ring + L.RING_TAIL) >>> 2)) >>> 0;
  }
  return {
    durable: true,
    openEpoch: Number(Atomics.load(core.i64, (L.HEADER_OFFSET + L.H_EPOCH) / 8)),
    durableEpoch: durable_epoch(core),
    journalPendingRecords: pending,
    journalFailed: journal_failed(core),
  };
}

const POISSON_MEAN_MAX = 500;

/** The expected false-positive rate of the retired filter with `keys` uuids in `blocks` blocks. */
export function filter_false_positive_rate(keys: number, blocks: number): number {
  if (keys === 0 || blocks === 0) return 0;
  const mean = keys / blocks;
  // Far past capacity the Poisson terms underflow; the rate is ~1 there anyway.
  if (mean > POISSON_MEAN_MAX) return (1 - Math.exp(-mean / 64)) ** L.FILTER_PROBES;
  let rate = 0;
  let p = Math.exp(-mean); // Poisson P(k = 0)
  for (let k = 0; k <= mean + 12 * Math.sqrt(mean) + 12; k++) {
    if (k > 0) p *= mean / k;
    rate += p * (1 - (1 - 1 / 64) ** k) ** L.FILTER_PROBES;
  }
  return rate;
}
