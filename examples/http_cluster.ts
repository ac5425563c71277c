// A Hub88 wallet endpoint served by several threads over ONE shared wallet:
// the embedding exwallet is made for. Each worker thread runs its own
// node:http server and attach()es to the wallet the main thread started;
// a bet taken by one thread is seen, and deduplicated, by all the others.
//
//   npm run build && node out/examples/http_cluster.js [--threads N] [--port P] [--host H] [--users a,b]
//   curl -s localhost:8088/transaction/bet -d '{"user":"alice","transaction_uuid":"...", ...}'
//
// Routes (POST, JSON bodies as in the Hub88 Operator Wallet API): /transaction/bet,
// /transaction/win, /transaction/rollback, /user/balance. The answer is the
// wallet's response object, with HTTP 200 whatever its status, as Hub88 expects.
// Not shown: the X-Hub88-Signature check every real endpoint must make
// (exwallet serve does it).
//
// Ports: this example gives each thread its own port (thread i listens on
// P + i; with --port 0 each takes an ephemeral port and reports it), the
// simplest way to embed the library in a server of your own. For the real
// service, with one port shared by every thread, signatures, durability,
// admin and metrics, run `exwallet serve` (serve/, docs/service.md).

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { start, createUsers, share, attach, detach, RS_ERROR_WRONG_TYPES, type Wallet, type WalletHandle, type WalletResponse } from 'exwallet';
import { bet, win, rollback, balance } from '../tools/untyped.js';

interface ServerSetup { handle: WalletHandle; index: number; port: number; host: string }
type ToMain = { kind: 'listening'; index: number; port: number } | { kind: 'closed'; index: number };

const BODY_BYTES_MAX = 64 * 1024;
const LISTEN_DEADLINE_MS = 10_000;
const CLOSE_DEADLINE_MS = 5_000;

const ROUTES: Record<string, (wallet: Wallet, body: unknown) => WalletResponse> = {
  '/transaction/bet': bet,
  '/transaction/win': win,
  '/transaction/rollback': rollback,
  '/user/balance': balance,
};

function send_json(response: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

/** One request: read the body (bounded), parse it, hand it to the wallet. */
function handle_request(wallet: Wallet, request: IncomingMessage, response: ServerResponse): void {
  const route = ROUTES[request.url ?? ''];
  if (route === undefined) return send_json(response, 404, { error: `no route ${request.url}` });
  if (request.method !== 'POST') return send_json(response, 405, { error: 'POST only' });
  const chunks: Buffer[] = [];
  let size_bytes = 0;
  request.on('data', (chunk: Buffer) => {
    size_bytes += chunk.length;
    if (size_bytes <= BODY_BYTES_MAX) chunks.push(chunk); // past the bound: drained, not kept
  });
  request.on('end', () => {
    if (size_bytes > BODY_BYTES_MAX) return send_json(response, 413, { error: `body over ${BODY_BYTES_MAX} bytes` });
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      // Not JSON: no user or request_uuid can be echoed (spec §7 says "").
      return send_json(response, 400, { user: '', status: RS_ERROR_WRONG_TYPES, request_uuid: '' });
    }
    // The wallet answers every body with a status (it never throws for bad
    // input): a wrong type in valid JSON is a 200 with RS_ERROR_WRONG_TYPES.
    send_json(response, 200, route(wallet, body));
  });
}

function serve(setup: ServerSetup): void {
  const port = parentPort!;
  const wallet = attach(setup.handle);
  const server = createServer((request, response) => handle_request(wallet, request, response));
  server.listen(setup.port, setup.host, () => {
    const address = server.address();
    const bound_port = typeof address === 'object' && address !== null ? address.port : setup.port;
    port.postMessage({ kind: 'listening', index: setup.index, port: bound_port } satisfies ToMain);
  });
  port.on('message', (message: { kind: 'close' }) => {
    if (message.kind !== 'close') return;
    server.close(() => {
      detach(wallet); // no request is in flight: give the thread slot back
      port.postMessage({ kind: 'closed', index: setup.index } satisfies ToMain);
      port.close();
    });
    server.closeAllConnections(); // keep-alive sockets would hold close() open
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      threads: { type: 'string', default: String(availableParallelism()) },
      port: { type: 'string', default: '8088' },
      host: { type: 'string', default: '127.0.0.1' },
      users: { type: 'string', default: 'alice,bob,carol' },
    },
  });
  const threads = Number(values.threads);
  const port_base = Number(values.port);
  if (!Number.isInteger(threads) || threads < 1 || !Number.isInteger(port_base) || port_base < 0 || port_base + threads > 65536) {
    throw new RangeError('--threads must be an integer >= 1 and --port a port number (0: ephemeral)');
  }
  // A demo-sized wallet: the defaults (1 Mi users, 4 Mi transactions) reserve ~650 MiB.
  const wallet = start({ maxUsers: 10_000, maxTransactions: 1_000_000 });
  createUsers(wallet, values.users.split(','));
  const handle = share(wallet);

  const workers: Worker[] = [];
  const listening = new Map<number, number>();
  const closed = new Set<number>();
  for (let index = 0; index < threads; index++) {
    const setup: ServerSetup = { handle, index, port: port_base === 0 ? 0 : port_base + index, host: values.host };
    const worker = new Worker(new URL(import.meta.url), { workerData: setup });
    worker.on('message', (message: ToMain) => {
      if (message.kind === 'listening') listening.set(message.index, message.port);
      else closed.add(message.index);
    });
    worker.on('error', (error) => {
      console.error(`thread ${index}: ${error.message}`);
      process.exitCode = 1;
      void stop();
    });
    workers.push(worker);
  }

  const wait_for = async (done: () => boolean, deadline_ms: number): Promise<boolean> => {
    const until_ms = Date.now() + deadline_ms;
    while (!done() && Date.now() < until_ms) await new Promise((resolve) => setTimeout(resolve, 10));
    return done();
  };
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    for (const worker of workers) worker.postMessage({ kind: 'close' });
    const clean = await wait_for(() => closed.size === threads, CLOSE_DEADLINE_MS);
    await Promise.all(workers.map((worker) => worker.terminate()));
    console.log(clean ? 'stopped: every server closed' : `stopped: ${threads - closed.size} servers did not close in time`);
    if (!clean) process.exitCode = 1;
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());

  if (!(await wait_for(() => listening.size === threads || stopping, LISTEN_DEADLINE_MS)) || stopping) {
    console.error(`only ${listening.size} of ${threads} threads listening after ${LISTEN_DEADLINE_MS} ms`);
    process.exitCode = 1;
    return stop();
  }
  for (let index = 0; index < threads; index++) {
    console.log(`thread ${index}: http://${values.host}:${listening.get(index)}`);
  }
  console.log(`ready: ${threads} threads, one wallet, users ${values.users} (Ctrl-C to stop)`);
}

if (isMainThread) {
  main().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
} else {
  serve(workerData as ServerSetup);
}
