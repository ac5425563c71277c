// A linearizability checker in the style of Wing & Gong / Porcupine, against
// the sequential reference model (tests/model.ts).
//
// A history is a set of completed calls, each with the thread that made it,
// its full request, its response and two ticks of a shared logical clock
// (sync.ts): `invoke` taken just before the call, `ret` just after. Call A
// precedes call B in real time iff A.ret < B.invoke.
//
// The search: a state is (how many calls of each thread are linearized, the
// model's state). Each thread's calls are sequential, so the linearized calls
// always form a prefix of every thread's list, and a vector of counts names
// the set. A thread's next call may be linearized next iff it is *minimal*:
// no other thread's next call returned before it was invoked. Linearizing it
// runs it on a clone of the model and requires a deep-equal response. Depth
// first, with memoisation of the count vectors already explored.
//
// Why the counts alone are a sound memo key (Porcupine keys on the model
// state too): along any path every linearized call's response matched the
// recorded one, and the model's state is a function of those responses — the
// applied uuids are exactly those answered RS_OK, each with the parameters
// and the response of its RS_OK sends (all deep-equal, or the path would have
// failed), the settled bets follow from the applied wins and rollbacks, and
// each balance is the initial one plus the applied deltas. An allowed no-op
// leaves the state as the model's own error answer would. So two paths to the
// same counts reach the same model state. (The model key is still compared in
// debug runs: LIN_CHECK_KEYS=1.)
//
// The whole history is checked at once, not partitioned by user: our
// histories reuse one transaction_uuid across users (a conflicting variant),
// so a per-user partition would not be sound; they are small enough.
//
// One allowance, stated where it is used: an RS_ERROR_UNKNOWN may stand for a
// call with no effect when the library's concurrency choices allow it, namely
//   (a) the twin-wait bound: another call with the same transaction_uuid
//       overlaps it in time (the call waited for that twin and gave up), or
//   (b) a concurrent settlement: it is a win/rollback and another win/rollback
//       of the same reference_transaction_uuid overlaps it in time (the
//       project answers RS_ERROR_UNKNOWN to a win/rollback whose bet is being
//       settled concurrently), or
//   (c) a concurrent placement: it is a win/rollback and a bet whose
//       transaction_uuid is its reference_transaction_uuid overlaps it in
//       time (docs/contract.md §6: a bet whose money has moved but whose call
//       has not returned is answered RS_ERROR_UNKNOWN, never "does not exist").
// Anywhere else an RS_ERROR_UNKNOWN must be the model's answer.

import { isDeepStrictEqual } from 'node:util';
import type { WalletResponse } from 'exwallet';
import type { ReferenceWallet } from '../model.js';

export type LinOp = 'bet' | 'win' | 'rollback' | 'balance';

export interface LinCall {
  thread: number;
  op: LinOp;
  body: Record<string, unknown>;
  response: WalletResponse;
  invoke: number;
  ret: number;
}

export interface LinResult {
  ok: boolean;
  /** True if the search hit its state bound before deciding. */
  undecided: boolean;
  /** (counts, model) states explored. */
  explored: number;
  /** RS_ERROR_UNKNOWN answers taken as no-ops through the allowance. */
  noops_allowed: number;
  /** One linearization (indices into the history) when ok. */
  order?: number[];
  /** When not ok: the longest linearizable prefix found and the calls that
   *  could not be placed after it. */
  reason?: string;
}

const EXPLORED_MAX = 2_000_000;
const CHECK_KEYS = process.env.LIN_CHECK_KEYS === '1';

function run(model: ReferenceWallet, call: LinCall): WalletResponse {
  switch (call.op) {
    case 'bet': return model.bet(call.body);
    case 'win': return model.win(call.body);
    case 'rollback': return model.rollback(call.body);
    case 'balance': return model.balance(call.body);
  }
}

function overlaps(a: LinCall, b: LinCall): boolean {
  return a.invoke < b.ret && b.invoke < a.ret;
}

/** Whether `call`'s RS_ERROR_UNKNOWN may be a no-op (see the file comment). */
function unknown_may_be_noop(call: LinCall, history: LinCall[]): boolean {
  if (call.response.status !== 'RS_ERROR_UNKNOWN' || call.op === 'balance') return false;
  for (const other of history) {
    if (other === call || other.op === 'balance' || !overlaps(call, other)) continue;
    if (other.body.transaction_uuid === call.body.transaction_uuid) return true; // (a)
    if (
      call.op !== 'bet' && other.op !== 'bet' &&
      other.body.reference_transaction_uuid === call.body.reference_transaction_uuid
    ) return true; // (b)
    if (call.op !== 'bet' && other.op === 'bet' && other.body.transaction_uuid === call.body.reference_transaction_uuid) return true; // (c)
  }
  return false;
}

/** Check `history` against the model made by `initial` (not modified). */
export function check_linearizable(history: LinCall[], initial: ReferenceWallet): LinResult {
  const threads = [...new Set(history.map((call) => call.thread))].sort((a, b) => a - b);
  const lists = threads.map((thread) => history
    .map((call, index) => ({ call, index }))
    .filter(({ call }) => call.thread === thread)
    .sort((a, b) => a.call.invoke - b.call.invoke));
  for (const list of lists) {
    for (let i = 1; i < list.length; i++) {
      if (list[i - 1]!.call.ret > list[i]!.call.invoke) throw new Error('a thread has overlapping calls: not a history');
    }
  }
  const noop_ok = history.map((call) => unknown_may_be_noop(call, history));
  const total = history.length;
  const memo = new Set<string>();
  const memo_models = new Map<string, string>();
  let explored = 0;
  let noops_allowed = 0;
  let deepest = { depth: -1, counts: [] as number[] };

  // Iterative DFS. Each frame tries every thread's next call as an exact
  // match first, then (second pass) as an allowed no-op, so the linearization
  // found uses the allowance only where it must.
  interface Frame { counts: number[]; model: ReferenceWallet; next: number; taken: number; noop: boolean }
  const threads_count = lists.length;
  const stack: Frame[] = [{ counts: lists.map(() => 0), model: initial.clone(), next: 0, taken: -1, noop: false }];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const depth = stack.length - 1;
    if (depth === total) {
      const order = stack.slice(1).map((f) => f.taken);
      noops_allowed = stack.slice(1).filter((f) => f.noop).length;
      return { ok: true, undecided: false, explored, noops_allowed, order };
    }
    if (depth > deepest.depth) deepest = { depth, counts: [...frame.counts] };
    let pushed = false;
    while (frame.next < 2 * threads_count && !pushed) {
      const as_noop = frame.next >= threads_count;
      const t = frame.next++ % threads_count;
      const list = lists[t]!;
      const position = frame.counts[t]!;
      if (position >= list.length) continue;
      const { call, index } = list[position]!;
      if (as_noop && !noop_ok[index]) continue;
      // Minimal: no other thread's next call returned before this one began.
      let minimal = true;
      for (let u = 0; u < threads_count && minimal; u++) {
        if (u === t) continue;
        const other = lists[u]![frame.counts[u]!];
        if (other && other.call.ret < call.invoke) minimal = false;
      }
      if (!minimal) continue;
      let next_model: ReferenceWallet;
      if (as_noop) {
        next_model = frame.model; // no effect: the model is unchanged
      } else {
        next_model = frame.model.clone();
        if (!isDeepStrictEqual(run(next_model, call), call.response)) continue;
      }
      const counts = [...frame.counts];
      counts[t]!++;
      const key = counts.join(',');
      if (memo.has(key)) {
        if (CHECK_KEYS && memo_models.get(key) !== next_model.key()) throw new Error(`two model states for counts ${key}`);
        continue;
      }
      memo.add(key);
      if (CHECK_KEYS) memo_models.set(key, next_model.key());
      if (++explored > EXPLORED_MAX) {
        return { ok: false, undecided: true, explored, noops_allowed: 0, reason: `search bound of ${EXPLORED_MAX} states reached` };
      }
      stack.push({ counts, model: next_model, next: 0, taken: index, noop: as_noop });
      pushed = true;
    }
    if (!pushed) stack.pop();
  }
  const stuck = lists
    .map((list, t) => list[deepest.counts[t]!])
    .filter((entry) => entry !== undefined)
    .map((entry) => `thread ${entry!.call.thread} ${entry!.call.op} ${JSON.stringify(entry!.call.body)} -> ${JSON.stringify(entry!.call.response)}`);
  return {
    ok: false, undecided: false, explored, noops_allowed: 0,
    reason: `no linearization: ${deepest.depth} of ${total} calls placed at best; none of these fits next:\n  ${stuck.join('\n  ')}`,
  };
}
