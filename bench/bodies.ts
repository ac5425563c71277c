// Pre-built Hub88 request bodies for the benchmarks: generated before any
// timing starts, from a seeded generator, so a run is reproducible and the
// generation cost is never measured.
//
// Strings are made flat (sequential one-byte strings, via Buffer#toString
// 'latin1'), as JSON.parse would make them: a rope built by `+` would be
// flattened on its first charCodeAt, inside the timed loop, and charged to
// whichever wallet touched it first.

import { Random } from '../tools/random.js';

const HEX = '0123456789abcdef';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const text_buffer = Buffer.alloc(64);

/** A canonical lowercase version-4 UUID (122 random bits), as a flat string. */
export function uuid_v4(rng: Random): string {
  const buffer = text_buffer;
  let at = 0;
  for (let word = 0; word < 4; word++) {
    let bits = rng.next_u32();
    if (word === 1) bits = (bits & 0xffff0fff) | 0x00004000; // version nibble (char 14) = 4
    if (word === 2) bits = (bits & 0x3fffffff) | 0x80000000; // variant (char 19) in 8..b
    for (let k = 0; k < 8; k++) {
      if (at === 8 || at === 13 || at === 18 || at === 23) buffer[at++] = 45; // '-'
      buffer[at++] = HEX.charCodeAt((bits >>> (28 - 4 * k)) & 15);
    }
  }
  return buffer.toString('latin1', 0, 36);
}

/** A Hub88-style round id like "rNEMwgzJAOZ6eR3V" (16 characters). */
function round_id(rng: Random): string {
  const buffer = text_buffer;
  for (let i = 0; i < 16; i++) buffer[i] = ALNUM.charCodeAt(rng.below(ALNUM.length));
  return buffer.toString('latin1', 0, 16);
}

export const CURRENCY = 'USD';
/** Big enough that no user runs out of money in any suite (10k users, <= 10M bets of <= 1000). */
export const INITIAL_BALANCE_UNITS = 1_000_000_000_000;
const AMOUNT_UNITS_MAX = 1000;
const GAME_CODES = [
  'clt_dragonrising', 'clt_cashwizard', 'evo_lightningroulette', 'evo_crazytime', 'pgp_sweetbonanza',
  'pgp_gatesofolympus', 'npl_deadoralive2', 'net_starburst', 'hab_hotpot', 'rel_moneytrain2',
  'btg_bonanza', 'yld_vikingsgoberzerk', 'pus_jammin', 'nlc_mental', 'hac_wantedead', 'rtg_cleopatra',
];

/** `count` distinct user names ("player_000042"), flat strings. */
export function user_names(count: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i++) names.push(Buffer.from(`player_${String(i).padStart(6, '0')}`, 'latin1').toString('latin1'));
  return names;
}

export interface BetBody {
  user: string;
  currency: string;
  amount: number;
  transaction_uuid: string;
  request_uuid: string;
  game_code: string;
  round: string;
}

export interface WinBody {
  user: string;
  currency: string;
  amount: number;
  transaction_uuid: string;
  request_uuid: string;
  reference_transaction_uuid: string;
  game_code: string;
  round: string;
}

export interface RollbackBody {
  user: string;
  transaction_uuid: string;
  request_uuid: string;
  reference_transaction_uuid: string;
  game_code: string;
  round: string;
}

/** The 7-field bet body of the issue, all of one hidden class (one literal). */
export function bet_body(rng: Random, users: readonly string[]): BetBody {
  return {
    user: users[rng.below(users.length)],
    currency: CURRENCY,
    amount: 1 + rng.below(AMOUNT_UNITS_MAX),
    transaction_uuid: uuid_v4(rng),
    request_uuid: uuid_v4(rng),
    game_code: GAME_CODES[rng.below(GAME_CODES.length)],
    round: round_id(rng),
  };
}

export function bet_bodies(rng: Random, users: readonly string[], count: number): BetBody[] {
  const bodies = new Array<BetBody>(count);
  for (let i = 0; i < count; i++) bodies[i] = bet_body(rng, users);
  return bodies;
}

/** The win that settles `bet` (same user, round and game), with a fresh uuid. */
export function win_body(rng: Random, bet: BetBody): WinBody {
  return {
    user: bet.user,
    currency: bet.currency,
    amount: rng.below(2 * AMOUNT_UNITS_MAX),
    transaction_uuid: uuid_v4(rng),
    request_uuid: uuid_v4(rng),
    reference_transaction_uuid: bet.transaction_uuid,
    game_code: bet.game_code,
    round: bet.round,
  };
}

/** The rollback of `bet` (Hub88's rollback body carries no currency, no amount). */
export function rollback_body(rng: Random, bet: BetBody): RollbackBody {
  return {
    user: bet.user,
    transaction_uuid: uuid_v4(rng),
    request_uuid: uuid_v4(rng),
    reference_transaction_uuid: bet.transaction_uuid,
    game_code: bet.game_code,
    round: bet.round,
  };
}

/** A retry of `bet`: same fields, a new request_uuid, a new object (as a new
 *  HTTP request would be). Replayed with the original response once applied. */
export function replay_body(rng: Random, bet: BetBody): BetBody {
  return {
    user: bet.user,
    currency: bet.currency,
    amount: bet.amount,
    transaction_uuid: bet.transaction_uuid,
    request_uuid: uuid_v4(rng),
    game_code: bet.game_code,
    round: bet.round,
  };
}

/** The same transaction_uuid with another amount: RS_ERROR_DUPLICATE_TRANSACTION once `bet` is applied. */
export function conflicting_body(rng: Random, bet: BetBody): BetBody {
  return {
    user: bet.user,
    currency: bet.currency,
    amount: bet.amount + 1,
    transaction_uuid: bet.transaction_uuid,
    request_uuid: uuid_v4(rng),
    game_code: bet.game_code,
    round: bet.round,
  };
}
