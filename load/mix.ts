// The session mix: what a Hub88 game server sends a wallet, round after round,
// and what each answer may be. It decides what to send and what to expect;
// the Client (worker.ts) sends, times, counts, checks and books the money.
//
// A session is one user playing 1-20 rounds of one game. A round is a bet,
// then a win (of 0 for a lost round, most often) or a rollback, or nothing (an
// abandoned round). Around them, at rates a busy operator sees in a day:
// retries of succeeded and failed requests (Hub88 retries until it gets an
// answer), a transaction_uuid reused with other parameters, bets past the
// balance, a rollback that overtakes its bet, a second settlement, a wrong
// currency, malformed bodies, unknown users, balance queries.
//
// Users are shared by all workers, so two threads often play the same user at
// once; each worker owns the transaction uuids it makes up, which is why most
// answers are exactly predictable. The exception, on purpose: once per
// contest slot every worker sends the SAME bet (same uuid, same parameters,
// its own request_uuid) at about the same moment, then tries to settle it
// with a win or rollback of its own: exactly one bet and one settlement may
// apply, and every RS_OK answer to the bet must be the one original answer.

import type { WalletResponse } from 'exwallet';
import { Random, IdSequence, uuid_for, hash_u32 } from '../tools/random.js';
import {
  S_OK, S_NOT_ENOUGH_MONEY, S_DUPLICATE, S_TX_DOES_NOT_EXIST, S_UNKNOWN, S_WRONG_CURRENCY, S_WRONG_TYPES,
} from './messages.js';

export const K_BET = 0;
export const K_WIN = 1;
export const K_ROLLBACK = 2;
export const K_BALANCE = 3;

/** Each scenario: its name, and the rule its answers are checked against. */
export const SCENARIOS = [
  ['bet', 'RS_OK, or NOT_ENOUGH_MONEY if another thread spent first'],
  ['bet_free', 'free bet of 0: RS_OK'],
  ['bet_over_balance', 'above the known balance: NOT_ENOUGH_MONEY (or RS_OK)'],
  ['bet_retry', 'retry of an applied bet: the original answer'],
  ['bet_failed_retry', 'retry of a failed bet: treated as new'],
  ['bet_failed_reuse', "failed bet's uuid, other amount: treated as new"],
  ['bet_conflict_amount', "applied bet's uuid, other amount: DUPLICATE"],
  ['bet_conflict_user', "applied bet's uuid, other user: DUPLICATE"],
  ['bet_wrong_currency', 'other currency: WRONG_CURRENCY'],
  ['bet_after_rollback', 'bet after the rollback that named it: treated as new'],
  ['win', 'win (often 0) of an open bet: RS_OK'],
  ['win_retry', 'retry of an applied win: the original answer'],
  ['win_again', 'second win of a settled bet: UNKNOWN'],
  ['win_conflict', "applied win's uuid, other amount: DUPLICATE"],
  ['win_unknown_bet', 'win of a failed bet: DOES_NOT_EXIST'],
  ['rollback', 'rollback of an open bet: RS_OK, refunded'],
  ['rollback_retry', 'retry of an applied rollback: the original answer'],
  ['rollback_after_settle', 'rollback of a settled bet: UNKNOWN'],
  ['rollback_unknown_bet', 'rollback before its bet arrived: DOES_NOT_EXIST'],
  ['balance', 'balance query: RS_OK'],
  ['malformed', 'bad type, uppercase uuid, missing field, null: WRONG_TYPES'],
  ['negative_amount', 'negative amount: UNKNOWN'],
  ['unknown_user', 'user never created: UNKNOWN'],
  ['contest_bet', 'same bet from all workers at once: one original answer'],
  ['contest_settle', 'all workers settle it at once: at most one applies'],
] as const;
export type ScenarioName = (typeof SCENARIOS)[number][0];
export const SCENARIO_COUNT = SCENARIOS.length;
const SC = Object.fromEntries(SCENARIOS.map(([name], index) => [name, index])) as Record<ScenarioName, number>;

const bit = (status_index: number): number => 1 << status_index;
const E_OK = bit(S_OK);
const E_OK_OR_BROKE = bit(S_OK) | bit(S_NOT_ENOUGH_MONEY);
const E_DUPLICATE = bit(S_DUPLICATE);
const E_NOT_EXIST = bit(S_TX_DOES_NOT_EXIST);
const E_UNKNOWN = bit(S_UNKNOWN);
const E_WRONG_CURRENCY = bit(S_WRONG_CURRENCY);
const E_WRONG_TYPES = bit(S_WRONG_TYPES);
// A contested bet may also wait out its twin's bound (spec §8): retryable.
const E_CONTEST_BET = E_OK_OR_BROKE | E_UNKNOWN;
const E_CONTEST_SETTLE = E_OK | E_UNKNOWN;

export interface Client {
  /** Send one request and return the answer. `credit_units` is the balance
   *  change of `user_index` if the wallet applies this very request (a bet's
   *  is negative); `expect_mask` has bit S_x set for each allowed status;
   *  `original`, for a retry, is the answer it must equal. */
  send(
    scenario: number, kind: number, body: unknown, user_index: number, credit_units: number,
    expect_mask: number, original?: WalletResponse,
  ): WalletResponse;
}

interface Game {
  game_id: number;
  game_code: string;
  /** Sportsbook bets carry a nested `meta`, as Hub88's do. */
  sports: boolean;
}
const GAMES: readonly Game[] = [
  { game_id: 4012, game_code: 'clt_dragonrising', sports: false },
  { game_id: 2301, game_code: 'evo_lightningroulette', sports: false },
  { game_id: 5170, game_code: 'pgp_fortunetiger', sports: false },
  { game_id: 1, game_code: 'bti_sportsbook', sports: true },
];
// Win multipliers of a won round; with a 40 % win rate they return ~96 % of
// the stakes, so balances drift down slowly, as on a real platform.
const WIN_MULTIPLIERS = [1.5, 2, 2, 2.5, 3, 3.4];
const WIN_RATE = 0.4;
const SESSION_ROUNDS_MAX = 20;

type Body = Record<string, unknown>;

export interface MixSetup {
  seed: number;
  worker_index: number;
  users: readonly string[];
  initial_balance_units: number;
  currency: string;
}

export interface ContestResult {
  /** request_uuid and balance of the RS_OK answer to the contested bet, or "". */
  bet_request_uuid: string;
  bet_balance: number;
  settled_here: boolean;
}

export class SessionMix {
  readonly #random: Random;
  /** The contests draw from their own stream: their timing (wall clock)
   *  does not shift the rest of the mix, so a seed replays it. */
  readonly #contest_random: Random;
  readonly #ids: IdSequence;
  readonly #seed: number;
  readonly #worker_index: number;
  readonly #users: readonly string[];
  readonly #currency: string;
  readonly #other_currency: string;
  /** Last balance each user was seen with: the bet sizes follow it. */
  readonly #known_balance_units: Float64Array;
  #session_user = 0;
  #session_rounds_left = 0;
  #session_token = '';
  #session_game: Game = GAMES[0];
  #unknown_user_count = 0;

  constructor(setup: MixSetup) {
    this.#random = new Random(setup.seed, setup.worker_index + 1);
    this.#contest_random = new Random(setup.seed, -1 - setup.worker_index);
    // Round ids, supplier transaction ids and tokens are free-form strings in
    // Hub88; a counter on a seeded base is the cheapest unique id, and replays.
    this.#ids = new IdSequence(this.#random);
    this.#seed = setup.seed;
    this.#worker_index = setup.worker_index;
    this.#users = setup.users;
    this.#currency = setup.currency;
    this.#other_currency = setup.currency === 'EUR' ? 'USD' : 'EUR';
    this.#known_balance_units = new Float64Array(setup.users.length).fill(setup.initial_balance_units);
  }

  /** One round of the current session (a new session when it is over). */
  play_round(client: Client): void {
    const random = this.#random;
    if (this.#session_rounds_left === 0) {
      this.#session_user = random.below(this.#users.length);
      this.#session_rounds_left = 1 + random.below(SESSION_ROUNDS_MAX);
      this.#session_token = this.#ids.next();
      this.#session_game = GAMES[random.below(GAMES.length)];
    }
    this.#session_rounds_left--;
    const u = this.#session_user;
    const round = this.#ids.next();

    this.#extras(client, u, round);

    // The bet, or a rollback that overtakes it (the game server timed out on
    // the bet and cancels it; the bet itself arrives after).
    const transaction_uuid = random.uuid();
    let scenario = SC.bet;
    let expect = E_OK_OR_BROKE;
    let amount_units = this.#stake_units(u);
    let is_free = false;
    if (random.chance(0.005)) {
      client.send(SC.rollback_unknown_bet, K_ROLLBACK, this.#rollback_body(u, random.uuid(), transaction_uuid, round), u, 0, E_NOT_EXIST);
      scenario = SC.bet_after_rollback;
    } else if (random.chance(0.04)) {
      scenario = SC.bet_free;
      expect = E_OK;
      amount_units = 0;
      is_free = true;
    } else if (random.chance(0.02)) {
      scenario = SC.bet_over_balance;
      amount_units = this.#known_balance_units[u] + 1 + random.below(1000);
    }
    let bet_body = this.#bet_body(u, transaction_uuid, amount_units, round, is_free);
    let bet_answer = this.#send(client, scenario, K_BET, bet_body, u, -amount_units, expect);

    if (bet_answer.status !== 'RS_OK') {
      if (random.chance(0.2)) {
        bet_body = { ...bet_body, request_uuid: random.uuid() };
        bet_answer = this.#send(client, SC.bet_failed_retry, K_BET, bet_body, u, -amount_units, E_OK_OR_BROKE);
      } else if (random.chance(0.25)) {
        amount_units = Math.floor(this.#known_balance_units[u] / 10);
        bet_body = { ...bet_body, request_uuid: random.uuid(), amount: amount_units };
        bet_answer = this.#send(client, SC.bet_failed_reuse, K_BET, bet_body, u, -amount_units, E_OK_OR_BROKE);
      } else if (random.chance(0.1)) {
        const win_body = this.#win_body(u, random.uuid(), transaction_uuid, 0, round);
        client.send(SC.win_unknown_bet, K_WIN, win_body, u, 0, E_NOT_EXIST);
      }
      if (bet_answer.status !== 'RS_OK') return;
    }

    if (random.chance(0.05)) {
      this.#send(client, SC.bet_retry, K_BET, { ...bet_body, request_uuid: random.uuid() }, u, -amount_units, E_OK, bet_answer);
    }
    if (random.chance(0.005)) {
      const conflict = { ...bet_body, request_uuid: random.uuid(), amount: amount_units + 1 };
      client.send(SC.bet_conflict_amount, K_BET, conflict, u, -(amount_units + 1), E_DUPLICATE);
    }
    if (random.chance(0.003) && this.#users.length > 1) {
      const other = (u + 1 + random.below(this.#users.length - 1)) % this.#users.length;
      const conflict = { ...bet_body, request_uuid: random.uuid(), user: this.#users[other], supplier_user: this.#users[other] };
      client.send(SC.bet_conflict_user, K_BET, conflict, other, -amount_units, E_DUPLICATE);
    }

    // Settle: mostly a win (of 0 when the round is lost), sometimes a
    // rollback, sometimes nothing (the player closed the game).
    const settle = random.next_float();
    if (settle < 0.04) return;
    if (settle < 0.10) {
      const body = this.#rollback_body(u, random.uuid(), transaction_uuid, round);
      const answer = this.#send(client, SC.rollback, K_ROLLBACK, body, u, amount_units, E_OK);
      if (random.chance(0.08)) {
        this.#send(client, SC.rollback_retry, K_ROLLBACK, { ...body, request_uuid: random.uuid() }, u, amount_units, E_OK, answer);
      }
      this.#settle_again(client, u, transaction_uuid, amount_units, round);
      return;
    }
    const won = random.chance(WIN_RATE);
    const win_units = won ? Math.round(amount_units * WIN_MULTIPLIERS[random.below(WIN_MULTIPLIERS.length)]) : 0;
    const body = this.#win_body(u, random.uuid(), transaction_uuid, win_units, round);
    const answer = this.#send(client, SC.win, K_WIN, body, u, win_units, E_OK);
    if (random.chance(0.08)) {
      this.#send(client, SC.win_retry, K_WIN, { ...body, request_uuid: random.uuid() }, u, win_units, E_OK, answer);
    }
    if (random.chance(0.01)) {
      const conflict = { ...body, request_uuid: random.uuid(), amount: win_units + 1 };
      client.send(SC.win_conflict, K_WIN, conflict, u, win_units + 1, E_DUPLICATE);
    }
    this.#settle_again(client, u, transaction_uuid, amount_units, round);
  }

  /** The contested bet of `slot`, then this worker's attempt to settle it. */
  play_contest(client: Client, slot: number): ContestResult {
    const random = this.#contest_random;
    // Everything but request_uuid is derived from (seed, slot): the same
    // request in every worker.
    const h = hash_u32(this.#seed, slot);
    const u = h % this.#users.length;
    const amount_units = (h >>> 8) % 100;
    const transaction_uuid = uuid_for(this.#seed, slot, 0x0c0ffee);
    const round = `contest-${slot}`;
    const body: Body = {
      user: this.#users[u], transaction_uuid, supplier_transaction_id: round, token: 'contest', round,
      round_closed: false, request_uuid: random.uuid(), is_free: false, game_id: 7, game_code: 'contest',
      currency: this.#currency, amount: amount_units,
    };
    const answer = client.send(SC.contest_bet, K_BET, body, u, -amount_units, E_CONTEST_BET);
    const result: ContestResult = { bet_request_uuid: '', bet_balance: 0, settled_here: false };
    if (answer.status !== 'RS_OK') return result;
    result.bet_request_uuid = answer.request_uuid;
    result.bet_balance = answer.balance ?? -1;
    // Each worker settles with its own uuid and its own amount: different
    // transactions racing for one bet.
    if (random.chance(0.7)) {
      const win_units = (h >>> 16) % 200 + this.#worker_index;
      const settle = this.#win_body(u, random.uuid(), transaction_uuid, win_units, round);
      result.settled_here = client.send(SC.contest_settle, K_WIN, settle, u, win_units, E_CONTEST_SETTLE).status === 'RS_OK';
    } else {
      const settle = this.#rollback_body(u, random.uuid(), transaction_uuid, round);
      result.settled_here = client.send(SC.contest_settle, K_ROLLBACK, settle, u, amount_units, E_CONTEST_SETTLE).status === 'RS_OK';
    }
    return result;
  }

  /** The rare requests of a round: balance queries and the bad ones. */
  #extras(client: Client, u: number, round: string): void {
    const random = this.#random;
    if (random.chance(0.05)) this.#balance(client, u);
    if (random.chance(0.005)) {
      const body = this.#bet_body(u, random.uuid(), 1, round, false);
      body.currency = this.#other_currency;
      client.send(SC.bet_wrong_currency, K_BET, body, u, -1, E_WRONG_CURRENCY);
    }
    if (random.chance(0.005)) this.#malformed(client, u, round);
    if (random.chance(0.002)) {
      client.send(SC.negative_amount, K_BET, this.#bet_body(u, random.uuid(), -1 - random.below(100), round, false), u, 0, E_UNKNOWN);
    }
    if (random.chance(0.002)) {
      const name = `nobody-${this.#worker_index}-${this.#unknown_user_count++}`;
      const body = this.#bet_body(u, random.uuid(), 1, round, false);
      body.user = name;
      body.supplier_user = name;
      client.send(SC.unknown_user, K_BET, body, -1, 0, E_UNKNOWN);
    }
  }

  /** A second settlement, with a new uuid, of a bet already settled. */
  #settle_again(client: Client, u: number, bet_uuid: string, bet_units: number, round: string): void {
    if (!this.#random.chance(0.02)) return;
    if (this.#random.chance(0.5)) {
      client.send(SC.win_again, K_WIN, this.#win_body(u, this.#random.uuid(), bet_uuid, 5, round), u, 5, E_UNKNOWN);
    } else {
      const body = this.#rollback_body(u, this.#random.uuid(), bet_uuid, round);
      client.send(SC.rollback_after_settle, K_ROLLBACK, body, u, bet_units, E_UNKNOWN);
    }
  }

  #balance(client: Client, u: number): void {
    const answer = client.send(SC.balance, K_BALANCE, { user: this.#users[u], request_uuid: this.#random.uuid() }, u, 0, E_OK);
    if (answer.balance !== undefined) this.#known_balance_units[u] = answer.balance;
  }

  #malformed(client: Client, u: number, round: string): void {
    const random = this.#random;
    const body: Body = this.#bet_body(u, random.uuid(), 10, round, false);
    let kind = K_BET;
    switch (random.below(6)) {
      case 0: body.amount = '10'; break;
      case 1: body.transaction_uuid = (body.transaction_uuid as string).toUpperCase(); break;
      case 2: delete body.currency; break;
      case 3: body.amount = 10.5; break;
      case 4:
        client.send(SC.malformed, K_BET, null, -1, 0, E_WRONG_TYPES);
        return;
      default:
        kind = K_WIN;
        body.reference_transaction_uuid = `bet-${round}`;
    }
    client.send(SC.malformed, kind, body, -1, 0, E_WRONG_TYPES);
  }

  /** Send, and remember the balance the answer shows for the user. */
  #send(
    client: Client, scenario: number, kind: number, body: Body, u: number, credit_units: number, expect: number,
    original?: WalletResponse,
  ): WalletResponse {
    const answer = client.send(scenario, kind, body, u, credit_units, expect, original);
    if (answer.balance !== undefined) this.#known_balance_units[u] = answer.balance;
    return answer;
  }

  /** 0.2-2.2 % of the user's known balance; at least 1. */
  #stake_units(u: number): number {
    const balance_units = this.#known_balance_units[u];
    return Math.max(1, Math.floor(balance_units * (0.002 + 0.02 * this.#random.next_float())));
  }

  #bet_body(u: number, transaction_uuid: string, amount_units: number, round: string, is_free: boolean): Body {
    const user = this.#users[u];
    const game = this.#session_game;
    const body: Body = {
      user, transaction_uuid, supplier_transaction_id: this.#ids.next(), token: this.#session_token,
      supplier_user: user, round_closed: false, round, request_uuid: this.#random.uuid(), is_free,
      is_aggregated: false, game_id: game.game_id, game_code: game.game_code, currency: this.#currency,
      bet: is_free ? 'free' : 'main', amount: amount_units,
    };
    if (game.sports) body.meta = { selection: 'home_team', odds: 2.5 };
    return body;
  }

  #win_body(u: number, transaction_uuid: string, bet_uuid: string, amount_units: number, round: string): Body {
    const user = this.#users[u];
    const game = this.#session_game;
    return {
      user, transaction_uuid, supplier_transaction_id: this.#ids.next(), token: this.#session_token,
      supplier_user: user, round_closed: true, round, request_uuid: this.#random.uuid(),
      reference_transaction_uuid: bet_uuid, is_free: false, is_aggregated: false, game_id: game.game_id,
      game_code: game.game_code, currency: this.#currency, amount: amount_units,
    };
  }

  /** Hub88 rollbacks carry no amount and no currency: they refund the bet. */
  #rollback_body(u: number, transaction_uuid: string, bet_uuid: string, round: string): Body {
    const user = this.#users[u];
    const game = this.#session_game;
    return {
      user, transaction_uuid, supplier_transaction_id: this.#ids.next(), token: this.#session_token,
      round_closed: true, round, request_uuid: this.#random.uuid(), reference_transaction_uuid: bet_uuid,
      game_id: game.game_id, game_code: game.game_code,
    };
  }
}
