// The invariants of a stress run, checked from the (intent, response) pairs
// the workers sent back, the final balances and the audit:
//
//   I1  each transaction_uuid is applied at most once: all RS_OK responses
//       for one uuid are deep-equal and carry the request_uuid of one send of
//       it (the original), whose parameters every RS_OK send shares;
//   I2  every send of an applied uuid invoked after the original returned got
//       the original response (same parameters) or DUPLICATE (different ones);
//       a same-parameter send never gets DUPLICATE;
//   I3  money is conserved per user: final balance = initial − Σ applied bets
//       + Σ applied wins + Σ refunded bet amounts (from the responses);
//   I4  at most one settlement (win or rollback RS_OK) per bet, and only of an
//       applied bet of the same user;
//   I5  no negative (or unsafe) balance is ever observed;
//   I6  no user is lost or doubled: every created name answers balance, and
//       the audit counts exactly the distinct names;
//   I7  no status the workload cannot produce (WRONG_TYPES, WRONG_CURRENCY…).

import { isDeepStrictEqual } from 'node:util';
import {
  type AuditReport, RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_NOT_ENOUGH_MONEY, RS_ERROR_DUPLICATE_TRANSACTION,
  RS_ERROR_TRANSACTION_DOES_NOT_EXIST, type WalletResponse,
} from 'exwallet';
import type { Intent } from './intents.js';
import type { Sent, CreateOutcome } from './stress_worker.js';

export interface CheckInput {
  intents: Intent[];
  sends: Sent[];
  initial_balance: number;
  currency: string;
  /** Final balance of every user that should exist (from balance() after the run). */
  final_balances: Map<string, WalletResponse>;
  /** Names that must exist exactly once at the end. */
  expected_users: string[];
  /** Sends whose response never reached the parent (their thread was
   *  terminated): response status UNCERTAIN, invoke -Infinity, ret +Infinity. */
  uncertain?: Sent[];
  /** uuids known applied only from probes (no RS_OK seen), with one send of each. */
  applied_unseen?: Map<string, Sent>;
  /** audit(wallet) after the run, when available. */
  audit?: AuditReport;
}

export interface CheckFigures {
  calls: number;
  uuids: number;
  applied: number;
  /** Sends of applied uuids invoked after the original returned: checked replays. */
  replays_checked: number;
  conflicts_checked: number;
  /** Uuids with at least two sends whose call intervals overlapped: proof
   *  that the duplicates really were concurrent. */
  concurrent_uuids: number;
  /** RS_ERROR_UNKNOWN answers (twin wait bound, settling bet, full table). */
  unknown: number;
  not_enough_money: number;
  settled_bets: number;
  /** Users whose applied transactions were checked to chain (I8). */
  trails_checked: number;
}

export interface CheckResult {
  violations: string[];
  figures: CheckFigures;
}

const VIOLATIONS_MAX = 20;

/** The status of a send whose response was lost with its thread. */
export const UNCERTAIN = 'UNCERTAIN';

/** The parameters of an intent: equal for two sends iff the library must
 *  treat them as the same request (the body minus request_uuid). */
function same_parameters(a: Intent, b: Intent): boolean {
  return a.op === b.op && isDeepStrictEqual(a.body, b.body);
}

function is_wallet_response(response: WalletResponse | CreateOutcome): response is WalletResponse {
  return 'request_uuid' in response;
}

export function check_run(input: CheckInput): CheckResult {
  const violations: string[] = [];
  const violate = (message: string) => {
    if (violations.length < VIOLATIONS_MAX) violations.push(message);
    else if (violations.length === VIOLATIONS_MAX) violations.push('… more violations not listed');
  };
  const figures: CheckFigures = {
    calls: input.sends.length, uuids: 0, applied: 0, concurrent_uuids: 0, replays_checked: 0, conflicts_checked: 0,
    unknown: 0, not_enough_money: 0, settled_bets: 0, trails_checked: 0,
  };

  // Group the sends by transaction_uuid; check every response's shape.
  const by_uuid = new Map<string, Sent[]>();
  for (const sent of input.sends) {
    const intent = input.intents[sent.intent]!;
    const response = sent.response;
    if (intent.op === 'create') {
      if (response.status !== 'created') violate(`I6 createUsers ${JSON.stringify(intent.names)} threw: ${(response as CreateOutcome).error}`);
      continue;
    }
    if (!is_wallet_response(response)) {
      violate(`I7 ${intent.op} got a non-response ${JSON.stringify(response)}`);
      continue;
    }
    if (response.status === RS_ERROR_UNKNOWN) figures.unknown++;
    if (response.status === RS_ERROR_NOT_ENOUGH_MONEY) figures.not_enough_money++;
    if ('balance' in response) {
      if (!Number.isSafeInteger(response.balance) || response.balance! < 0) violate(`I5 balance ${response.balance} observed: ${JSON.stringify(response)}`);
      if (response.currency !== input.currency) violate(`I7 currency ${response.currency} in ${JSON.stringify(response)}`);
    }
    if (response.user !== intent.body.user) violate(`I7 response user ${response.user} for ${intent.body.user}`);
    if (intent.op === 'balance') {
      if (response.status !== RS_OK) violate(`I6 balance of ${String(intent.body.user)}: ${response.status}`);
      if (response.request_uuid !== sent.request_uuid) violate(`I7 balance echoed request_uuid ${response.request_uuid}`);
      continue;
    }
    const allowed = response.status === RS_OK || response.status === RS_ERROR_UNKNOWN ||
      response.status === RS_ERROR_DUPLICATE_TRANSACTION ||
      (response.status === RS_ERROR_NOT_ENOUGH_MONEY && intent.op === 'bet') ||
      (response.status === RS_ERROR_TRANSACTION_DOES_NOT_EXIST && intent.op !== 'bet');
    if (!allowed) violate(`I7 ${intent.op} answered ${response.status}: ${JSON.stringify(response)}`);
    if (response.status === RS_ERROR_NOT_ENOUGH_MONEY && !(response.balance! < (intent.body.amount as number))) {
      violate(`I5 NOT_ENOUGH_MONEY with balance ${response.balance} for amount ${String(intent.body.amount)}`);
    }
    if (response.status !== RS_OK && response.request_uuid !== sent.request_uuid) {
      violate(`I7 error response echoes request_uuid ${response.request_uuid}, sent ${sent.request_uuid}`);
    }
    const uuid = intent.body.transaction_uuid as string;
    let list = by_uuid.get(uuid);
    if (!list) by_uuid.set(uuid, (list = []));
    list.push(sent);
  }
  figures.uuids = by_uuid.size;
  for (const list of by_uuid.values()) {
    const sorted = [...list].sort((a, b) => a.invoke - b.invoke);
    let ret_max = -1;
    for (const sent of sorted) {
      if (sent.invoke < ret_max) {
        figures.concurrent_uuids++;
        break;
      }
      ret_max = Math.max(ret_max, sent.ret);
    }
  }

  // I1, I2: one original per applied uuid; everybody after it saw it.
  const uncertain_by_request = new Map((input.uncertain ?? []).map((sent) => [sent.request_uuid, sent]));
  const applied = new Map<string, Sent>(); // uuid -> the original send
  for (const [uuid, list] of by_uuid) {
    const oks = list.filter((sent) => sent.response.status === RS_OK);
    if (oks.length === 0) continue;
    const first = oks[0]!.response as WalletResponse;
    for (const ok of oks) {
      if (!isDeepStrictEqual(ok.response, first)) {
        violate(`I1 uuid ${uuid} applied twice: ${JSON.stringify(first)} vs ${JSON.stringify(ok.response)}`);
        break;
      }
    }
    const original = list.find((sent) => sent.request_uuid === first.request_uuid) ?? uncertain_by_request.get(first.request_uuid);
    if (!original) {
      violate(`I1 uuid ${uuid}: RS_OK carries request_uuid ${first.request_uuid}, sent by nobody`);
      continue;
    }
    if (original.response.status !== RS_OK && (original.response.status as string) !== UNCERTAIN) {
      violate(`I1 uuid ${uuid}: the original send got ${original.response.status} yet others replay its request_uuid`);
    }
    // An original whose thread died before reporting: its response is the
    // one its duplicates replayed.
    applied.set(uuid, original.response.status === RS_OK ? original : { ...original, response: first });
    const original_intent = input.intents[original.intent]!;
    // Once one send has returned RS_OK the uuid stays applied: every send
    // invoked after that must replay the original or be refused as a conflict.
    const applied_by_tick = Math.min(...oks.map((sent) => sent.ret));
    for (const sent of list) {
      const same = same_parameters(input.intents[sent.intent]!, original_intent);
      const status = sent.response.status;
      if (status === RS_OK && !same) violate(`I1 uuid ${uuid}: a conflicting send got RS_OK ${JSON.stringify(sent.response)}`);
      if (status === RS_ERROR_DUPLICATE_TRANSACTION && same) violate(`I2 uuid ${uuid}: same parameters answered DUPLICATE`);
      if (sent.invoke > applied_by_tick) {
        if (same) {
          figures.replays_checked++;
          if (!isDeepStrictEqual(sent.response, first)) {
            violate(`I2 uuid ${uuid}: a duplicate sent after the uuid was applied got ${JSON.stringify(sent.response)}, original ${JSON.stringify(first)}`);
          }
        } else {
          figures.conflicts_checked++;
          if (status !== RS_ERROR_DUPLICATE_TRANSACTION) violate(`I2 uuid ${uuid}: a conflicting send after the original got ${status}`);
        }
      }
    }
  }
  // Applied with no RS_OK seen (a dead thread's call, committed by audit).
  for (const [uuid, original] of input.applied_unseen ?? []) {
    if (applied.has(uuid)) violate(`uuid ${uuid} given as applied unseen, yet an RS_OK for it was seen`);
    applied.set(uuid, original);
  }
  figures.applied = applied.size;

  // I3, I4: replay the applied transactions' effects per user.
  const expected = new Map<string, number>();
  const balance_of = (user: string) => expected.get(user) ?? input.initial_balance;
  const settlements = new Map<string, number>();
  // I8: per user, each applied transaction is an edge (balance before ->
  // balance after, from its response); null once a response is unknown.
  const trails = new Map<string, [number, number][] | null>();
  const add_edge = (user: string, original: Sent, delta: number) => {
    const response = original.response as WalletResponse;
    let edges = trails.get(user);
    if (edges === undefined) trails.set(user, (edges = []));
    if (edges === null) return;
    if (response.status !== RS_OK) trails.set(user, null);
    else edges.push([response.balance! - delta, response.balance!]);
  };
  for (const [uuid, original] of applied) {
    const intent = input.intents[original.intent]!;
    const user = intent.body.user as string;
    if (intent.op === 'bet') {
      expected.set(user, balance_of(user) - (intent.body.amount as number));
      add_edge(user, original, -(intent.body.amount as number));
      continue;
    }
    const ref = intent.body.reference_transaction_uuid as string;
    const bet_send = applied.get(ref);
    const bet_intent = bet_send && input.intents[bet_send.intent]!;
    if (!bet_intent || bet_intent.op !== 'bet' || bet_intent.body.user !== user) {
      violate(`I4 ${intent.op} ${uuid} applied without an applied bet ${ref} of ${user}`);
      continue;
    }
    if (bet_send.invoke > original.ret) violate(`I4 ${intent.op} ${uuid} returned RS_OK before its bet ${ref} was sent`);
    const count = (settlements.get(ref) ?? 0) + 1;
    settlements.set(ref, count);
    if (count === 2) violate(`I4 bet ${ref} settled more than once`);
    const delta = intent.op === 'win' ? (intent.body.amount as number) : (bet_intent.body.amount as number);
    expected.set(user, balance_of(user) + delta);
    add_edge(user, original, delta);
  }
  figures.settled_bets = settlements.size;
  for (const [user, response] of input.final_balances) {
    if (response.status !== RS_OK) {
      violate(`I6 user ${user} lost: balance answered ${response.status}`);
      continue;
    }
    if (response.balance! < 0) violate(`I5 final balance of ${user} is ${response.balance}`);
    if (response.balance !== balance_of(user)) {
      violate(`I3 ${user}: balance ${response.balance}, expected ${balance_of(user)} from the applied transactions`);
    }
  }
  for (const user of expected.keys()) {
    if (!input.final_balances.has(user)) violate(`I3 money moved for ${user}, who is not among the users checked`);
  }

  // I8: the applied transactions of a user chain into one history: their
  // (before -> after) edges form a single trail from the initial balance to
  // the final one (an Eulerian trail of the multigraph), and every balance a
  // refusal or a balance read reported lies on it. A lost update (two debits
  // answering the same balance) or a response showing a balance that never
  // existed breaks it even when the final total is right.
  const observed = new Map<string, number[]>();
  for (const sent of input.sends) {
    const intent = input.intents[sent.intent]!;
    const response = sent.response as WalletResponse;
    if (response.status === RS_ERROR_NOT_ENOUGH_MONEY || (intent.op === 'balance' && response.status === RS_OK)) {
      const list = observed.get(response.user) ?? [];
      list.push(response.balance!);
      observed.set(response.user, list);
    }
  }
  for (const [user, final] of input.final_balances) {
    if (final.status !== RS_OK) continue;
    const edges = trails.has(user) ? trails.get(user)! : [];
    if (edges === null) continue; // an applied transaction's response died with its thread
    const problem = trail_problem(input.initial_balance, final.balance!, edges, observed.get(user) ?? []);
    if (problem) violate(`I8 ${user}: ${problem}`);
    else figures.trails_checked++;
  }

  // I6: the audit recounts users and balances from the shared memory.
  if (input.audit) {
    if (!input.audit.ok) violate(`audit not ok: ${JSON.stringify(input.audit)}`);
    const distinct = new Set(input.expected_users).size;
    if (input.audit.users !== distinct) violate(`I6 audit counts ${input.audit.users} users, expected ${distinct}`);
  }
  return { violations, figures };
}

/** Why `edges` do not form one trail from `start` to `end` that passes
 *  through every `observed` balance, or undefined if they do. */
export function trail_problem(start: number, end: number, edges: [number, number][], observed: number[]): string | undefined {
  const degree = new Map<number, number>(); // out - in
  const parent = new Map<number, number>();
  const find = (node: number): number => {
    let root = node;
    for (let p = parent.get(root); p !== undefined && p !== root; p = parent.get(root)) root = p;
    parent.set(node, root);
    return root;
  };
  const touch = (node: number) => {
    if (!parent.has(node)) parent.set(node, node);
  };
  touch(start);
  touch(end);
  for (const [from, to] of edges) {
    touch(from);
    touch(to);
    degree.set(from, (degree.get(from) ?? 0) + 1);
    degree.set(to, (degree.get(to) ?? 0) - 1);
    parent.set(find(from), find(to));
  }
  for (const [node, d] of degree) {
    const wanted = start === end ? 0 : node === start ? 1 : node === end ? -1 : 0;
    if (d !== wanted) return `balance ${node} is left ${Math.abs(d)} time(s) more ${d > 0 ? 'than reached' : 'reached than left'} (a lost or phantom update)`;
  }
  if (start !== end && (degree.get(start) ?? 0) !== 1) return `no transaction leaves the initial balance ${start} toward ${end}`;
  const root = find(start);
  for (const [from] of edges) if (find(from) !== root) return `transactions from balance ${from} are not connected to the initial balance`;
  if (find(end) !== root) return `the final balance ${end} is not reached from the initial one`;
  for (const balance of observed) {
    if (!parent.has(balance)) return `a response showed balance ${balance}, which the account never had`;
  }
  return undefined;
}

