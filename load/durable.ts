// The durable side of a load run (--data-dir): checking the directory before
// the run, and the restart-and-verify step after it. The wallet is closed
// (everything flushed, the directory's lock released), started again on the
// same directory, and checked against what the run acknowledged:
//
//   every sampled acknowledged transaction is there: a retry of its request
//     gets the same answer (status, request_uuid, currency, balance)
//   every user's balance is the one it had before the restart (close wrote
//     everything: nothing applied may be missing, nothing may be added)
//   as many transactions as were applied, audit(wallet).ok (money conserved
//     per user over the recovered ledger), no negative balance

import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { start, close, audit, stats, bet, win, rollback, balance, type Wallet, type WalletResponse } from 'exwallet';
import { K_BET, K_WIN } from './mix.js';
import type { AckedSample } from './messages.js';

/** Acknowledged transactions replayed after the restart, at most (all if fewer). */
export const RESTART_SAMPLES_MAX = 20_000;
const EXAMPLES_MAX = 5;
/** The request_uuid of every replay: a retry of the original request. */
const REPLAY_REQUEST_UUID = 'ffffffff-0000-4000-8000-000000000000';

/** Make `path` a directory for a load run's wallet, or say why it cannot be
 *  one: it must be new or empty (the run creates its users at their initial
 *  balance). Creates it and its missing parents, one level at a time: Node
 *  20's mkdirSync(path, { recursive: true }) never returns for some paths
 *  (/proc/x: mkdir answers ENOENT under an existing parent, and it retries). */
export function prepare_data_dir(path: string): string | undefined {
  const absolute = resolve(path);
  const missing: string[] = [];
  for (let at = absolute; !existsSync(at); at = dirname(at)) missing.unshift(at);
  try {
    for (const level of missing) mkdirSync(level);
  } catch (error) {
    return `--data-dir ${path}: ${(error as Error).message}`;
  }
  if (!statSync(absolute).isDirectory()) return `--data-dir ${path} is not a directory`;
  if (readdirSync(absolute).length > 0) return `--data-dir ${path} is not empty: a load run needs a new or empty directory (it creates its own wallet there)`;
  return undefined;
}

export interface RestartFigures {
  ok: boolean;
  /** What went wrong outside the checks (close or start threw). */
  error?: string;
  close_ms: number;
  /** Wall time of start({ dataDir }) on the closed wallet's directory. */
  recovery_ms: number;
  data_dir_bytes: number;
  transactions_before: number;
  transactions_recovered: number;
  /** Acknowledged transactions the workers applied, and how many of them were replayed. */
  acknowledged_transactions: number;
  sampled: number;
  replay_mismatches: number;
  users_checked: number;
  balance_mismatches: number;
  negative_balances: number;
  audit_ok: boolean;
  audit_findings: string[];
  examples: string[];
}

function same_answer(a: WalletResponse, b: WalletResponse): boolean {
  return (
    a.status === b.status && a.user === b.user && a.request_uuid === b.request_uuid &&
    a.currency === b.currency && a.balance === b.balance && Object.keys(a).length === Object.keys(b).length
  );
}

function directory_bytes(path: string): number {
  let bytes = 0;
  for (const name of readdirSync(path)) {
    const stat = statSync(join(path, name), { throwIfNoEntry: false });
    if (stat?.isFile()) bytes += stat.size;
  }
  return bytes;
}

/** Close `wallet`, start it again on `data_dir`, check the recovery (see the
 *  top of this file), close it again. Never throws: a failure is in the figures. */
export async function restart_and_verify(
  wallet: Wallet, data_dir: string, users: readonly string[], balances_before: Float64Array,
  samples: readonly AckedSample[], acknowledged_transactions: number,
): Promise<RestartFigures> {
  const figures: RestartFigures = {
    ok: false, close_ms: 0, recovery_ms: 0, data_dir_bytes: 0, transactions_before: 0, transactions_recovered: 0,
    acknowledged_transactions, sampled: 0, replay_mismatches: 0, users_checked: 0, balance_mismatches: 0,
    negative_balances: 0, audit_ok: false, audit_findings: [], examples: [],
  };
  let again: Wallet | undefined;
  try {
    figures.transactions_before = stats(wallet).transactions;
    const closing_ms = performance.now();
    await close(wallet);
    figures.close_ms = performance.now() - closing_ms;
    figures.data_dir_bytes = directory_bytes(data_dir);
    const starting_ms = performance.now();
    again = start({ dataDir: data_dir });
    figures.recovery_ms = performance.now() - starting_ms;
    figures.transactions_recovered = stats(again).transactions;

    for (let u = 0; u < users.length; u++) {
      const now = balance(again, { user: users[u], request_uuid: REPLAY_REQUEST_UUID }).balance ?? NaN;
      figures.users_checked++;
      if (now < 0) figures.negative_balances++;
      if (now !== balances_before[u]) {
        figures.balance_mismatches++;
        if (figures.examples.length < EXAMPLES_MAX) figures.examples.push(`${users[u]}: balance ${now} after the restart, ${balances_before[u]} before`);
      }
    }
    for (const sample of samples) {
      const call = sample.kind === K_BET ? bet : sample.kind === K_WIN ? win : rollback;
      const replayed = call(again, { ...(sample.body as object), request_uuid: REPLAY_REQUEST_UUID } as never);
      figures.sampled++;
      if (!same_answer(replayed, sample.answer)) {
        figures.replay_mismatches++;
        if (figures.examples.length < EXAMPLES_MAX) {
          figures.examples.push(`acknowledged ${JSON.stringify(sample.answer)}, after the restart ${JSON.stringify(replayed)}`);
        }
      }
    }
    const report = audit(again);
    figures.audit_ok = report.ok;
    figures.audit_findings = report.findings.slice(0, EXAMPLES_MAX);
    figures.ok = figures.audit_ok && figures.replay_mismatches === 0 && figures.balance_mismatches === 0 &&
      figures.negative_balances === 0 && figures.transactions_recovered === figures.transactions_before;
  } catch (error) {
    figures.ok = false;
    figures.error = `${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message}`;
  } finally {
    if (again !== undefined) await close(again).catch(() => {});
  }
  return figures;
}
