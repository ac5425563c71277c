// A load worker thread: attaches to the shared wallet, plays the session mix
// (mix.ts) until the deadline, its call budget or a stop, and reports to the
// parent. Counting stays in this thread (plain arrays, no shared counters: a
// counter every call writes would make all workers contend for one cache
// line); the parent gets cumulative snapshots a few times a second and the
// full results once, at the end.
//
// The loop runs in slices of SLICE_MS and yields to the event loop between
// them, so that the parent's 'stop' message is seen and progress is posted
// while the run goes on.
//
// A durable run (--data-dir): a slice ends after at most durable_batch_calls
// calls too, and the worker then awaits durable(wallet), as a service that
// answers a batch of requests only once they are on disk. The batch's calls
// count as acknowledged only when it resolved; the applied transactions
// among them feed a uniform sample (reservoir) that the parent replays after
// a restart.

import { parentPort, workerData } from 'node:worker_threads';
import {
  attach, detach, bet, win, rollback, balance, durable,
  type Wallet, type WalletResponse, type BetRequest, type WinRequest, type RollbackRequest, type BalanceRequest,
} from 'exwallet';
import { SessionMix, SCENARIOS, SCENARIO_COUNT, K_BET, K_WIN, K_ROLLBACK, K_BALANCE, type Client } from './mix.js';
import { histogram_create, histogram_record } from './histogram.js';
import { Random } from '../tools/random.js';
import {
  STATUS_COUNT, STATUS_NAMES, S_OK, BUDGET_UNITS_PER_BET, status_index,
  type WorkerSetup, type ParentMessage, type WorkerMessage, type FailureSample, type ContestObservations,
  type AckedSample, type DurableCounters, type StopReason,
} from './messages.js';

const SLICE_MS = 20;
const FAILURE_SAMPLES_MAX = 8;
const NS_PER_MS = 1e6;

/** Answers equal field by field: a retry must get the original answer
 *  (spec §5), request_uuid and balance included. */
function same_answer(a: WalletResponse, b: WalletResponse): boolean {
  return (
    a.status === b.status && a.user === b.user && a.request_uuid === b.request_uuid &&
    a.currency === b.currency && a.balance === b.balance && Object.keys(a).length === Object.keys(b).length
  );
}

function expected_names(expect_mask: number): string {
  return STATUS_NAMES.filter((_, index) => (expect_mask >>> index) & 1).join(' | ');
}

class WorkerClient implements Client {
  readonly status_counts = new Float64Array(STATUS_COUNT);
  readonly scenario_calls = new Float64Array(SCENARIO_COUNT);
  readonly scenario_failures = new Float64Array(SCENARIO_COUNT);
  readonly latency_histogram = histogram_create();
  readonly money_units: Float64Array;
  readonly failures: FailureSample[] = [];
  calls = 0;
  /** Budget units this worker's applied bets took (messages.ts, budget_units_max). */
  budget_units = 0;
  /** Transactions this worker's requests applied (new records in the table). */
  applied = 0;
  replay_mismatches = 0;
  unexpected_statuses = 0;
  negative_balances_seen = 0;
  /** performance.now() after the last call: the loop's clock, for free. */
  now_ms = performance.now();
  /** --canary: the next retry is compared with a falsified original. */
  canary_armed: boolean;
  /** Durable runs: the transactions applied since the last durable() resolved. */
  pending: AckedSample[] | undefined;

  constructor(readonly wallet: Wallet, readonly worker_index: number, users_count: number, canary: boolean, durable_run: boolean) {
    this.canary_armed = canary;
    this.pending = durable_run ? [] : undefined;
    this.money_units = new Float64Array(users_count);
  }

  send(
    scenario: number, kind: number, body: unknown, user_index: number, credit_units: number,
    expect_mask: number, original?: WalletResponse,
  ): WalletResponse {
    const started_ms = performance.now();
    // Casts, not checks: the mix sends malformed bodies on purpose, and the
    // wallet must answer them with a status (that is what is being tested).
    const answer =
      kind === K_BET ? bet(this.wallet, body as BetRequest) :
      kind === K_WIN ? win(this.wallet, body as WinRequest) :
      kind === K_ROLLBACK ? rollback(this.wallet, body as RollbackRequest) :
      balance(this.wallet, body as BalanceRequest);
    const ended_ms = performance.now();
    this.now_ms = ended_ms;
    histogram_record(this.latency_histogram, (ended_ms - started_ms) * NS_PER_MS);
    this.calls++;
    this.scenario_calls[scenario]++;
    const s = status_index(answer.status);
    this.status_counts[s]++;

    // Book what the wallet did, whatever was expected: an answer carrying
    // this request's own request_uuid means this request applied it; a retry
    // answered with the original carries the original's.
    if (s === S_OK && kind !== K_BALANCE && answer.request_uuid === (body as { request_uuid: unknown }).request_uuid) {
      this.applied++;
      if (kind === K_BET) this.budget_units += BUDGET_UNITS_PER_BET;
      if (user_index >= 0) this.money_units[user_index] += credit_units;
      this.pending?.push({ kind, body, answer });
    }
    if (answer.balance !== undefined && answer.balance < 0) {
      this.negative_balances_seen++;
      this.#fail(scenario, 'balance never below zero', body, answer, '>= 0');
    }
    if (this.canary_armed && original !== undefined) {
      this.canary_armed = false;
      original = { ...original, balance: (original.balance ?? 0) + 1 };
    }
    if (((expect_mask >>> s) & 1) === 0) {
      this.unexpected_statuses++;
      this.#fail(scenario, 'status as the scenario allows', body, answer, expected_names(expect_mask));
    } else if (original !== undefined && !same_answer(answer, original)) {
      this.replay_mismatches++;
      this.#fail(scenario, 'a retry gets the original answer', body, answer, JSON.stringify(original));
    }
    return answer;
  }

  #fail(scenario: number, rule: string, request: unknown, response: WalletResponse, expected: string): void {
    this.scenario_failures[scenario]++;
    if (this.failures.length >= FAILURE_SAMPLES_MAX) return;
    this.failures.push({ worker_index: this.worker_index, scenario: SCENARIOS[scenario][0], rule, request, response, expected });
  }
}

/** A uniform sample of the acknowledged transactions (reservoir sampling). */
class Reservoir {
  readonly items: AckedSample[] = [];
  seen = 0;
  readonly #random: Random;

  constructor(readonly max: number, seed: number, worker_index: number) {
    this.#random = new Random(seed, 0x5a_0000 + worker_index);
  }

  add(item: AckedSample): void {
    this.seen++;
    if (this.items.length < this.max) {
      this.items.push(item);
      return;
    }
    const at = this.#random.below(this.seen);
    if (at < this.max) this.items[at] = item;
  }
}

function run(setup: WorkerSetup): void {
  const port = parentPort;
  if (port === null) throw new Error('load worker: must run in a worker thread');
  const wallet = attach(setup.handle);
  const durable_run = setup.durable_batch_calls > 0;
  const client = new WorkerClient(wallet, setup.worker_index, setup.users.length, setup.canary, durable_run);
  const mix = new SessionMix(setup);
  const contest: ContestObservations = { slots: [], bet_request_uuids: [], bet_balances: [], settled_here: [] };
  const post = (message: WorkerMessage): void => port.postMessage(message);
  const reservoir = new Reservoir(setup.samples_max, setup.seed, setup.worker_index);
  const durable_counters: DurableCounters = {
    acked_calls: 0, acked_applied: 0, waits: 0, wait_histogram: histogram_create(), error: undefined, samples: reservoir.items,
  };

  let stop_requested = false;
  let started = false;
  let end_ms = Infinity;
  let start_ms = performance.now(); // reset at "go"
  // Contest slots count from the common start, in wall-clock terms (every
  // thread's performance.now() has its own origin).
  let slot_origin_ms = 0;
  let last_slot = -1;
  let next_progress_ms = 0;

  const progress = (): void => {
    post({
      kind: 'progress', calls: durable_run ? durable_counters.acked_calls : client.calls,
      status_counts: client.status_counts.slice(), latency_histogram: client.latency_histogram.slice(),
    });
  };

  const finish = (stopped_by: StopReason): void => {
    // Give the thread slot back before saying we are done: the parent may
    // audit as soon as every worker has exited.
    detach(wallet);
    durable_counters.samples = reservoir.items;
    post({
      kind: 'done', stopped_by, elapsed_ms: performance.now() - start_ms,
      calls: client.calls, status_counts: client.status_counts, latency_histogram: client.latency_histogram,
      scenario_calls: client.scenario_calls, scenario_failures: client.scenario_failures,
      money_units: client.money_units, applied: client.applied, budget_units: client.budget_units, replay_mismatches: client.replay_mismatches,
      unexpected_statuses: client.unexpected_statuses, negative_balances_seen: client.negative_balances_seen,
      failures: client.failures, contest, ...(durable_run ? { durable: durable_counters } : {}),
    });
    port.close();
  };

  const stop_reason = (): StopReason | undefined => {
    if (stop_requested) return 'interrupt';
    if (client.now_ms >= end_ms) return 'time';
    if (client.calls >= setup.calls_max) return 'calls';
    if (client.budget_units >= setup.budget_units_max) return 'budget';
    return undefined;
  };

  /** After a slice (and, in a durable run, its durable()): finish or go on. */
  const next = (reason: StopReason | undefined): void => {
    if (reason !== undefined) return finish(reason);
    if (client.now_ms >= next_progress_ms) {
      next_progress_ms = client.now_ms + setup.progress_interval_ms;
      progress();
    }
    setImmediate(slice);
  };

  const slice = (): void => {
    const slice_end_ms = performance.now() + SLICE_MS;
    const batch_end_calls = durable_run ? client.calls + setup.durable_batch_calls : Infinity;
    let reason: StopReason | undefined;
    for (;;) {
      reason = stop_reason();
      if (reason !== undefined) break;
      const slot = setup.contest_slot_ms > 0 ? Math.floor((client.now_ms - slot_origin_ms) / setup.contest_slot_ms) : -1;
      if (slot !== last_slot) {
        last_slot = slot;
        const result = mix.play_contest(client, slot);
        contest.slots.push(slot);
        contest.bet_request_uuids.push(result.bet_request_uuid);
        contest.bet_balances.push(result.bet_balance);
        contest.settled_here.push(result.settled_here ? 1 : 0);
      }
      mix.play_round(client);
      if (client.now_ms >= slice_end_ms || client.calls >= batch_end_calls) break;
    }
    if (!durable_run || client.calls === durable_counters.acked_calls) return next(reason);
    // The answers of this batch may be sent once durable() resolved.
    const calls = client.calls;
    const batch = client.pending as AckedSample[];
    client.pending = [];
    const waited_from_ms = performance.now();
    durable(wallet).then(
      () => {
        const now_ms = performance.now();
        histogram_record(durable_counters.wait_histogram, (now_ms - waited_from_ms) * NS_PER_MS);
        durable_counters.waits++;
        durable_counters.acked_calls = calls;
        durable_counters.acked_applied += batch.length;
        for (const item of batch) reservoir.add(item);
        client.now_ms = now_ms;
        next(reason);
      },
      (error: Error) => {
        durable_counters.error = `${(error as { code?: string }).code ?? 'error'}: ${error.message}`;
        client.now_ms = performance.now();
        next('journal_failed');
      },
    );
  };

  port.on('message', (message: ParentMessage) => {
    if (message.kind === 'stop') {
      stop_requested = true;
      if (!started) finish('interrupt'); // else the running slice sees the flag
    } else if (message.kind === 'go' && !started) {
      started = true;
      const offset_ms = performance.timeOrigin; // epoch ms = timeOrigin + now()
      start_ms = performance.now();
      end_ms = message.end_epoch_ms - offset_ms;
      slot_origin_ms = message.start_epoch_ms - offset_ms;
      client.now_ms = start_ms;
      next_progress_ms = start_ms + setup.progress_interval_ms;
      setImmediate(slice);
    }
  });
  post({ kind: 'ready' });
}

run(workerData as WorkerSetup);
