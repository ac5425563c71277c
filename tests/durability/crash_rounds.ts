// One crash round, shared by the SIGKILL test (tests/durability.test.ts) and
// the long crash runner (crash_cli.ts, `npm run crash`): run load_child.js on
// a data directory, SIGKILL it, then recover the directory in this process
// and check it against every answer the child acknowledged.
//
// The checks of check_recovered (none uses an assertion library: each
// finding is a violation string, so that a long run can count them):
//   - start({ dataDir }) recovers (the dead child's lock is taken over)
//   - every acknowledged RS_OK answer is there: a duplicate of its request
//     replays it exactly (status, user, request_uuid, currency, balance)
//   - audit(wallet).ok: every balance is recomputed from the recovered
//     ledger and agrees (money conserved per user over what was recovered)
//   - no user's balance is negative
//   - stats(wallet).transactions >= the acknowledged transactions replayed
// Only the public API: the files' format is the library's business.

import { spawn } from 'node:child_process';
import { start, audit, stats, close, RS_OK, type Wallet, type WalletResponse } from 'exwallet';
import { bet, win, rollback, balance } from '../../tools/untyped.js';
import { USERS, type Acked } from './load_shared.js';

export interface Killed {
  acked: Acked[];
  /** The child said it was ready (its wallet was open and loaded) before the kill. */
  ready: boolean;
  /** ms from spawn to ready (-1: killed before). */
  startup_ms: number;
  /** ms the child ran under load before the kill (-1: killed before ready). */
  loaded_ms: number;
}

export interface KillOptions {
  /** Worker threads of the child (default 2). */
  workers?: number;
  /** Count kill_after_ms from the child's "ready" (default), or from its
   *  spawn: a kill that can land in start(), recovery or createUsers. */
  from?: 'ready' | 'spawn';
  /** The child acknowledges each batch before durable() resolved for it
   *  (load_child.ts): the checks must find lost answers. */
  canary?: boolean;
  /** Give up on a child not ready this long after spawn (default 30 s). */
  ready_deadline_ms?: number;
  /** The child's maxTransactions (default 2M: no rotation); a small window
   *  rotates all the time, and the child settles most bets so that it can. */
  window?: number;
  /** The rotator lingers this long between the steps of a retirement (a kill lands inside one). */
  rotation_stall_ms?: number;
}

const CHILD = new URL('./load_child.js', import.meta.url);

/** Run load_child.js on `dir` and SIGKILL it `kill_after_ms` after it is
 *  ready (or after its spawn). Rejects if the child exits by itself. */
export function run_and_kill(dir: string, seed: number, kill_after_ms: number, options: KillOptions = {}): Promise<Killed> {
  const workers = options.workers ?? 2;
  const from = options.from ?? 'ready';
  return new Promise((resolve, reject) => {
    const spawned_ms = performance.now();
    const args = [CHILD.pathname, dir, String(seed), String(workers), options.canary ? 'canary' : 'acked'];
    if (options.window !== undefined) args.push(String(options.window), String(options.rotation_stall_ms ?? 0));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    let errors = '';
    let ready_ms = -1;
    let killed_ms = -1;
    const acked: Acked[] = [];
    const kill = (): void => {
      killed_ms = performance.now();
      child.kill('SIGKILL');
    };
    const deadline = setTimeout(() => {
      kill();
      reject(new Error(`the loaded child never became ready: ${errors}`));
    }, options.ready_deadline_ms ?? 30_000);
    let kill_timer: NodeJS.Timeout | undefined;
    if (from === 'spawn') kill_timer = setTimeout(kill, kill_after_ms);
    child.stderr.on('data', (chunk) => (errors += chunk));
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        // A line cut by the kill has no newline: the client never got it.
        const parsed = JSON.parse(line) as Acked | { ready: true };
        if ('ready' in parsed) {
          ready_ms = performance.now();
          clearTimeout(deadline);
          if (from === 'ready') kill_timer = setTimeout(kill, kill_after_ms);
        } else {
          acked.push(parsed);
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      clearTimeout(kill_timer);
      if (signal !== 'SIGKILL') {
        reject(new Error(`the child exited by itself (code ${code}, signal ${signal}): ${errors.trim()}`));
        return;
      }
      const ready = ready_ms >= 0 && ready_ms <= killed_ms;
      resolve({
        acked, ready,
        startup_ms: ready ? Math.round(ready_ms - spawned_ms) : -1,
        loaded_ms: ready ? Math.round(killed_ms - ready_ms) : -1,
      });
    });
  });
}

export interface RecoveryCheck {
  /** Empty when every check passed. */
  violations: string[];
  /** Acknowledged RS_OK answers replayed (each compared with what was acknowledged). */
  replayed: number;
  /** Of those, replayed differently or not at all (lost). */
  lost: number;
  /** Transactions the wallet recovered (stats.transactions). */
  transactions: number;
  /** Wall time of start({ dataDir }): lock, scan, replay of the journal, flusher start. */
  recovery_ms: number;
}

/** The request_uuid of every replay: a retry of the original request. */
const REPLAY_REQUEST_UUID = '99999999-0000-4000-8000-000000000000';
const EXAMPLES_MAX = 5;

function same_answer(a: WalletResponse, b: WalletResponse): boolean {
  const keys = Object.keys(b);
  if (Object.keys(a).length !== keys.length) return false;
  for (const key of keys) if ((a as unknown as Record<string, unknown>)[key] !== (b as unknown as Record<string, unknown>)[key]) return false;
  return true;
}

/** Recover `dir` in this process and check it against what was acknowledged
 *  (see the top of this file). Closes the wallet again. */
export async function check_recovered(dir: string, acked: readonly Acked[], context: string): Promise<RecoveryCheck> {
  const violations: string[] = [];
  const result: RecoveryCheck = { violations, replayed: 0, lost: 0, transactions: 0, recovery_ms: 0 };
  const started_ms = performance.now();
  let wallet: Wallet;
  try {
    wallet = start({ dataDir: dir });
  } catch (error) {
    violations.push(`${context}: start({ dataDir }) failed: ${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
    return result;
  }
  result.recovery_ms = performance.now() - started_ms;
  try {
    const report = audit(wallet);
    if (!report.ok) violations.push(`${context}: audit: ${report.findings.join('; ')}`);

    // Money per user: audit recomputed every balance from the recovered
    // ledger above; none may be negative. (A user missing is no finding: a
    // kill can land before createUsers; a missing user's acknowledged
    // answers fail their replays below.)
    for (const user of USERS) {
      const now = balance(wallet, { user, request_uuid: REPLAY_REQUEST_UUID }).balance;
      if (typeof now === 'number' && now < 0) violations.push(`${context}: ${user}: balance ${String(now)}`);
    }

    // Every acknowledged answer is there, and a duplicate replays it exactly.
    let lost = 0;
    for (const answer of acked) {
      if (answer.response.status !== RS_OK) continue;
      const call = answer.kind === 'bet' ? bet : answer.kind === 'win' ? win : rollback;
      const again = call(wallet, { ...answer.body, request_uuid: REPLAY_REQUEST_UUID });
      result.replayed++;
      if (!same_answer(again, answer.response) && lost++ < EXAMPLES_MAX) {
        violations.push(`${context}: acknowledged ${answer.kind} ${answer.transaction_uuid}: was ${JSON.stringify(answer.response)}, replays ${JSON.stringify(again)}`);
      }
    }
    result.lost = lost;
    if (lost > EXAMPLES_MAX) violations.push(`${context}: ... ${lost - EXAMPLES_MAX} more acknowledged answers lost or changed`);

    const figures = stats(wallet);
    result.transactions = figures.transactions;
    if (figures.transactions < result.replayed) {
      violations.push(`${context}: ${figures.transactions} transactions recovered, fewer than the ${result.replayed} acknowledged`);
    }
  } catch (error) {
    violations.push(`${context}: the check threw: ${(error as Error).stack ?? String(error)}`);
  } finally {
    await close(wallet);
  }
  return result;
}
