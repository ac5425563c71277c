// `npm run crash -- --rounds 50 --seed 7 [--workers W] [--chain C] [--kill-ms MS] [--early P]`
//
// Long crash runs, outside `npm test` (tests/durability.test.ts runs three of
// these rounds). Each round starts load_child.js (a durable wallet under
// W-worker load that prints every answer once durable() resolved for it) on
// a data directory, SIGKILLs it at a seeded random moment, recovers the
// directory in this process and checks it (crash_rounds.ts): every
// acknowledged answer is recovered and replays exactly, audit is ok, no
// balance is negative, the dead child's lock is taken over.
//
// C rounds in a row share one directory (a chain): each recovers what the
// previous ones left, crash on crash, and checks every answer the chain has
// acknowledged so far; then a fresh directory. A share P % of the kills
// count from the child's spawn instead of its "ready": they land anywhere in
// start(), recovery, createUsers or the first calls.
//
// One line per round, a summary line, exit 1 on any violation (the
// directories of a violating chain are kept, and named), 2 on bad flags.
// --canary makes the child answer before durable(): violations must follow.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse_flags, integer_flag, usage_line, UsageError, EXIT_USAGE } from '../../tools/cli.js';
import { Random, hash_u32 } from '../../tools/random.js';
import { run_and_kill, check_recovered } from './crash_rounds.js';
import type { Acked } from './load_shared.js';

const PROGRAM = 'crash';
const USAGE = `Usage: npm run crash -- [options]

SIGKILLs a durable wallet under load, again and again, and checks after each
kill that everything it acknowledged was recovered (see tests/durability/crash_cli.ts).

Options:
  --rounds N      rounds (kills) to run (default: 30)
  --seed K        seed of the kill moments and of the children's loads (default: 7)
  --workers W     worker threads of the loaded child (default: 2)
  --chain C       rounds in a row on one data directory, each recovering the last (default: 5)
  --kill-ms MS    a kill lands 1..MS ms after the child is ready (default: 1000)
  --early P       percent of kills counted from the child's spawn instead: in its
                  start(), recovery or createUsers (default: 15)
  --window N      the child's maxTransactions: a small window rotates all the time, so
                  kills land in rotations (default: 2,000,000, no rotation)
  --stall MS      with --window: the rotator lingers MS ms between the steps of a
                  retirement, so that more kills land inside one (default: 0)
  --canary        the child acknowledges each batch BEFORE durable() resolved for it:
                  the run must then find violations (proves that the checks can fail)
  -h, --help      show this help

Exit code: 0 no violation, 1 a violation (its directory is kept), 2 bad flags.`;

const FLAGS = {
  rounds: { type: 'string' },
  seed: { type: 'string' },
  workers: { type: 'string' },
  chain: { type: 'string' },
  'kill-ms': { type: 'string' },
  early: { type: 'string' },
  window: { type: 'string' },
  stall: { type: 'string' },
  canary: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

interface CrashOptions {
  rounds: number;
  seed: number;
  workers: number;
  chain: number;
  kill_ms: number;
  early_percent: number;
  canary: boolean;
  window: number | undefined;
  stall_ms: number;
  help: boolean;
}

function parse(argv: readonly string[]): CrashOptions {
  const values = parse_flags(argv, FLAGS);
  return {
    rounds: integer_flag('rounds', values.rounds, 30, 1, 1_000_000),
    seed: integer_flag('seed', values.seed, 7, 0, 0xffff_ffff),
    workers: integer_flag('workers', values.workers, 2, 1, 14),
    chain: integer_flag('chain', values.chain, 5, 1, 1000),
    kill_ms: integer_flag('kill-ms', values['kill-ms'], 1000, 1, 600_000),
    early_percent: integer_flag('early', values.early, 15, 0, 100),
    canary: values.canary === true,
    window: values.window === undefined ? undefined : integer_flag('window', values.window, 0, 64, 1 << 26),
    stall_ms: integer_flag('stall', values.stall, 0, 0, 10_000),
    help: values.help === true,
  };
}

const count = (n: number): string => n.toLocaleString('en-US');

async function main(): Promise<number> {
  const options = parse(process.argv.slice(2));
  if (options.help) {
    console.log(USAGE);
    return 0;
  }
  const random = new Random(options.seed, 0xc4a5);
  const started_ms = performance.now();
  let violations = 0;
  let replayed_total = 0;
  let lost_total = 0;
  let acked_total = 0;
  let early_kills = 0;
  let unready_kills = 0;
  let recovery_ms_max = 0;
  let transactions_max = 0;
  // A kill from spawn lands within about one start-up: the last one seen.
  let startup_ms = 400;
  const kept: string[] = [];

  let dir = '';
  let chain_acked: Acked[] = [];
  let chain_violations = 0;
  const end_chain = (): void => {
    if (dir === '') return;
    if (chain_violations > 0) kept.push(dir);
    else rmSync(dir, { recursive: true, force: true });
    dir = '';
  };

  for (let round = 0; round < options.rounds; round++) {
    const link = round % options.chain;
    if (link === 0) {
      end_chain();
      dir = mkdtempSync(join(tmpdir(), 'exwallet-crash-'));
      chain_acked = [];
      chain_violations = 0;
    }
    const child_seed = hash_u32(options.seed, round);
    const early = random.below(100) < options.early_percent;
    const kill_after_ms = early ? random.below(startup_ms + 50) : 1 + random.below(options.kill_ms);
    const context = `round ${round + 1}`;
    let line = `crash ${context}/${options.rounds} chain ${Math.floor(round / options.chain) + 1}.${link + 1}: `;
    let round_violations: string[] = [];
    try {
      const killed = await run_and_kill(dir, child_seed, kill_after_ms, {
        workers: options.workers, from: early ? 'spawn' : 'ready', canary: options.canary,
        window: options.window, rotation_stall_ms: options.stall_ms,
      });
      if (early) early_kills++;
      if (killed.startup_ms >= 0) startup_ms = killed.startup_ms;
      if (!killed.ready) unready_kills++;
      line += early
        ? `killed ${kill_after_ms} ms after spawn (${killed.ready ? `${killed.loaded_ms} ms into the load` : 'before ready'})`
        : `killed ${killed.loaded_ms} ms into the load`;
      chain_acked.push(...killed.acked);
      acked_total += killed.acked.length;
      const check = await check_recovered(dir, chain_acked, context);
      round_violations = check.violations;
      replayed_total += check.replayed;
      lost_total += check.lost;
      recovery_ms_max = Math.max(recovery_ms_max, check.recovery_ms);
      transactions_max = Math.max(transactions_max, check.transactions);
      line += `; acked ${count(killed.acked.length)}; recovered ${count(check.transactions)} tx in ${check.recovery_ms.toFixed(0)} ms; ` +
        `replayed ${count(check.replayed)} acked answers of the chain; audit ${check.violations.some((v) => v.includes(': audit:')) ? 'FAILED' : 'ok'}`;
    } catch (error) {
      round_violations = [`${context}: ${(error as Error).message}`];
      line += 'the round failed';
    }
    violations += round_violations.length;
    chain_violations += round_violations.length;
    console.log(`${line}; violations ${round_violations.length}`);
    for (const violation of round_violations) console.log(`  VIOLATION ${violation}`);
  }
  end_chain();
  const seconds = (performance.now() - started_ms) / 1000;
  console.log(
    `crash total: rounds=${options.rounds} workers=${options.workers} chain=${options.chain} acked=${acked_total} ` +
    `acked_answers_checked=${replayed_total} acked_answers_lost=${lost_total} early_kills=${early_kills} killed_before_ready=${unready_kills} ` +
    `recovered_tx_max=${transactions_max} recovery_ms_max=${recovery_ms_max.toFixed(0)} ` +
    `seconds=${seconds.toFixed(1)} seed=${options.seed}${options.canary ? ' canary' : ''}${options.window ? ` window=${options.window} stall=${options.stall_ms}` : ''} violations=${violations}`,
  );
  if (options.canary) console.log(violations > 0 ? 'canary caught: the checks can fail' : 'CANARY NOT CAUGHT: no violation although answers were acknowledged early');
  for (const path of kept) console.log(`  kept ${path} (a violating chain)`);
  return violations > 0 ? 1 : 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(usage_line(PROGRAM, error.message));
      process.exitCode = EXIT_USAGE;
      return;
    }
    console.error(`crash failed: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  },
);
