// A child process of the durable suite's recovery figure: fill a durable
// wallet with `checkpointed` bets and close it (close folds the journal into
// a checkpoint), reopen it, add `tail` bets, wait for durable(), and exit
// WITHOUT close: a crash after every answer was durable. The parent then
// times start({ dataDir }) on what is left (checkpoint + journal tail).
//
//   node durable_fill.js '{"dir":…,"users":10000,"seed":1,"checkpointed":3000000,"tail":1000000}'

import { start, createUsers, close, type Wallet } from 'exwallet';
import { Random } from '../tools/random.js';
import { bet_bodies, user_names, CURRENCY, INITIAL_BALANCE_UNITS } from './bodies.js';
import { durable_budget_for_open_bets } from './lib.js';
import { users_max_for } from './throughput.js';
import { loop_exwallet_pipelined } from './durable_loops.js';

const input = JSON.parse(process.argv[2]) as { dir: string; users: number; seed: number; checkpointed: number; tail: number };
const users = user_names(input.users);
const options = {
  dataDir: input.dir, maxUsers: users_max_for(users.length), maxTransactions: durable_budget_for_open_bets(input.checkpointed + input.tail), maxThreads: 16,
  initialBalance: INITIAL_BALANCE_UNITS, currency: CURRENCY,
};
const rng = new Random(input.seed, 900);

async function fill(wallet: Wallet, n: number): Promise<void> {
  for (let done = 0; done < n;) {
    const count = Math.min(100_000, n - done);
    const bodies = bet_bodies(rng, users, count);
    const r = await loop_exwallet_pipelined(wallet, bodies, 0, count, 1000); // ends with durable()
    if (r.ok !== count) throw new Error(`fill: ${count - r.ok} of ${count} bets not RS_OK (first: ${r.first_failure})`);
    done += count;
  }
}

const t0 = performance.now();
let wallet = start(options);
createUsers(wallet, users);
if (input.checkpointed > 0) {
  await fill(wallet, input.checkpointed);
  await close(wallet);
  wallet = start({ dataDir: input.dir });
}
const t1 = performance.now();
await fill(wallet, input.tail);
const t2 = performance.now();
process.stdout.write(JSON.stringify({ checkpointed_ms: Math.round(t1 - t0), tail_ms: Math.round(t2 - t1) }) + '\n', () => process.exit(0));
