// examples/http_cluster.ts as a newcomer runs it: a child process whose
// worker threads each serve HTTP on their own loopback port over one shared
// wallet. Real requests (fetch) go to EVERY thread; only 127.0.0.1 is used.
// Every step has a deadline; the process is killed whatever happens.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';

const EXAMPLE = fileURLToPath(new URL('../examples/http_cluster.js', import.meta.url));
const THREADS = 3;
const START_DEADLINE_MS = 20_000;
const REQUEST_DEADLINE_MS = 5_000;
const EXIT_DEADLINE_MS = 10_000;

interface Context { child?: ChildProcess; ports: number[]; stdout: string; exited?: Promise<number | null> }
const http = suite<Context>('http_cluster example', { ports: [], stdout: '' });

http.before(async (context) => {
  const child = spawn(process.execPath, [EXAMPLE, '--threads', String(THREADS), '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  context.child = child;
  context.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`example not ready in ${START_DEADLINE_MS} ms:\n${context.stdout}\n${stderr}`));
    }, START_DEADLINE_MS);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`example exited (${code}) before ready:\n${stderr}`)); });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      context.stdout += chunk;
      if (/^ready:/m.test(context.stdout)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  context.ports = [...context.stdout.matchAll(/^thread \d+: http:\/\/127\.0\.0\.1:(\d+)$/gm)].map((m) => Number(m[1]));
});

http.after((context) => {
  // Whatever the tests did: no process outlives the suite.
  if (context.child && context.child.exitCode === null && context.child.signalCode === null) context.child.kill('SIGKILL');
});

async function post(port: number, path: string, body: unknown): Promise<{ code: number; json: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_DEADLINE_MS),
  });
  return { code: response.status, json: (await response.json()) as Record<string, unknown> };
}

const bet_uuid = randomUUID();
const bet_body = {
  user: 'alice', transaction_uuid: bet_uuid, request_uuid: randomUUID(), currency: 'USD', amount: 1_500,
  round: 'r-1', game_code: 'clt_dragonrising', is_free: false,
};

http('every thread listens on its own loopback port', (context) => {
  assert.is(context.ports.length, THREADS, context.stdout);
  assert.is(new Set(context.ports).size, THREADS, 'distinct ports');
  for (const port of context.ports) assert.ok(port > 0 && port < 65536);
});

http('a bet on thread 0 is deduplicated by thread 1: its retry there gets the original answer', async (context) => {
  const [p0, p1] = context.ports;
  const first = await post(p0, '/transaction/bet', bet_body);
  assert.is(first.code, 200);
  assert.equal(first.json, { user: 'alice', status: 'RS_OK', request_uuid: bet_body.request_uuid, currency: 'USD', balance: 98_500 });
  const retry = await post(p1, '/transaction/bet', { ...bet_body, request_uuid: randomUUID() });
  assert.is(retry.code, 200);
  assert.equal(retry.json, first.json, 'the original answer, request_uuid and balance included');
  const conflict = await post(p1, '/transaction/bet', { ...bet_body, request_uuid: randomUUID(), amount: 1 });
  assert.is(conflict.json.status, 'RS_ERROR_DUPLICATE_TRANSACTION');
});

http('a win on thread 2 settles the bet taken on thread 0; every thread reports the same balance', async (context) => {
  const win = await post(context.ports[2], '/transaction/win', {
    ...bet_body, transaction_uuid: randomUUID(), request_uuid: randomUUID(), reference_transaction_uuid: bet_uuid, amount: 4_000,
  });
  assert.is(win.code, 200);
  assert.is(win.json.status, 'RS_OK');
  assert.is(win.json.balance, 102_500);
  for (const port of context.ports) {
    const request_uuid = randomUUID();
    const answer = await post(port, '/user/balance', { user: 'alice', request_uuid });
    assert.equal(answer.json, { user: 'alice', status: 'RS_OK', request_uuid, currency: 'USD', balance: 102_500 }, `port ${port}`);
  }
});

http('a rollback on thread 1 of a bet settled on thread 2 is refused, and changes nothing', async (context) => {
  const answer = await post(context.ports[1], '/transaction/rollback', {
    user: 'alice', transaction_uuid: randomUUID(), request_uuid: randomUUID(), reference_transaction_uuid: bet_uuid,
  });
  assert.is(answer.json.status, 'RS_ERROR_UNKNOWN');
  const after = await post(context.ports[0], '/user/balance', { user: 'alice', request_uuid: randomUUID() });
  assert.is(after.json.balance, 102_500);
});

http('unparsable JSON is a 400 with a Hub88 body; a wrong type in valid JSON is a 200 with its status', async (context) => {
  for (const port of context.ports) {
    const bad = await post(port, '/transaction/bet', '{"user": "alice", ');
    assert.is(bad.code, 400);
    assert.equal(bad.json, { user: '', status: 'RS_ERROR_WRONG_TYPES', request_uuid: '' });
  }
  const typed = await post(context.ports[0], '/transaction/bet', { ...bet_body, transaction_uuid: randomUUID(), amount: '10' });
  assert.is(typed.code, 200);
  assert.equal(typed.json, { user: 'alice', status: 'RS_ERROR_WRONG_TYPES', request_uuid: bet_body.request_uuid });
});

http('an unknown route is a 404', async (context) => {
  const answer = await post(context.ports[1], '/transaction/steal', {});
  assert.is(answer.code, 404);
});

http('SIGTERM closes every server and the process exits 0', async (context) => {
  context.child!.kill('SIGTERM');
  const code = await Promise.race([
    context.exited!,
    new Promise<string>((resolve) => setTimeout(() => resolve('deadline'), EXIT_DEADLINE_MS).unref()),
  ]);
  assert.is(code, 0);
  assert.match(context.stdout, /stopped: every server closed/);
});

http.run();
