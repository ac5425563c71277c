// The timed loops of the durable suite, shared by the main thread and its
// workers (durable_worker.ts). Every loop counts RS_OK and ends with its
// last answers durable, so a figure always includes the final flush.
//
//   awaited    stop-and-wait: every `group` calls, `await durable(wallet)`;
//              the thread issues nothing while the group is being flushed.
//   pipelined  what a server does: every `group` calls it takes durable()
//              (the answers of that group go out when it resolves), yields
//              to the event loop once (setImmediate) and goes on calling;
//              the flusher writes one group while the next is computed.
//   paced      calls issued at a fixed rate (or as fast as possible), one
//              durable() per batch of due calls (<= PACED_BATCH_MAX); the
//              latency of a call is its answer → that durable() resolving.

import { openSync, writeSync, fdatasyncSync, closeSync, write as fs_write, fdatasync as fs_fdatasync } from 'node:fs';
import { bet, durable, RS_OK, type Wallet } from 'exwallet';
import type { MapWallet } from './peers/map_wallet.js';
import type { BetBody } from './bodies.js';
import { per_second } from './lib.js';

export type GroupMode = 'awaited' | 'pipelined';

export interface TimedLoop {
  calls: number;
  ok: number;
  first_failure: string;
  elapsed_ms: number;
  calls_per_s: number;
  /** durable() calls (or group fsyncs of peer (a')) made by the loop. */
  groups: number;
}

const next_turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export async function loop_exwallet_awaited(wallet: Wallet, bodies: BetBody[], from: number, to: number, group: number): Promise<TimedLoop> {
  let ok = 0;
  let first_failure = '';
  let groups = 0;
  let in_group = 0;
  const started_ms = performance.now();
  for (let i = from; i < to; i++) {
    const response = bet(wallet, bodies[i]);
    if (response.status === RS_OK) ok++;
    else if (first_failure === '') first_failure = response.status;
    if (++in_group === group) {
      in_group = 0;
      groups++;
      await durable(wallet);
    }
  }
  if (in_group > 0) {
    groups++;
    await durable(wallet);
  }
  const elapsed_ms = performance.now() - started_ms;
  return { calls: to - from, ok, first_failure, elapsed_ms, calls_per_s: per_second(ok, elapsed_ms), groups };
}

export async function loop_exwallet_pipelined(wallet: Wallet, bodies: BetBody[], from: number, to: number, group: number): Promise<TimedLoop> {
  let ok = 0;
  let first_failure = '';
  let groups = 0;
  let last: Promise<void> = Promise.resolve();
  const started_ms = performance.now();
  for (let i = from; i < to;) {
    const end = Math.min(to, i + group);
    for (; i < end; i++) {
      const response = bet(wallet, bodies[i]);
      if (response.status === RS_OK) ok++;
      else if (first_failure === '') first_failure = response.status;
    }
    groups++;
    last = durable(wallet); // resolves in ticket order: the last one covers all
    await next_turn();
  }
  await last;
  const elapsed_ms = performance.now() - started_ms;
  return { calls: to - from, ok, first_failure, elapsed_ms, calls_per_s: per_second(ok, elapsed_ms), groups };
}

export const PACED_BATCH_MAX = 100;

export interface PacedLoop extends TimedLoop {
  rate_target: number | null;
  /** answer → durable resolved, ms, one per call. */
  latencies_ms: Float64Array;
}

/** Calls at `rate` per second (null: as fast as possible) for `calls` calls. */
export async function loop_exwallet_paced(wallet: Wallet, bodies: BetBody[], calls: number, rate: number | null): Promise<PacedLoop> {
  const answered_ms = new Float64Array(calls);
  const latencies_ms = new Float64Array(calls);
  let ok = 0;
  let first_failure = '';
  let groups = 0;
  let last: Promise<void> = Promise.resolve();
  const started_ms = performance.now();
  for (let i = 0; i < calls;) {
    const due = rate === null ? calls : Math.min(calls, Math.floor(((performance.now() - started_ms) * rate) / 1000) + 1);
    const end = Math.min(due, i + PACED_BATCH_MAX);
    if (end > i) {
      const from = i;
      for (; i < end; i++) {
        const response = bet(wallet, bodies[i]);
        answered_ms[i] = performance.now();
        if (response.status === RS_OK) ok++;
        else if (first_failure === '') first_failure = response.status;
      }
      groups++;
      last = durable(wallet).then(() => {
        const now_ms = performance.now();
        for (let k = from; k < end; k++) latencies_ms[k] = now_ms - answered_ms[k];
      });
    }
    await next_turn();
  }
  await last;
  const elapsed_ms = performance.now() - started_ms;
  return { calls, ok, first_failure, elapsed_ms, calls_per_s: per_second(ok, elapsed_ms), groups, rate_target: rate, latencies_ms };
}

// ---------------------------------------------------------------------------
// Peer (a'): the Map wallet, one JSON line per applied bet appended to a
// file, one write + one fdatasync per group.

function journal_line(body: BetBody, balance: number): string {
  return JSON.stringify({
    kind: 'bet', transaction_uuid: body.transaction_uuid, request_uuid: body.request_uuid, user: body.user,
    currency: body.currency, amount: body.amount, balance, game_code: body.game_code, round: body.round,
  }) + '\n';
}

export interface FileLoop extends TimedLoop {
  bytes: number;
}

/** Stop-and-wait: the group's lines, one writeSync, one fdatasyncSync. */
export function loop_map_awaited(wallet: MapWallet, bodies: BetBody[], from: number, to: number, group: number, path: string): FileLoop {
  const fd = openSync(path, 'a');
  let ok = 0;
  let first_failure = '';
  let groups = 0;
  let bytes = 0;
  let pending = '';
  let in_group = 0;
  const flush = (): void => {
    bytes += writeSync(fd, pending);
    fdatasyncSync(fd);
    pending = '';
    in_group = 0;
    groups++;
  };
  const started_ms = performance.now();
  for (let i = from; i < to; i++) {
    const body = bodies[i];
    const response = wallet.bet(body);
    if (response.status === RS_OK) {
      ok++;
      pending += journal_line(body, response.balance as number);
    } else if (first_failure === '') first_failure = response.status;
    if (++in_group === group) flush();
  }
  if (in_group > 0) flush();
  const elapsed_ms = performance.now() - started_ms;
  closeSync(fd);
  return { calls: to - from, ok, first_failure, elapsed_ms, calls_per_s: per_second(ok, elapsed_ms), groups, bytes };
}

/** Group commit in plain Node: the write and fdatasync run on libuv's pool
 *  while the loop goes on; the lines of every group that arrived meanwhile
 *  go out together in the next write (at most one flush in flight). */
export async function loop_map_pipelined(wallet: MapWallet, bodies: BetBody[], from: number, to: number, group: number, path: string): Promise<FileLoop> {
  const fd = openSync(path, 'a');
  let ok = 0;
  let first_failure = '';
  let groups = 0;
  let bytes = 0;
  let pending: string[] = [];
  let in_flight: Promise<void> | undefined;
  const flush = (): Promise<void> => {
    const chunk = Buffer.from(pending.join(''), 'utf8');
    pending = [];
    groups++;
    return new Promise<void>((resolve, reject) => {
      fs_write(fd, chunk, 0, chunk.length, null, (error, written) => {
        if (error) return reject(error);
        bytes += written;
        fs_fdatasync(fd, (sync_error) => (sync_error ? reject(sync_error) : resolve()));
      });
    });
  };
  const kick = (): void => {
    if (in_flight || pending.length === 0) return;
    in_flight = flush().then(() => {
      in_flight = undefined;
      kick();
    });
  };
  const started_ms = performance.now();
  for (let i = from; i < to;) {
    const end = Math.min(to, i + group);
    let lines = '';
    for (; i < end; i++) {
      const body = bodies[i];
      const response = wallet.bet(body);
      if (response.status === RS_OK) {
        ok++;
        lines += journal_line(body, response.balance as number);
      } else if (first_failure === '') first_failure = response.status;
    }
    pending.push(lines);
    kick();
    await next_turn();
  }
  while (in_flight || pending.length > 0) {
    kick();
    await in_flight;
  }
  const elapsed_ms = performance.now() - started_ms;
  closeSync(fd);
  return { calls: to - from, ok, first_failure, elapsed_ms, calls_per_s: per_second(ok, elapsed_ms), groups, bytes };
}
