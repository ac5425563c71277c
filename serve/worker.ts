// A worker thread of exwallet serve: attach() to the shared wallet, listen
// on the shared socket (listen_socket.ts), answer Hub88 requests directly
// on the wallet (hub88.ts). Reports to the main thread: ready, metrics on
// demand, drained.

import { parentPort, workerData, threadId } from 'node:worker_threads';
import { createServer, type Server } from 'node:http';
import { attach } from 'exwallet';
import { load_public_key } from './signature.js';
import { handle_hub88, send_json, RS_ERROR_WRONG_SYNTAX, type HandlerContext } from './hub88.js';
import { WorkerMetrics } from './worker_metrics.js';
import { create_logger, Summary } from './log.js';
import type { WorkerSetup, ToMain, ToWorker } from './messages.js';

/** Slowloris: the head must arrive in this time, the whole request in that. */
export const HEADERS_TIMEOUT_MS = 10_000;
export const REQUEST_TIMEOUT_MS = 15_000;
/** An idle keep-alive connection is closed after this. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** A durable() wait longer than this is a slow flush (summarised in the log). */
export const SLOW_FLUSH_MS = 200;
const SUMMARY_PERIOD_MS = 10_000;
const CONNECTIONS_MAX = 20_000;

const setup = workerData as WorkerSetup;
const port = parentPort!;
const log = create_logger(setup.logLevel, { thread: threadId, worker: setup.index });
const wallet = attach(setup.handle);
const key = setup.publicKeyPem === undefined ? undefined : load_public_key(setup.publicKeyPem);
const metrics = new WorkerMetrics();
const signature_failures = new Summary(log, 'warn', 'signature_failures', 'requests with a missing or wrong X-Hub88-Signature', SUMMARY_PERIOD_MS);
const slow_flushes = new Summary(log, 'warn', 'slow_flush', `answers that waited over ${SLOW_FLUSH_MS} ms for durable() (max in ms)`, SUMMARY_PERIOD_MS);
const client_errors = new Summary(log, 'info', 'client_errors', 'connections closed for bad HTTP or timeouts', SUMMARY_PERIOD_MS);
const by_worker = metrics.by_worker.labels({ worker: String(setup.index) });
let journal_logged = false;
let draining = false;
let in_flight = 0;

const context: HandlerContext = {
  wallet,
  key,
  durable: setup.durable,
  draining: () => draining,
  done(route, status, started_ns, detail) {
    const seconds = Number(process.hrtime.bigint() - started_ns) / 1e9;
    metrics.requests.inc({ route, status });
    by_worker.inc();
    metrics.latency.observe({ route }, seconds);
    if (detail?.durable_ns !== undefined) {
      const wait_ms = Number(detail.durable_ns) / 1e6;
      metrics.durable_wait.observe(wait_ms / 1000);
      if (wait_ms > SLOW_FLUSH_MS) slow_flushes.add(Math.round(wait_ms));
    }
    if (detail?.reason !== undefined) metrics.rejected.inc({ reason: detail.reason });
    if (detail?.reason === 'signature') signature_failures.add(0, detail.remote);
    if (log.isLevelEnabled('debug')) log.debug({ event: 'request', route, status, ms: Math.round(seconds * 1e6) / 1e3 });
  },
  journal_error(error) {
    if (journal_logged) return;
    journal_logged = true;
    log.error({ event: 'journal_failed', code: (error as { code?: string }).code, err: error.message },
      'durable() failed: the journal is fail-stop; transactions now answer RS_ERROR_UNKNOWN; fix the disk and restart');
  },
};

const server: Server = createServer({
  headersTimeout: HEADERS_TIMEOUT_MS,
  requestTimeout: REQUEST_TIMEOUT_MS,
  keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  connectionsCheckingInterval: 1_000,
  maxHeaderSize: 16 * 1024,
}, (request, response) => {
  in_flight++;
  response.once('close', () => {
    in_flight--;
    if (draining) maybe_drained();
  });
  try {
    handle_hub88(context, request, response);
  } catch (error) {
    // A bug, not the client's fault: answered, logged, and the worker goes on.
    log.error({ event: 'handler_error', err: (error as Error).stack });
    send_json(response, 500, { error: 'internal error' }, true);
  }
});
server.maxConnections = CONNECTIONS_MAX;
server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
  const reason = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' || error.code === 'ERR_HTTP_HEADERS_TIMEOUT' ? 'timeout' : 'bad_http';
  metrics.rejected.inc({ reason });
  client_errors.add(0, error.code);
  if (socket.writable && !(socket as { _httpMessage?: unknown })._httpMessage) {
    const code = reason === 'timeout' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const text = JSON.stringify({ user: '', status: RS_ERROR_WRONG_SYNTAX, request_uuid: '' });
    socket.end(`HTTP/1.1 ${code} ${code === 408 ? 'Request Timeout' : code === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
      `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    setTimeout(() => socket.destroy(), 1000).unref();
  } else {
    socket.destroy();
  }
});
server.on('error', (error) => {
  log.fatal({ event: 'listen_failed', err: error.message });
  throw error; // the main thread sees the worker die: fail fast
});

let drained_sent = false;
function maybe_drained(): void {
  server.closeIdleConnections();
  if (in_flight > 0 || drained_sent) return;
  drained_sent = true;
  signature_failures.stop();
  slow_flushes.stop();
  client_errors.stop();
  port.postMessage({ kind: 'drained', index: setup.index, inFlight: 0 } satisfies ToMain);
}

port.on('message', (message: ToWorker) => {
  switch (message.kind) {
    case 'drain':
      // The main thread has closed the listening socket: nothing new comes.
      // Answer what is in flight (with Connection: close), close idle
      // keep-alive connections, then report. The listening handle is NOT
      // closed here (one descriptor for all threads: listen_socket.ts).
      draining = true;
      maybe_drained();
      if (!drained_sent) {
        const timer = setInterval(() => { if (drained_sent) clearInterval(timer); else maybe_drained(); }, 50);
        timer.unref();
      }
      break;
    case 'metrics':
      void metrics.registry.getMetricsAsJSON().then((json) => {
        port.postMessage({ kind: 'metrics', id: message.id, index: setup.index, metrics: json } satisfies ToMain);
      });
      break;
  }
});

server.listen({ fd: setup.fd }, () => {
  port.postMessage({ kind: 'ready', index: setup.index } satisfies ToMain);
});
