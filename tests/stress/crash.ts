// The crash storm: workers bet, win and roll back on a few hot users while
// the parent terminates random ones at random moments and spawns
// replacements, until `terminations` threads have died. Then, quiescent:
//
//   1. audit(wallet) resolves the dead claims and must report ok;
//   2. each balance lies within the bounds the uncertain calls allow
//      (known applied effects, plus any subset of the calls in flight or
//      unreported when their thread died);
//   3. a probe per uncertain uuid — same uuid, parameters that cannot apply —
//      tells applied (DUPLICATE) from not applied, with no side effect; then
//      the invariants of checks.ts hold exactly (money conserved per user with
//      the applied set known);
//   4. every applied uuid's duplicate replays its original response;
//   5. a second audit finds nothing left to resolve.
//
// Each time a killed thread had a call in flight, the parent re-sends that
// call at once: if the thread died holding the claim, the re-send meets a
// dead twin and must answer RS_ERROR_UNKNOWN within about twinWaitMs.

import { Worker } from 'node:worker_threads';
import { isDeepStrictEqual } from 'node:util';
import { start, createUsers, share, audit, RS_OK, RS_ERROR_UNKNOWN, RS_ERROR_DUPLICATE_TRANSACTION, RS_ERROR_NOT_ENOUGH_MONEY, RS_ERROR_TRANSACTION_DOES_NOT_EXIST, type Wallet, type WalletResponse, type AuditReport } from 'exwallet';
import { bet, win, rollback, balance } from '../../tools/untyped.js';
import { crash_pool, type Intent } from './intents.js';
import { check_run, UNCERTAIN, type CheckFigures } from './checks.js';
import type { Sent } from './stress_worker.js';
import type { CrashWorkerData, CrashMessage, PlannedSend } from './crash_worker.js';
import { Random, derive_seed, pass_request_uuid } from '../../tools/random.js';
import { make_sync, tick, W_STOP, W_ABORTED, W_PROGRESS } from '../../tools/sync.js';

export interface CrashOptions {
  seed: number;
  /** Threads to terminate in all. */
  terminations: number;
  /** Workers alive at once, of which `survivors` are never killed. */
  live: number;
  survivors: number;
  /** Calls in one worker's plan. */
  plan_length: number;
  twin_wait_ms: number;
  budget_ms: number;
}

export interface CrashReport {
  violations: string[];
  terminations: number;
  spawned: number;
  finished_normally: number;
  calls_reported: number;
  uncertain_sends: number;
  uncertain_uuids: number;
  /** Uncertain uuids that turned out applied (their response died with the thread). */
  applied_unseen: number;
  /** Threads terminated while a call was in flight. */
  killed_in_call: number;
  /** Re-sends of a killed thread's in-flight call, and those that met a dead claim. */
  in_flight_resends: number;
  dead_twins_met: number;
  dead_twin_wait_ms_max: number;
  audit: AuditReport;
  audit_after: AuditReport;
  figures: CheckFigures;
  line: string;
}

const SLOTS_MAX = 1024;
/** Each new worker's plan starts this much further in the pool: killed
 *  workers get through a few hundred calls, so about four of them send each uuid. */
const CURSOR_STEP = 100;
const USERS = ['hot-0', 'hot-1', 'hot-2', 'hot-3'];
const CURRENCY = 'USD';
const INITIAL_BALANCE = 100_000;
/** A call that has not returned after this long is hung (twin waits are 50 ms). */
const HANG_MS = 5_000;

function call(wallet: Wallet, intent: Intent, body: Record<string, unknown>): WalletResponse {
  switch (intent.op) {
    case 'bet': return bet(wallet, body);
    case 'win': return win(wallet, body);
    case 'rollback': return rollback(wallet, body);
    default: throw new Error(`unexpected ${intent.op}`);
  }
}

interface Live {
  worker: Worker;
  slot: number;
  plan: PlannedSend[];
  received: number;
  ready: boolean;
  done: boolean;
  killed: boolean;
  kill_timer?: NodeJS.Timeout;
  /** Watchdog: started count and when it last changed. */
  seen_started: number;
  seen_ms: number;
}

export async function run_crash_storm(options: CrashOptions): Promise<CrashReport> {
  const rng = new Random(derive_seed(options.seed, 77));
  // Sized so that each uuid is sent by about four workers (plans overlap).
  const pool = crash_pool(derive_seed(options.seed, 78), Math.max(500, options.terminations * 60), USERS);
  const intents = pool.intents;
  const wallet = start({
    maxUsers: 64, maxTransactions: intents.length * 2 + 10_000, maxThreads: SLOTS_MAX, twinWaitMs: options.twin_wait_ms,
    initialBalance: INITIAL_BALANCE, currency: CURRENCY,
  });
  createUsers(wallet, USERS);
  const handle = share(wallet);
  const sync_buffer = make_sync(2 * SLOTS_MAX);
  const sync = new Int32Array(sync_buffer);
  const inflight_word = (slot: number) => W_PROGRESS + slot;
  const started_word = (slot: number) => W_PROGRESS + SLOTS_MAX + slot;

  const sends: Sent[] = [];
  const uncertain: Sent[] = [];
  const violations: string[] = [];
  const live = new Map<number, Live>();
  let spawned = 0;
  let terminations = 0;
  let finished_normally = 0;
  let cursor = 0;
  let in_flight_resends = 0;
  let killed_in_call = 0;
  let dead_twins_met = 0;
  let dead_twin_wait_ms_max = 0;
  const parent_rng = new Random(derive_seed(options.seed, 79));

  /** Re-send a killed thread's in-flight call from this thread, timed. */
  const resend_in_flight = (planned: PlannedSend) => {
    const intent = intents[planned.intent]!;
    const request_uuid = parent_rng.uuid();
    const started_ms = performance.now();
    const invoke = tick(sync);
    const response = call(wallet, intent, { ...intent.body, request_uuid });
    const ret = tick(sync);
    const waited_ms = performance.now() - started_ms;
    in_flight_resends++;
    sends.push({ worker: -1, phase: 0, intent: planned.intent, request_uuid, response, invoke, ret });
    if (response.status === RS_ERROR_UNKNOWN && waited_ms >= options.twin_wait_ms * 0.9) {
      dead_twins_met++;
      dead_twin_wait_ms_max = Math.max(dead_twin_wait_ms_max, waited_ms);
    }
    if (waited_ms > options.twin_wait_ms + 2_000) violations.push(`a re-send waited ${Math.round(waited_ms)} ms for a twin (bound ${options.twin_wait_ms} ms)`);
  };

  const storm_started_ms = performance.now();
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(budget_timer);
      clearInterval(watchdog);
      if (error) {
        Atomics.store(sync, W_ABORTED, 1);
        for (const entry of live.values()) void entry.worker.terminate();
        reject(error);
      } else resolve();
    };
    const budget_timer = setTimeout(() => finish(new Error(
      `crash storm over budget (${options.budget_ms} ms): ${terminations} terminations, ${live.size} alive`,
    )), options.budget_ms);
    const watchdog = setInterval(() => {
      const now_ms = performance.now();
      for (const entry of live.values()) {
        const started = Atomics.load(sync, started_word(entry.slot));
        if (started !== entry.seen_started || Atomics.load(sync, inflight_word(entry.slot)) < 0) {
          entry.seen_started = started;
          entry.seen_ms = now_ms;
        } else if (entry.ready && !entry.killed && now_ms - entry.seen_ms > HANG_MS) {
          finish(new Error(`worker ${entry.slot} hung in call ${started - 1} for ${Math.round(now_ms - entry.seen_ms)} ms`));
        }
      }
    }, 250);

    const spawn = () => {
      const slot = spawned++;
      if (slot >= SLOTS_MAX) return finish(new Error('out of worker slots'));
      const survivor = slot < options.survivors;
      const order: number[] = [];
      for (let i = 0; i < options.plan_length; i++) order.push(pool.base[(cursor + i) % pool.base.length]!);
      cursor = (cursor + CURSOR_STEP) % pool.base.length;
      rng.shuffle_windows(order, 8);
      const plan = order.map((intent, local) => ({ intent, local, request_uuid: rng.uuid() }));
      const data: CrashWorkerData = {
        mode: 'plan', handle, intents: order.map((intent) => intents[intent]!), plan, sync: sync_buffer, inflight_word: inflight_word(slot),
        started_word: started_word(slot), slot, budget_ms: options.budget_ms,
        batch_max: survivor ? 256 : 32, pause_ms: survivor ? 100 : 5,
      };
      const worker = new Worker(new URL('./crash_worker.js', import.meta.url), { workerData: data });
      const entry: Live = {
        worker, slot, plan, received: 0, ready: false, done: false, killed: false, seen_started: 0, seen_ms: performance.now(),
      };
      live.set(slot, entry);
      // The first `survivors` workers live through the storm; every other one
      // dies at a random moment of its run.
      const kill_after_ms = survivor ? -1 : rng.between(0, 30);
      worker.on('message', (message: CrashMessage) => {
        switch (message.kind) {
          case 'ready':
            entry.ready = true;
            if (kill_after_ms >= 0 && terminations + [...live.values()].filter((e) => e.killed).length < options.terminations) {
              entry.kill_timer = setTimeout(() => {
                if (entry.done || settled) return;
                entry.killed = true;
                void worker.terminate();
              }, kill_after_ms);
            }
            break;
          case 'sent':
            entry.received += message.items.length;
            for (const item of message.items) sends.push(item);
            break;
          case 'done':
            entry.done = true;
            break;
          case 'failed':
          case 'crashed':
            finish(new Error(`worker ${slot}: ${message.error}`));
            break;
        }
      });
      worker.on('error', (error) => finish(new Error(`worker ${slot} threw: ${error.stack ?? error}`)));
      worker.on('exit', () => {
        clearTimeout(entry.kill_timer);
        live.delete(slot);
        if (settled) return;
        if (entry.killed && !entry.done) {
          terminations++;
          // Everything from the first unreported call to the last started one
          // may or may not have happened.
          const started = Atomics.load(sync, started_word(slot));
          for (let position = entry.received; position < started; position++) {
            const planned = entry.plan[position % entry.plan.length]!;
            const request_uuid = pass_request_uuid(planned.request_uuid, Math.floor(position / entry.plan.length));
            uncertain.push({
              worker: slot, phase: 0, intent: planned.intent, request_uuid,
              response: { user: '', status: UNCERTAIN as 'RS_OK', request_uuid },
              invoke: -Infinity, ret: Infinity,
            });
          }
          const inflight = Atomics.load(sync, inflight_word(slot));
          if (inflight >= 0) {
            killed_in_call++;
            resend_in_flight(entry.plan[inflight % entry.plan.length]!);
          }
        } else if (entry.done) {
          finished_normally++;
        } else {
          return finish(new Error(`worker ${slot} exited without finishing and without being killed`));
        }
        if (terminations < options.terminations) {
          while (live.size < options.live && spawned - options.survivors < options.terminations) spawn();
        } else {
          Atomics.store(sync, W_STOP, 1); // enough deaths: let the survivors finish
          if (live.size === 0) finish();
        }
      });
    };
    for (let i = 0; i < options.live; i++) spawn();
  });

  const storm_ms = performance.now() - storm_started_ms;
  // Quiescent: every worker has exited. 1. audit.
  const report = audit(wallet);
  if (!report.ok) violations.push(`audit not ok: ${JSON.stringify(report)}`);
  // A thread holds at most one claim, and only during a call.
  const dead_claims = report.inFlightCommitted + report.inFlightReleased;
  if (dead_claims > killed_in_call) violations.push(`audit resolved ${dead_claims} dead claims; only ${killed_in_call} threads died in a call`);

  // 2. Bounds: known effects plus any subset of the uncertain calls.
  const final_balances = new Map<string, WalletResponse>();
  for (const user of USERS) final_balances.set(user, balance(wallet, { user, request_uuid: parent_rng.uuid() }));
  const known_applied = new Set(sends.filter((sent) => sent.response.status === RS_OK).map((sent) => intents[sent.intent]!.body.transaction_uuid as string));
  const uncertain_uuids = new Map<string, Sent>();
  for (const sent of uncertain) {
    const uuid = intents[sent.intent]!.body.transaction_uuid as string;
    if (!known_applied.has(uuid) && !uncertain_uuids.has(uuid)) uncertain_uuids.set(uuid, sent);
  }
  const intent_of_uuid = new Map(intents.map((intent) => [intent.body.transaction_uuid as string, intent]));
  const delta_of = (intent: Intent): number => {
    if (intent.op === 'bet') return -(intent.body.amount as number);
    if (intent.op === 'win') return intent.body.amount as number;
    const bet_intent = intent_of_uuid.get(intent.body.reference_transaction_uuid as string);
    return bet_intent?.op === 'bet' ? (bet_intent.body.amount as number) : 0;
  };
  const known_units = new Map<string, number>();
  for (const uuid of known_applied) {
    const intent = intent_of_uuid.get(uuid)!;
    known_units.set(intent.body.user as string, (known_units.get(intent.body.user as string) ?? INITIAL_BALANCE) + delta_of(intent));
  }
  for (const user of USERS) {
    let low = known_units.get(user) ?? INITIAL_BALANCE;
    let high = low;
    for (const sent of uncertain_uuids.values()) {
      const intent = intents[sent.intent]!;
      if (intent.body.user !== user) continue;
      const delta = delta_of(intent);
      if (delta < 0) low += delta;
      else high += delta;
    }
    const actual = final_balances.get(user)!.balance!;
    if (actual < low || actual > high) violations.push(`bounds: ${user} has ${actual}, outside [${low}, ${high}] allowed by the uncertain calls`);
  }

  // 3. Probes: applied (DUPLICATE) or not (the probe's own refusal).
  const applied_unseen = new Map<string, Sent>();
  for (const [uuid, sent] of uncertain_uuids) {
    const intent = intents[sent.intent]!;
    const probe = intent.op === 'bet'
      ? { ...intent.body, amount: 2 ** 52, request_uuid: parent_rng.uuid() }
      : { ...intent.body, reference_transaction_uuid: parent_rng.uuid(), request_uuid: parent_rng.uuid() };
    const status = call(wallet, intent, probe).status;
    const not_applied = intent.op === 'bet' ? RS_ERROR_NOT_ENOUGH_MONEY : RS_ERROR_TRANSACTION_DOES_NOT_EXIST;
    if (status === RS_ERROR_DUPLICATE_TRANSACTION) applied_unseen.set(uuid, sent);
    else if (status !== not_applied) violations.push(`probe of ${uuid} answered ${status}`);
  }
  // 4. Every applied uuid replays its original response. For those applied
  // by a dead thread, the replay *is* the response it never delivered: it
  // must carry the request_uuid of one of the sends of that uuid, and it
  // completes the user's chain of balances for the checks (I8).
  const originals = new Map<string, WalletResponse>();
  for (const sent of sends) {
    if (sent.response.status === RS_OK) originals.set(intents[sent.intent]!.body.transaction_uuid as string, sent.response as WalletResponse);
  }
  const planned_requests = new Set([...sends, ...uncertain].map((sent) => sent.request_uuid));
  const replay = (uuid: string, intent_index: number, expected?: WalletResponse): WalletResponse => {
    const intent = intents[intent_index]!;
    const response = call(wallet, intent, { ...intent.body, request_uuid: parent_rng.uuid() });
    if (expected && !isDeepStrictEqual(response, expected)) {
      violations.push(`replay of ${uuid}: ${JSON.stringify(response)}, original ${JSON.stringify(expected)}`);
    } else if (response.status !== RS_OK || !planned_requests.has(response.request_uuid)) {
      violations.push(`replay of ${uuid} (applied by a dead thread): ${JSON.stringify(response)}`);
    }
    return response;
  };
  for (const sent of sends) {
    const uuid = intents[sent.intent]!.body.transaction_uuid as string;
    const original = originals.get(uuid);
    if (original && sent.response === original) replay(uuid, sent.intent, original);
  }
  for (const [uuid, sent] of applied_unseen) {
    const response = replay(uuid, sent.intent);
    applied_unseen.set(uuid, { ...sent, response });
  }
  const checked = check_run({
    intents, sends, uncertain, applied_unseen, initial_balance: INITIAL_BALANCE, currency: CURRENCY,
    final_balances, expected_users: USERS, audit: report,
  });
  violations.push(...checked.violations);

  for (const user of USERS) {
    const after = balance(wallet, { user, request_uuid: parent_rng.uuid() }).balance;
    if (after !== final_balances.get(user)!.balance) violations.push(`replays moved ${user}'s balance: ${final_balances.get(user)!.balance} -> ${after}`);
  }

  // 5. Nothing left in flight.
  const audit_after = audit(wallet);
  if (!audit_after.ok || audit_after.inFlightCommitted + audit_after.inFlightReleased !== 0) {
    violations.push(`second audit: ${JSON.stringify(audit_after)}`);
  }

  const result = {
    violations, terminations, spawned, finished_normally, calls_reported: sends.length,
    uncertain_sends: uncertain.length, uncertain_uuids: uncertain_uuids.size, applied_unseen: applied_unseen.size,
    killed_in_call, in_flight_resends, dead_twins_met, dead_twin_wait_ms_max: Math.round(dead_twin_wait_ms_max),
    audit: report, audit_after, figures: checked.figures,
  };
  const statuses = new Map<string, number>();
  for (const sent of sends) statuses.set(sent.response.status, (statuses.get(sent.response.status) ?? 0) + 1);
  const line =
    `crash seed=${options.seed} terminations=${terminations} spawned=${spawned} finished=${finished_normally} ` +
    `calls=${sends.length} uncertain=${uncertain.length}/${uncertain_uuids.size}uuids applied_unseen=${applied_unseen.size} ` +
    `trails=${checked.figures.trails_checked} killed_in_call=${killed_in_call} dead_twins_met=${dead_twins_met} (max ${result.dead_twin_wait_ms_max} ms) ` +
    `audit: ok=${report.ok} inFlightCommitted=${report.inFlightCommitted} inFlightReleased=${report.inFlightReleased} ` +
    `statuses=${JSON.stringify(Object.fromEntries(statuses))} storm_ms=${Math.round(storm_ms)} ` +
    `check_ms=${Math.round(performance.now() - storm_started_ms - storm_ms)} violations=${violations.length}`;
  return { ...result, line };
}
