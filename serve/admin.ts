// The admin HTTP server, in the main thread, bound to 127.0.0.1 only:
//   POST /admin/users               create users (JSON array of {user,currency,balance}); existing ones left alone
//   GET  /admin/stats               the library's stats(wallet)
//   GET  /admin/transactions/<uuid> lookup(wallet, uuid), 404 if unknown
//   GET  /metrics                   Prometheus text: the workers' counters, summed, and the wallet's gauges
//   GET  /healthz                   200 when every worker serves and the journal is healthy, else 503

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createUsers, stats, lookup, type Wallet } from 'exwallet';
import { AggregatorRegistry, Registry, Gauge, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { parse_users_array, UsersFileError } from './users_file.js';
import type { Logger } from './log.js';

export type WorkerMetricsJSON = MetricObjectWithValues<MetricValue<string>>[];

const ADMIN_BODY_BYTES_MAX = 16 * 1024 * 1024;

export interface AdminContext {
  wallet: Wallet;
  log: Logger;
  /** Every worker serving, not draining. */
  serving(): boolean;
  workers_serving(): number;
  /** Each live worker's registry.getMetricsAsJSON(), within a deadline. */
  worker_metrics(): Promise<WorkerMetricsJSON[]>;
}

function send(response: ServerResponse, code: number, body: unknown, type = 'application/json; charset=utf-8'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2) + '\n';
  response.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** The wallet's own figures, as gauges read at scrape time. */
function wallet_registry(context: AdminContext): Registry {
  const registry = new Registry();
  const gauge = (name: string, help: string, read: (s: ReturnType<typeof stats>) => number) => new Gauge({
    name, help, registers: [registry],
    collect() { this.set(read(stats(context.wallet))); },
  });
  gauge('exwallet_users', 'Users in the wallet', (s) => s.users);
  gauge('exwallet_users_max', 'Users the wallet can hold (--max-users)', (s) => s.usersMax);
  gauge('exwallet_transactions_applied', 'Transactions applied over the wallet\'s life', (s) => s.transactions);
  gauge('exwallet_open_bets', 'Bets neither won nor rolled back', (s) => s.openBets);
  gauge('exwallet_budget', 'The transaction budget (--max-transactions)', (s) => s.budget);
  gauge('exwallet_budget_used', 'Budget units used: applied transactions + the settlement reserve of open bets', (s) => s.budgetUsed);
  gauge('exwallet_table_fill_ratio', 'budget_used / budget: new bets are refused (RS_ERROR_UNKNOWN) near 1', (s) => s.tableFill);
  gauge('exwallet_bytes_fallbacks', 'Transaction bodies the WASM bytes path handed to JSON.parse (nesting, bad input, unknown users): same answers, slower', (s) => s.bytesFallbacks);
  gauge('exwallet_thread_slots_in_use', 'Thread slots attached', (s) => s.threadSlotsInUse);
  gauge('exwallet_durable_lag_records', 'Journal records written by calls and not yet taken by the flusher', (s) => s.journalPendingRecords);
  gauge('exwallet_durable_lag_epochs', 'Open epoch minus the last epoch on stable storage', (s) => s.durable ? s.openEpoch - s.durableEpoch : 0);
  gauge('exwallet_journal_failed', '1 when the journal failed (fail-stop: restart to recover)', (s) => s.journalFailed ? 1 : 0);
  gauge('exwallet_workers_serving', 'Worker threads serving the Hub88 port', () => context.workers_serving());
  return registry;
}

function read_body(request: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) { resolve(undefined); request.destroy(); return; }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', () => resolve(undefined));
  });
}

async function handle(context: AdminContext, gauges: Registry, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '').split('?', 1)[0]!;
  const method = request.method ?? '';
  const only = (allowed: string): boolean => {
    if (method === allowed || (allowed === 'GET' && method === 'HEAD')) return true;
    response.setHeader('allow', allowed);
    send(response, 405, { error: `${allowed} only` });
    return false;
  };
  if (path === '/healthz') {
    if (!only('GET')) return;
    const s = stats(context.wallet);
    const ok = context.serving() && !s.journalFailed;
    return send(response, ok ? 200 : 503, { ok, workersServing: context.workers_serving(), journalFailed: s.journalFailed });
  }
  if (path === '/metrics') {
    if (!only('GET')) return;
    const per_worker = await context.worker_metrics();
    const merged = Registry.merge([AggregatorRegistry.aggregate(per_worker), gauges]);
    return send(response, 200, await merged.metrics(), merged.contentType);
  }
  if (path === '/admin/stats') {
    if (!only('GET')) return;
    return send(response, 200, stats(context.wallet));
  }
  if (path.startsWith('/admin/transactions/')) {
    if (!only('GET')) return;
    const uuid = decodeURIComponent(path.slice('/admin/transactions/'.length));
    const record = lookup(context.wallet, uuid);
    return record === undefined ? send(response, 404, { error: `no transaction ${uuid.slice(0, 100)}` }) : send(response, 200, record);
  }
  if (path === '/admin/users') {
    if (!only('POST')) return;
    const bytes = await read_body(request, ADMIN_BODY_BYTES_MAX);
    if (bytes === undefined) return send(response, 413, { error: `body over ${ADMIN_BODY_BYTES_MAX} bytes` });
    let records;
    try {
      records = parse_users_array(JSON.parse(bytes.toString('utf8')));
    } catch (error) {
      return send(response, 400, { error: error instanceof UsersFileError ? error.message : 'the body is not JSON' });
    }
    const before = stats(context.wallet).users;
    try {
      createUsers(context.wallet, records);
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      const http = code === 'EXWALLET_BAD_USER_ENTRY' ? 400 : code.endsWith('_FULL') ? 409 : 500;
      if (http === 500) context.log.error({ event: 'create_users_failed', code, err: (error as Error).message });
      return send(response, http, { error: (error as Error).message, code });
    }
    const after = stats(context.wallet).users;
    context.log.info({ event: 'users_created', created: after - before, given: records.length });
    return send(response, 200, { created: after - before, given: records.length, users: after });
  }
  send(response, 404, { error: `no route ${path.slice(0, 200)}` });
}

export function create_admin_server(context: AdminContext): Server {
  const gauges = wallet_registry(context);
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (request, response) => {
    handle(context, gauges, request, response).catch((error: Error) => {
      context.log.error({ event: 'admin_error', err: error.stack });
      if (!response.headersSent) send(response, 500, { error: error.message });
      else response.destroy();
    });
  });
  return server;
}
