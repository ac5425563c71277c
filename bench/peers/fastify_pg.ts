// Peer for bench/serve.ts: the Hub88 bet endpoint an operator would otherwise
// write — fastify + PostgreSQL, the same X-Hub88-Signature check (RSA-SHA256
// over the exact body bytes, base64), one transaction per bet:
//
//   BEGIN
//   SELECT balance, currency FROM users WHERE name = $1 FOR UPDATE
//   INSERT INTO transactions (uuid PRIMARY KEY, …) ON CONFLICT (uuid) DO NOTHING
//     → 0 rows: ROLLBACK, answer the stored transaction (a replay)
//   UPDATE users SET balance = $2 WHERE name = $1
//   COMMIT                         (the server runs synchronous_commit = on, fsync = on)
//
// A pg.Pool of --pool connections per process (named prepared statements).
// --workers N > 1 runs node:cluster with N worker processes on one port (the
// primary round-robins connections), each with its own pool.
//
//   node out/bench/peers/fastify_pg.js --pg-port P --key hub88.pub.pem [--port 0] [--workers 2] [--pool 16]
//
// Prints `fastify_pg: ready on http://127.0.0.1:PORT` on stdout.

import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createPublicKey, verify } from 'node:crypto';
import { createServer } from 'node:net';
import Fastify from 'fastify';
import pg from 'pg';
import { parse_flags, integer_flag } from '../../tools/cli.js';
import { SELECT, INSERT, UPDATE } from './postgres.js';

const flags = parse_flags(process.argv.slice(2), {
  'pg-port': { type: 'string' }, key: { type: 'string' }, port: { type: 'string' }, workers: { type: 'string' }, pool: { type: 'string' },
});
const workers = integer_flag('workers', flags.workers, 2, 1, 64);
const pool_size = integer_flag('pool', flags.pool, 16, 1, 200);
const pg_port = integer_flag('pg-port', flags['pg-port'], 5432, 1, 65535);

function free_port(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

if (cluster.isPrimary && workers > 1) {
  let port = integer_flag('port', flags.port, 0, 0, 65535);
  if (port === 0) port = await free_port();
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork({ FASTIFY_PG_PORT: String(port) });
    worker.on('message', (message: unknown) => {
      if (message === 'ready' && ++ready === workers) console.log(`fastify_pg: ready on http://127.0.0.1:${port}, ${workers} processes`);
    });
  }
  let stopping = false;
  cluster.on('exit', (_worker, code, signal) => {
    if (!stopping) { console.error(`fastify_pg: a worker exited (${code ?? signal})`); process.exit(1); }
  });
  const stop = (): void => { stopping = true; for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM'); setTimeout(() => process.exit(0), 500); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const key = createPublicKey(readFileSync(flags.key ?? 'hub88.pub.pem', 'utf8'));
  const pool = new pg.Pool({ host: '127.0.0.1', port: pg_port, user: 'postgres', password: 'bench', database: 'postgres', max: pool_size });
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const STORED = { name: 'stored_tx', text: 'SELECT t.balance_after, u.currency FROM transactions t JOIN users u ON u.name = t.user_name WHERE t.uuid = $1' };

  interface Bet { user: string; currency: string; amount: number; transaction_uuid: string; request_uuid: string; game_code?: string; round?: string }

  async function bet(body: Bet): Promise<Record<string, unknown>> {
    const base = { user: body.user, request_uuid: body.request_uuid };
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const found = await client.query({ ...SELECT, values: [body.user] });
      const user = found.rows[0] as { balance: string; currency: string } | undefined;
      if (!user) { await client.query('ROLLBACK'); return { ...base, status: 'RS_ERROR_UNKNOWN' }; }
      if (user.currency !== body.currency) { await client.query('ROLLBACK'); return { ...base, status: 'RS_ERROR_WRONG_CURRENCY' }; }
      const balance = Number(user.balance);
      if (balance < body.amount) { await client.query('ROLLBACK'); return { ...base, status: 'RS_ERROR_NOT_ENOUGH_MONEY' }; }
      const after = balance - body.amount;
      const inserted = await client.query({
        ...INSERT, values: [body.transaction_uuid, body.user, body.amount, body.request_uuid, after, body.game_code ?? null, body.round ?? null],
      });
      if (inserted.rowCount === 0) {
        await client.query('ROLLBACK');
        const stored = (await client.query({ ...STORED, values: [body.transaction_uuid] })).rows[0] as { balance_after: string; currency: string };
        return { ...base, status: 'RS_OK', currency: stored.currency, balance: Number(stored.balance_after) };
      }
      await client.query({ ...UPDATE, values: [body.user, after] });
      await client.query('COMMIT');
      return { ...base, status: 'RS_OK', currency: user.currency, balance: after };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  // The signature is over the exact bytes: take the body as a Buffer, verify, then parse.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  app.post('/transaction/bet', async (request) => {
    const bytes = request.body as Buffer;
    const header = request.headers['x-hub88-signature'];
    let valid = false;
    if (typeof header === 'string' && header.length > 0 && header.length <= 4096) {
      try { valid = verify('sha256', bytes, key, Buffer.from(header, 'base64')); } catch { valid = false; }
    }
    let body: Bet;
    try { body = JSON.parse(bytes.toString('utf8')) as Bet; } catch { return { user: '', status: 'RS_ERROR_WRONG_SYNTAX', request_uuid: '' }; }
    if (!valid) return { user: body.user ?? '', status: 'RS_ERROR_INVALID_SIGNATURE', request_uuid: body.request_uuid ?? '' };
    if (typeof body.user !== 'string' || typeof body.currency !== 'string' || !Number.isSafeInteger(body.amount) || body.amount < 0 ||
        typeof body.transaction_uuid !== 'string' || !UUID.test(body.transaction_uuid) || typeof body.request_uuid !== 'string') {
      return { user: body.user ?? '', status: 'RS_ERROR_WRONG_TYPES', request_uuid: body.request_uuid ?? '' };
    }
    try {
      return await bet(body);
    } catch {
      return { user: body.user, status: 'RS_ERROR_UNKNOWN', request_uuid: body.request_uuid };
    }
  });
  const port = Number(process.env.FASTIFY_PG_PORT ?? integer_flag('port', flags.port, 0, 0, 65535));
  const address = await app.listen({ port, host: '127.0.0.1' });
  // warm the pool: open every connection before the load starts
  const clients = await Promise.all(Array.from({ length: pool_size }, () => pool.connect()));
  for (const client of clients) client.release();
  if (cluster.isWorker) process.send!('ready');
  else console.log(`fastify_pg: ready on ${address}, 1 process`);
  const stop = (): void => { void app.close().then(() => pool.end()).then(() => process.exit(0)); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
