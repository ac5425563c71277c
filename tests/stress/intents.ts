// Workloads: a pool of intents (requests without their request_uuid) and,
// for each worker, the order in which it sends them, phase by phase.
//
// Intents that share a transaction_uuid form a *group*; within a group,
// variant 0 holds the canonical parameters and variants 1.. conflict with it
// (another amount, an extra field, another user, another kind). Every worker
// sends every group of a phase, so each uuid is sent by all workers at about
// the same moment (windowed shuffles of one base order, see Random), some of
// them with a conflicting variant.

import type { WalletOptions } from 'exwallet';
import { Random, derive_seed } from '../../tools/random.js';

export type Op = 'bet' | 'win' | 'rollback' | 'balance' | 'create';

export interface Intent {
  op: Op;
  /** Intents with the same group share a transaction_uuid; -1: balance/create. */
  group: number;
  /** 0 = the group's canonical parameters; others conflict with it. */
  variant: number;
  /** The request minus request_uuid (each send adds a fresh one). */
  body: Record<string, unknown>;
  /** createUsers: the names of one call. */
  names?: string[];
}

export interface Workload {
  scenario: string;
  options: WalletOptions & { initialBalance: number; currency: string };
  /** Users the parent creates before the workers start. */
  users: string[];
  intents: Intent[];
  /** plans[worker][phase] = intent indices, in send order. */
  plans: number[][][];
  /** Names the workers create (create_users); every one must exist at the end. */
  created_names: string[];
}

export interface WorkloadSize {
  workers: number;
  /** Transaction groups per phase (scaled per scenario). */
  groups: number;
  seed: number;
}

export const SCENARIOS = ['duplicates', 'conflicts', 'hot_user', 'settle_race', 'create_users', 'table_full'] as const;
export type Scenario = (typeof SCENARIOS)[number];

const CURRENCY = 'USD';
/** Every worker shuffles inside windows of this many sends (see Random.shuffle_windows). */
const WINDOW = 8;

class Builder {
  readonly intents: Intent[] = [];
  readonly rng: Random;
  group_count = 0;
  constructor(seed: number) {
    this.rng = new Random(seed);
  }
  add(intent: Intent): number {
    this.intents.push(intent);
    return this.intents.length - 1;
  }
  new_group(): number {
    return this.group_count++;
  }
  bet(group: number, variant: number, user: string, uuid: string, amount: number, extra: Record<string, unknown> = {}): number {
    return this.add({
      op: 'bet', group, variant,
      body: { user, transaction_uuid: uuid, currency: CURRENCY, amount, round: `r-${group}`, is_free: false, ...extra },
    });
  }
  settle(op: 'win' | 'rollback', group: number, variant: number, user: string, uuid: string, ref: string, amount: number, extra: Record<string, unknown> = {}): number {
    const body: Record<string, unknown> = { user, transaction_uuid: uuid, reference_transaction_uuid: ref, round: `s-${group}`, ...extra };
    if (op === 'win') {
      body.currency = CURRENCY;
      body.amount = amount;
    }
    return this.add({ op, group, variant, body });
  }
  balance(user: string): number {
    return this.add({ op: 'balance', group: -1, variant: 0, body: { user } });
  }
}

/** Variants of one group: [canonical, ...conflicting], each an intent index. */
type Group = number[];

/** Per-worker orders: each worker picks one variant of every group (the
 *  canonical one with probability 1 - conflict_p) and sends the phase's base
 *  order shuffled inside windows. Balance reads are sent as they are. */
function plan_phase(rng: Random, base: Group[], conflict_p: number): number[] {
  const order = base.map((variants) =>
    variants.length > 1 && rng.chance(conflict_p) ? variants[1 + rng.below(variants.length - 1)]! : variants[0]!);
  return rng.shuffle_windows(order, WINDOW);
}

function users_named(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** Bets with later wins/rollbacks on `users`; settlements come ~3 windows
 *  after their bet in the base order, so the bet has usually been applied. */
function betting_phase(b: Builder, users: string[], groups: number, conflicts: boolean, amounts: { bet: number; win: number }): Group[] {
  type Keyed = { key: number; group: Group };
  const keyed: Keyed[] = [];
  const rng = b.rng;
  for (let g = 0; g < groups; g++) {
    const user = rng.pick(users);
    const other = users.length > 1 ? users[(users.indexOf(user) + 1) % users.length]! : `${user}-ghost`;
    const bet_uuid = rng.uuid();
    const amount = rng.between(0, amounts.bet);
    const bet_group = b.new_group();
    const bet: Group = [b.bet(bet_group, 0, user, bet_uuid, amount)];
    if (conflicts) {
      bet.push(b.bet(bet_group, 1, user, bet_uuid, amount + 1));
      bet.push(b.bet(bet_group, 2, user, bet_uuid, amount, { game_code: 'conflicting' }));
      bet.push(b.bet(bet_group, 3, other, bet_uuid, amount));
      // Same uuid as a win (of an earlier bet): another kind entirely.
      bet.push(b.settle('win', bet_group, 4, user, bet_uuid, rng.uuid(), amount));
    }
    keyed.push({ key: 2 * g, group: bet });
    const settle_roll = rng.below(10);
    if (settle_roll < 6) {
      const op = settle_roll < 4 ? 'win' : 'rollback';
      const settle_group = b.new_group();
      const settle_uuid = rng.uuid();
      const win_amount = rng.between(0, amounts.win);
      const settle: Group = [b.settle(op, settle_group, 0, user, settle_uuid, bet_uuid, win_amount)];
      if (conflicts) {
        settle.push(b.settle(op, settle_group, 1, user, settle_uuid, bet_uuid, win_amount + 1, { extra: [1, 2] }));
        settle.push(b.settle(op === 'win' ? 'rollback' : 'win', settle_group, 2, user, settle_uuid, bet_uuid, win_amount));
      }
      keyed.push({ key: 2 * (g + 3 * WINDOW) + 1, group: settle });
    }
    if (g % 8 === 0) keyed.push({ key: 2 * g + 1, group: [b.balance(rng.pick(users))] });
  }
  keyed.sort((x, y) => x.key - y.key);
  return keyed.map((k) => k.group);
}

export function build_workload(scenario: Scenario, size: WorkloadSize): Workload {
  const b = new Builder(derive_seed(size.seed, 1000 + SCENARIOS.indexOf(scenario)));
  const rng = b.rng;
  const worker_rngs = Array.from({ length: size.workers }, (_, w) => new Random(derive_seed(size.seed, w)));
  const options = {
    maxUsers: 1_000, maxTransactions: 100_000, initialBalance: 100_000, currency: CURRENCY, maxThreads: Math.max(64, size.workers + 8),
  };
  let users: string[] = [];
  let created_names: string[] = [];
  const phases: { base: Group[]; conflict_p: number }[] = [];

  switch (scenario) {
    case 'duplicates':
    case 'conflicts': {
      users = users_named('player-', 16);
      const conflicts = scenario === 'conflicts';
      phases.push({ base: betting_phase(b, users, size.groups, conflicts, { bet: 2_000, win: 4_000 }), conflict_p: conflicts ? 0.3 : 0 });
      options.maxTransactions = Math.max(1_000, size.groups * 4);
      break;
    }
    case 'hot_user': {
      // One user, a small balance: debits race each other to the floor.
      users = ['hot'];
      options.initialBalance = 20_000;
      phases.push({ base: betting_phase(b, users, size.groups, false, { bet: 3_000, win: 4_000 }), conflict_p: 0 });
      options.maxTransactions = Math.max(1_000, size.groups * 4);
      break;
    }
    case 'settle_race': {
      // Phase 0 places the bets; phase 1 races two wins and two rollbacks
      // (four uuids) on every bet, from every worker.
      users = users_named('racer-', 8);
      const bets: Group[] = [];
      const settles: Group[] = [];
      for (let g = 0; g < size.groups; g++) {
        const user = rng.pick(users);
        const bet_uuid = rng.uuid();
        const amount = rng.between(1, 500);
        bets.push([b.bet(b.new_group(), 0, user, bet_uuid, amount)]);
        settles.push([b.settle('win', b.new_group(), 0, user, rng.uuid(), bet_uuid, rng.between(0, 1_000))]);
        settles.push([b.settle('win', b.new_group(), 0, user, rng.uuid(), bet_uuid, rng.between(0, 1_000))]);
        settles.push([b.settle('rollback', b.new_group(), 0, user, rng.uuid(), bet_uuid, 0)]);
        settles.push([b.settle('rollback', b.new_group(), 0, user, rng.uuid(), bet_uuid, 0)]);
      }
      phases.push({ base: bets, conflict_p: 0 });
      phases.push({ base: settles, conflict_p: 0 });
      options.maxTransactions = Math.max(1_000, size.groups * 8);
      break;
    }
    case 'create_users': {
      // Phase 0: every worker creates a shared set of names (the same names
      // from every thread) mixed with names of its own, in small batches that
      // also carry "" and repeats. Phase 1: everyone bets on every name.
      const shared = users_named('shared-', Math.max(8, size.groups >> 2));
      const own = Array.from({ length: size.workers }, (_, w) => users_named(`own-${w}-`, Math.max(2, size.groups >> 4)));
      created_names = [...shared, ...own.flat()];
      options.maxUsers = created_names.length + 8;
      const create_plans = worker_rngs.map((wr, w) => {
        const names = wr.shuffle([...shared, ...own[w]!]);
        const calls: number[] = [];
        for (let at = 0; at < names.length;) {
          const batch = names.slice(at, at + wr.between(1, 8));
          at += batch.length;
          if (wr.chance(0.3)) batch.push('');
          if (wr.chance(0.3)) batch.push(batch[0]!);
          calls.push(b.add({ op: 'create', group: -1, variant: 0, body: {}, names: batch }));
        }
        return calls;
      });
      const bets: Group[] = created_names.map((name, i) => [b.bet(b.new_group(), 0, name, rng.uuid(), 1 + (i % 97))]);
      for (let i = 0; i < created_names.length; i += 4) bets.push([b.balance(created_names[i]!)]);
      rng.shuffle(bets);
      const plans = worker_rngs.map((wr, w) => [create_plans[w]!, plan_phase(wr, bets, 0)]);
      return { scenario, options, users, intents: b.intents, plans, created_names };
    }
    case 'table_full': {
      // Three times more new uuids than the table holds, sent by everyone;
      // then everyone sends them all again (replays and refusals).
      users = users_named('filler-', 32);
      options.maxTransactions = Math.max(64, size.groups);
      const bets: Group[] = [];
      for (let g = 0; g < 3 * options.maxTransactions; g++) {
        bets.push([b.bet(b.new_group(), 0, rng.pick(users), rng.uuid(), rng.between(0, 10))]);
      }
      phases.push({ base: bets, conflict_p: 0 });
      phases.push({ base: bets, conflict_p: 0 });
      break;
    }
  }
  const plans = worker_rngs.map((wr) => phases.map((phase) => plan_phase(wr, phase.base, phase.conflict_p)));
  return { scenario, options, users, intents: b.intents, plans, created_names };
}

/** The crash storm's pool: bets, wins and rollbacks on a few hot users, no
 *  conflicting variants (every send of a uuid has the same parameters), in a
 *  base order where settlements follow their bets, each settlement with a
 *  rival of the other kind (its own uuid) racing it for the same bet. */
export function crash_pool(seed: number, groups: number, users: string[]): { intents: Intent[]; base: number[] } {
  const b = new Builder(seed);
  const base: number[] = [];
  for (const group of betting_phase(b, users, groups, false, { bet: 2_000, win: 3_000 })) {
    const intent = b.intents[group[0]!]!;
    if (intent.op === 'balance') continue;
    base.push(group[0]!);
    if (intent.op === 'bet') continue;
    const rival = intent.op === 'win' ? 'rollback' : 'win';
    base.push(b.settle(rival, b.new_group(), 0, intent.body.user as string, b.rng.uuid(),
      intent.body.reference_transaction_uuid as string, b.rng.between(0, 3_000)));
  }
  return { intents: b.intents, base };
}
