// Small concurrent histories for the linearizability checker: 2–4 threads,
// 2–3 users with small balances (so bets run out of money), tens of calls per
// thread drawn from one shared pool, so that uuids are sent by several
// threads (some with conflicting parameters: another amount, another user,
// an extra field), bets are settled by wins and rollbacks racing each other,
// and balance reads see it all.

import { Worker } from 'node:worker_threads';
import { start, createUsers, share } from 'exwallet';
import { ReferenceWallet } from '../model.js';
import { Random } from '../../tools/random.js';
import { make_sync, open_gate } from '../../tools/sync.js';
import type { LinCall, LinOp } from './linearizability.js';
import type { LinJob, LinMessage } from './lin_worker.js';

export interface HistorySpec {
  threads: number;
  users: string[];
  initial_balance: number;
  calls: { op: LinOp; body: Record<string, unknown> }[][];
  /** Threads meet at a barrier every this many calls (0: never). Lockstep
   *  gives overlaps when the threads truly run in parallel; without barriers,
   *  on a busy machine, a thread preempted inside a call overlaps everything
   *  the others do meanwhile. */
  barrier_every: number;
}

export const LIN_OPTIONS = { maxUsers: 16, maxTransactions: 10_000, currency: 'USD', maxThreads: 16 } as const;

/** A seeded history plan: per thread, the calls in order (full requests). */
export function plan_history(seed: number, size: { threads_max: number; calls_min: number; calls_max: number; barrier_every: number }): HistorySpec {
  const rng = new Random(seed);
  const threads = rng.between(2, size.threads_max);
  const users = rng.chance(0.5) ? ['ann', 'bob'] : ['ann', 'bob', 'cy'];
  const calls_per_thread = rng.between(size.calls_min, size.calls_max);
  // Small enough that bets keep running out of money, large enough that
  // they do not only run out of it.
  const initial_balance = 40 * calls_per_thread;
  // The pool: groups of variants of one transaction_uuid, in a base order.
  interface Variant { op: LinOp; body: Record<string, unknown> }
  const groups: Variant[][] = [];
  const bets: { uuid: string; user: string }[] = [];
  const group_count = Math.ceil(calls_per_thread * 1.3);
  for (let g = 0; g < group_count; g++) {
    const uuid = rng.uuid();
    if (bets.length === 0 || rng.chance(0.55)) {
      const user = rng.pick(users);
      const amount = rng.between(0, 600);
      const body = { user, transaction_uuid: uuid, currency: 'USD', amount };
      groups.push([
        { op: 'bet', body },
        { op: 'bet', body: { ...body, amount: amount + 1 } },
        { op: 'bet', body: { ...body, user: users[(users.indexOf(user) + 1) % users.length]! } },
        { op: 'bet', body: { ...body, game_code: 'x' } },
      ]);
      bets.push({ uuid, user });
    } else {
      // Settle a recent bet (or, rarely, an unknown one): recent bets get
      // several settlers racing for them.
      const bet = rng.chance(0.05) ? { uuid: rng.uuid(), user: rng.pick(users) } : bets[Math.max(0, bets.length - 1 - rng.below(4))]!;
      const op: LinOp = rng.chance(0.5) ? 'win' : 'rollback';
      const body: Record<string, unknown> = { user: bet.user, transaction_uuid: uuid, reference_transaction_uuid: bet.uuid };
      if (op === 'win') Object.assign(body, { currency: 'USD', amount: rng.between(0, 400) });
      groups.push([
        { op, body },
        { op: op === 'win' ? 'rollback' : 'win', body: { ...body, currency: 'USD', amount: 7 } },
        { op, body: { ...body, round: 'other' } },
      ]);
    }
  }
  const calls: HistorySpec['calls'] = [];
  for (let t = 0; t < threads; t++) {
    const list: HistorySpec['calls'][number] = [];
    for (let g = 0; g < groups.length && list.length < calls_per_thread; g++) {
      if (rng.chance(0.2)) list.push({ op: 'balance', body: { user: rng.pick(users), request_uuid: rng.uuid() } });
      if (!rng.chance(0.6)) continue;
      const variants = groups[g]!;
      const variant = rng.chance(0.8) ? variants[0]! : variants[1 + rng.below(variants.length - 1)]!;
      list.push({ op: variant.op, body: { ...variant.body, request_uuid: rng.uuid() } });
    }
    calls.push(list);
  }
  return { threads, users, initial_balance, calls, barrier_every: size.barrier_every };
}

export function model_for(spec: HistorySpec): ReferenceWallet {
  const model = new ReferenceWallet({ ...LIN_OPTIONS, initialBalance: spec.initial_balance });
  model.createUsers(spec.users);
  return model;
}

/** A pool of long-lived recording workers (spawning per history would cost
 *  more than the histories themselves). */
export class Recorder {
  readonly #workers: Worker[] = [];
  constructor(threads_max: number) {
    for (let t = 0; t < threads_max; t++) this.#workers.push(new Worker(new URL('./lin_worker.js', import.meta.url)));
  }

  /** Run `spec` on a fresh wallet; resolves with the history, rejects past the budget. */
  async record(spec: HistorySpec, budget_ms = 10_000): Promise<LinCall[]> {
    const wallet = start({ ...LIN_OPTIONS, initialBalance: spec.initial_balance });
    createUsers(wallet, spec.users);
    const handle = share(wallet);
    const sync_buffer = make_sync(spec.threads);
    const sync = new Int32Array(sync_buffer);
    const workers = this.#workers.slice(0, spec.threads);
    const barrier_until = Math.min(...spec.calls.map((calls) => calls.length));
    let ready = 0;
    const results = await new Promise<Extract<LinMessage, { kind: 'recorded' }>[]>((resolve, reject) => {
      const recorded: Extract<LinMessage, { kind: 'recorded' }>[] = [];
      let pending = workers.length;
      const timer = setTimeout(() => cleanup(new Error(`history not recorded within ${budget_ms} ms (ready ${ready})`)), budget_ms);
      const listeners: ((message: LinMessage) => void)[] = [];
      const on_error = (error: Error) => cleanup(error);
      const cleanup = (error?: Error) => {
        clearTimeout(timer);
        workers.forEach((worker, t) => {
          worker.off('message', listeners[t]!);
          worker.off('error', on_error);
        });
        if (error) reject(error);
        else resolve(recorded);
      };
      workers.forEach((worker, t) => {
        const listener = (message: LinMessage) => {
          if (message.kind === 'ready') {
            if (++ready === workers.length) open_gate(sync);
          } else if (message.kind === 'failed') {
            cleanup(new Error(`recording thread ${t} failed: ${message.error}`));
          } else {
            recorded[t] = message;
            if (--pending === 0) cleanup();
          }
        };
        listeners.push(listener);
        worker.on('message', listener);
        worker.on('error', on_error);
        const job: LinJob = {
          handle, sync: sync_buffer, threads: spec.threads, calls: spec.calls[t]!, barrier_every: spec.barrier_every || Infinity, barrier_until, budget_ms,
        };
        worker.postMessage(job);
      });
    });
    const history: LinCall[] = [];
    results.forEach((result, t) => {
      spec.calls[t]!.forEach((call, i) => {
        history.push({ thread: t, op: call.op, body: call.body, response: result.responses[i]!, invoke: result.invokes[i]!, ret: result.rets[i]! });
      });
    });
    return history;
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }
}
