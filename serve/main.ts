// exwallet serve: the Hub88 operator wallet endpoint (bin/exwallet.ts).
//
// The main thread: configuration, the wallet (start, users, share), the
// shared listening socket (bound here, accepted on by the workers only),
// the worker threads, the admin server, signals. The workers answer every
// Hub88 request directly on the shared wallet (worker.ts).
//
// A worker that dies: fail fast and loud. Its calls in flight are decided by
// audit({ deadThreadIds }) (so that durable() everywhere goes on), the others
// finish what they hold, the wallet is closed, the process exits 1; the
// supervisor restarts it on the same --data-dir. See docs/service.md.
//
// Exit codes: 0 stopped by SIGTERM/SIGINT; 1 a failure (a worker died, the
// port is taken, the data directory is locked or damaged); 2 bad flags.

import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { lookup as dns_lookup } from 'node:dns/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { start, share, createUsers, close, audit, stats, type Wallet } from 'exwallet';
import type { WorkerMetricsJSON } from './admin.js';
import { UsageError, usage_line, EXIT_USAGE } from '../tools/cli.js';
import { parse_config, PROGRAM, USAGE, type ServeConfig } from './config.js';
import { load_public_key } from './signature.js';
import { parse_users_text, type UserRecord } from './users_file.js';
import { bind_shared_socket, type BoundSocket } from './listen_socket.js';
import { create_admin_server } from './admin.js';
import { create_logger, type Logger } from './log.js';
import type { WorkerSetup, ToMain, ToWorker } from './messages.js';

const READY_DEADLINE_MS = 30_000;
/** SIGTERM to exit: the workers drain for at most this long, then the wallet closes. */
const DRAIN_DEADLINE_MS = 6_000;
/** Whatever happens, the process is gone this long after the signal. */
const EXIT_DEADLINE_MS = 9_500;
const METRICS_DEADLINE_MS = 1_000;
const HEALTH_INTERVAL_MS = 1_000;

/** A start-up failure that is not a bad flag: one line, exit 1. */
class StartError extends Error {}

interface WorkerState {
  worker: Worker;
  threadId: number;
  ready: boolean;
  drained: boolean;
  exited: boolean;
}

function read_users(file: string): UserRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--users: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  try {
    return parse_users_text(text);
  } catch (error) {
    throw new UsageError(`--users ${file}: ${(error as Error).message}`);
  }
}

function open_wallet(config: ServeConfig): Wallet {
  try {
    return start({ dataDir: config.dataDir, maxUsers: config.maxUsers, maxTransactions: config.maxTransactions });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = (error as Error).message;
    if (code === 'EXWALLET_BAD_OPTION') throw new UsageError(message);
    throw new StartError(`${code ? `${code}: ` : ''}${message}`);
  }
}

function listen_admin(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new StartError(`cannot listen on 127.0.0.1:${port} (admin): ${error.code ?? error.message}`)));
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

async function run(config: ServeConfig): Promise<number> {
  const log = create_logger(config.logLevel, { thread: 0 });
  // Everything that can be refused is checked before the wallet opens.
  if (config.publicKeyPem !== undefined) {
    try { load_public_key(config.publicKeyPem); } catch (error) {
      throw new UsageError(`--hub88-public-key: not a usable RSA public key in PEM (${(error as Error).message.split('\n')[0]})`);
    }
  }
  const users = config.usersFile === undefined ? [] : read_users(config.usersFile);
  let address: { address: string; family: number };
  try {
    address = await dns_lookup(config.host);
  } catch {
    throw new UsageError(`--host: cannot resolve "${config.host}"`);
  }
  let socket: BoundSocket;
  try {
    socket = bind_shared_socket(address.address, config.port, address.family);
  } catch (error) {
    throw new StartError(`--port: ${(error as Error).message}`);
  }

  const wallet = open_wallet(config);
  const before_users = stats(wallet).users;
  try {
    createUsers(wallet, users);
  } catch (error) {
    await close(wallet).catch(() => {});
    socket.close();
    throw new UsageError(`--users ${config.usersFile}: ${(error as Error).message}`);
  }
  const handle = share(wallet);

  const states: WorkerState[] = [];
  let stopping = false;
  let fatal = false;
  let metrics_id = 0;
  const metrics_waiters = new Map<number, { got: WorkerMetricsJSON[]; expected: number; resolve: (m: WorkerMetricsJSON[]) => void }>();

  const workers_serving = () => states.filter((s) => s.ready && !s.exited).length;
  const admin = create_admin_server({
    wallet,
    log,
    serving: () => !stopping && workers_serving() === config.workers,
    workers_serving,
    worker_metrics: () => new Promise((resolve) => {
      const id = ++metrics_id;
      const live = states.filter((s) => s.ready && !s.exited);
      if (live.length === 0) return resolve([]);
      const entry = { got: [] as WorkerMetricsJSON[], expected: live.length, resolve };
      metrics_waiters.set(id, entry);
      for (const s of live) s.worker.postMessage({ kind: 'metrics', id } satisfies ToWorker);
      setTimeout(() => { if (metrics_waiters.delete(id)) resolve(entry.got); }, METRICS_DEADLINE_MS).unref();
    }),
  });
  let admin_port: number;
  try {
    admin_port = await listen_admin(admin, config.adminPort);
  } catch (error) {
    await close(wallet).catch(() => {});
    socket.close();
    throw error;
  }

  let resolve_exit!: (code: number) => void;
  const exit_code = new Promise<number>((resolve) => { resolve_exit = resolve; });

  const shutdown = async (code: number, reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const hard = setTimeout(() => {
      log.error({ event: 'stop_deadline', ms: EXIT_DEADLINE_MS }, 'shutdown took too long: exiting now');
      process.exit(code === 0 ? 1 : code);
    }, EXIT_DEADLINE_MS);
    hard.unref();
    log.info({ event: 'stopping', reason }, 'stop accepting, finish the requests in flight, close the wallet');
    // Stop accepting, for every worker at once: the one descriptor closes.
    // (After a worker died, its exit has closed the descriptor already: a
    // second close could hit a reused number.)
    if (!fatal) socket.close();
    for (const s of states) if (!s.exited) s.worker.postMessage({ kind: 'drain' } satisfies ToWorker);
    const until = Date.now() + DRAIN_DEADLINE_MS;
    while (states.some((s) => !s.exited && !s.drained) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const undrained = states.filter((s) => !s.exited && !s.drained).length;
    if (undrained > 0) log.warn({ event: 'drain_deadline', workers: undrained }, 'workers still had requests in flight');
    admin.close();
    admin.closeAllConnections();
    try {
      await close(wallet);
    } catch (error) {
      log.error({ event: 'close_failed', err: (error as Error).message });
      code = code === 0 ? 1 : code;
    }
    log.info({ event: 'stopped', code }, 'stopped');
    resolve_exit(code);
  };

  const on_worker_death = (s: WorkerState, detail: Record<string, unknown>): void => {
    if (s.exited) return;
    s.exited = true;
    if (stopping && s.drained) return;
    fatal = true;
    log.fatal({ event: 'worker_died', worker: states.indexOf(s), threadId: s.threadId, ...detail },
      'a worker thread died: failing fast (its calls in flight are decided by audit, then the service stops; restart it)');
    try {
      const report = audit(wallet, { deadThreadIds: [s.threadId] });
      log.warn({ event: 'audit', ok: report.ok, inFlightCommitted: report.inFlightCommitted, inFlightReleased: report.inFlightReleased, findings: report.findings });
    } catch (error) {
      log.error({ event: 'audit_failed', err: (error as Error).message });
    }
    void shutdown(1, 'worker died');
  };

  for (let index = 0; index < config.workers; index++) {
    const setup: WorkerSetup = {
      kind: 'setup', index, handle, fd: socket.fd, durable: config.dataDir !== undefined,
      publicKeyPem: config.publicKeyPem, logLevel: config.logLevel,
    };
    const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: setup, stdout: false, stderr: false });
    // Captured now: it reads -1 after 'exit', and audit needs it (deadThreadIds).
    const s: WorkerState = { worker, threadId: worker.threadId, ready: false, drained: false, exited: false };
    states.push(s);
    worker.on('message', (message: ToMain) => {
      switch (message.kind) {
        case 'ready': s.ready = true; break;
        case 'drained': s.drained = true; break;
        case 'metrics': {
          const waiter = metrics_waiters.get(message.id);
          if (!waiter) break;
          waiter.got.push(message.metrics as WorkerMetricsJSON);
          if (waiter.got.length === waiter.expected) { metrics_waiters.delete(message.id); waiter.resolve(waiter.got); }
          break;
        }
      }
    });
    worker.on('error', (error) => on_worker_death(s, { err: error.stack ?? String(error) }));
    worker.on('exit', (exit) => on_worker_death(s, { exitCode: exit }));
  }

  process.on('SIGTERM', () => void shutdown(0, 'SIGTERM'));
  process.on('SIGINT', () => void shutdown(0, 'SIGINT'));

  const until = Date.now() + READY_DEADLINE_MS;
  while (!stopping && states.some((s) => !s.ready) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  if (stopping) return exit_code;
  if (states.some((s) => !s.ready)) {
    log.fatal({ event: 'start_failed', ready: workers_serving(), workers: config.workers }, 'workers not ready in time');
    fatal = true;
    void shutdown(1, 'workers not ready');
    return exit_code;
  }

  const url = `http://${address.family === 6 ? `[${address.address}]` : address.address}:${socket.port}`;
  const admin_url = `http://127.0.0.1:${admin_port}`;
  const s = stats(wallet);
  log.info({
    event: 'start', url, adminUrl: admin_url, workers: config.workers, dataDir: config.dataDir ?? null,
    signatures: config.publicKeyPem !== undefined, users: s.users, usersCreated: s.users - before_users,
    transactions: s.transactions, openBets: s.openBets,
  }, 'serving');
  if (config.publicKeyPem === undefined) log.warn({ event: 'insecure' }, 'X-Hub88-Signature is NOT checked (--insecure-skip-signature)');
  process.stdout.write(`${PROGRAM}: ready on ${url} (admin ${admin_url}), ${config.workers} worker${config.workers === 1 ? '' : 's'}, ` +
    `${config.dataDir === undefined ? 'memory only' : `data ${config.dataDir}`}\n`);

  let journal_reported = false;
  const health = setInterval(() => {
    if (stopping) return;
    const now = stats(wallet);
    if (now.journalFailed && !journal_reported) {
      journal_reported = true;
      log.fatal({ event: 'journal_failed' }, 'the journal failed (fail-stop): transactions answer RS_ERROR_UNKNOWN, /healthz is 503; fix the disk and restart');
    }
    if (now.tableFill > 0.9) log.warn({ event: 'table_fill', tableFill: now.tableFill }, 'the transaction budget is nearly spent');
  }, HEALTH_INTERVAL_MS);
  health.unref();
  return exit_code;
}

export async function main(argv: readonly string[]): Promise<number> {
  let config: ServeConfig | 'help';
  try {
    config = parse_config(argv);
    if (config === 'help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    return await run(config);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(usage_line(PROGRAM, error.message) + '\n');
      return EXIT_USAGE;
    }
    if (error instanceof StartError) {
      process.stderr.write(`${PROGRAM}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
