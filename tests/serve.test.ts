// exwallet serve as Hub88 drives it: a child process (node out/bin/exwallet.js
// serve) on loopback with free ports, a fresh RSA key pair, signed requests
// over HTTP. Every step has a deadline; no child outlives the suite.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync, sign, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as http_request } from 'node:http';

const BIN = fileURLToPath(new URL('../bin/exwallet.js', import.meta.url));
const START_DEADLINE_MS = 20_000;
const REQUEST_DEADLINE_MS = 5_000;
const EXIT_DEADLINE_MS = 10_000;

const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dir = mkdtempSync(join(tmpdir(), 'exwallet-serve-'));
const key_file = join(dir, 'hub88.pub.pem');
writeFileSync(key_file, publicKey.export({ type: 'spki', format: 'pem' }));
const users_file = join(dir, 'users.csv');
writeFileSync(users_file, 'user,currency,balance\nalice,EUR,5000\nbob,USD,100\n"carol",BRL,0\n');
const data_dir = join(dir, 'data');

interface Service { child: ChildProcess; url: string; admin: string; stdout: string; stderr: string; exited: Promise<number | null> }

async function start_service(extra: string[] = []): Promise<Service> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--admin-port', '0', '--workers', '2',
    '--data-dir', data_dir, '--hub88-public-key', key_file, '--users', users_file,
    '--max-users', '1000', '--max-transactions', '100000', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const service: Service = {
    child, url: '', admin: '', stdout: '', stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { service.stderr += chunk; });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready in ${START_DEADLINE_MS} ms:\n${service.stdout}\n${service.stderr}`));
    }, START_DEADLINE_MS);
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited (${code}) before ready:\n${service.stderr}`)); });
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      service.stdout += chunk;
      const ready = /ready on (http:\/\/127\.0\.0\.1:\d+) \(admin (http:\/\/127\.0\.0\.1:\d+)\)/.exec(service.stdout);
      if (ready) {
        clearTimeout(timer);
        service.url = ready[1]!;
        service.admin = ready[2]!;
        resolve();
      }
    });
  });
  return service;
}

const signature = (body: string, key: KeyObject = privateKey) => sign('sha256', Buffer.from(body), key).toString('base64');

interface Answer { code: number; json: Record<string, unknown>; text: string }

/** A raw request (node:http): exact bytes, any headers, any method. */
function send(url: string, path: string, options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http_request(url + path, { method: options.method ?? 'POST', headers: options.headers, timeout: REQUEST_DEADLINE_MS, agent: false }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
      response.on('end', () => {
        let json: Record<string, unknown> = {};
        try { json = JSON.parse(text) as Record<string, unknown>; } catch { /* not JSON (metrics) */ }
        resolve({ code: response.statusCode ?? 0, json, text });
      });
    });
    request.on('timeout', () => request.destroy(new Error(`${path}: no answer in ${REQUEST_DEADLINE_MS} ms`)));
    request.on('error', reject);
    request.end(options.body);
  });
}

/** A Hub88 request, signed with Hub88's private key. */
function hub88(service: Service, path: string, body: unknown, key?: KeyObject): Promise<Answer> {
  const text = JSON.stringify(body);
  return send(service.url, path, { body: text, headers: { 'content-type': 'application/json', 'x-hub88-signature': signature(text, key) } });
}

const bet_uuid = randomUUID();
const bet_body = {
  user: 'alice', currency: 'EUR', amount: 1_200, game_code: 'clt_dragonrising', round: 'r-1', is_free: false,
  token: 'session-token', transaction_uuid: bet_uuid, request_uuid: randomUUID(),
};
const balance_of = async (service: Service, user: string) => (await hub88(service, '/user/balance', { user, request_uuid: randomUUID() })).json.balance;

const serve = suite<{ service?: Service }>('exwallet serve', {});

serve.before(async (context) => { context.service = await start_service(); });
serve.after((context) => {
  const child = context.service?.child;
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

serve('bad flags: one line naming the flag, exit 2', () => {
  for (const [args, pattern] of [
    [['--port', 'x'], /^exwallet serve: --port must be an integer, got "x" \(run exwallet serve --help\)\n$/],
    [['--nope'], /^exwallet serve: unknown flag --nope/],
    [['--memory'], /^exwallet serve: --hub88-public-key FILE is required/],
    [['--memory', '--insecure-skip-signature', '--log-level', 'loud'], /^exwallet serve: --log-level must be one of/],
  ] as const) {
    const result = spawnSync(process.execPath, [BIN, 'serve', ...args], { encoding: 'utf8', timeout: EXIT_DEADLINE_MS });
    assert.is(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    assert.is(result.stderr.split('\n').length, 2, 'one line');
  }
  const env = spawnSync(process.execPath, [BIN, 'serve', '--memory', '--insecure-skip-signature'], {
    encoding: 'utf8', timeout: EXIT_DEADLINE_MS, env: { ...process.env, EXWALLET_WORKERS: '0' },
  });
  assert.is(env.status, 2);
  assert.match(env.stderr, /--workers must be from 1 to 256, got 0/);
});

serve('one readiness line: the URL and the admin URL; a start event in the log', ({ service }) => {
  assert.is(service!.stdout.split('\n').filter(Boolean).length, 1, service!.stdout);
  assert.match(service!.stderr, /"event":"start"/);
});

serve('/user/info: the user and its currency from the --users CSV; an unknown user is RS_ERROR_UNKNOWN', async ({ service }) => {
  for (const [user, currency] of [['alice', 'EUR'], ['bob', 'USD'], ['carol', 'BRL']]) {
    const request_uuid = randomUUID();
    const info = await hub88(service!, '/user/info', { user, request_uuid });
    assert.is(info.code, 200);
    assert.equal(info.json, { user, status: 'RS_OK', request_uuid, currency });
  }
  const request_uuid = randomUUID();
  const unknown = await hub88(service!, '/user/info', { user: 'mallory', request_uuid });
  assert.equal(unknown.json, { user: 'mallory', status: 'RS_ERROR_UNKNOWN', request_uuid });
  const balance = await hub88(service!, '/user/balance', { user: 'bob', request_uuid });
  assert.equal(balance.json, { user: 'bob', status: 'RS_OK', request_uuid, currency: 'USD', balance: 100 });
});

serve('a missing, garbage, or foreign signature: RS_ERROR_INVALID_SIGNATURE, and nothing changes', async ({ service }) => {
  const text = JSON.stringify({ ...bet_body, transaction_uuid: randomUUID() });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const cases: Record<string, string>[] = [
    {}, { 'x-hub88-signature': '' }, { 'x-hub88-signature': 'not base64 at all!' }, { 'x-hub88-signature': 'AAAA' },
    { 'x-hub88-signature': signature(text, other) }, { 'x-hub88-signature': signature(text + ' ') },
  ];
  for (const headers of cases) {
    const answer = await send(service!.url, '/transaction/bet', { body: text, headers });
    assert.is(answer.code, 200);
    assert.is(answer.json.status, 'RS_ERROR_INVALID_SIGNATURE', JSON.stringify(headers));
    assert.is(answer.json.request_uuid, bet_body.request_uuid, 'echoed');
  }
  assert.is(await balance_of(service!, 'alice'), 5_000, 'nothing changed');
  const lookup = await send(service!.admin, `/admin/transactions/${JSON.parse(text).transaction_uuid}`, { method: 'GET' });
  assert.is(lookup.code, 404);
});

serve('not JSON, or over 64 KiB: RS_ERROR_WRONG_SYNTAX', async ({ service }) => {
  const bad = '{"user": "alice", ';
  const syntax = await send(service!.url, '/transaction/bet', { body: bad, headers: { 'x-hub88-signature': signature(bad) } });
  assert.is(syntax.code, 200);
  assert.is(syntax.json.status, 'RS_ERROR_WRONG_SYNTAX');
  const big = JSON.stringify({ ...bet_body, transaction_uuid: randomUUID(), padding: 'x'.repeat(65 * 1024) });
  const large = await send(service!.url, '/transaction/bet', { body: big, headers: { 'x-hub88-signature': signature(big) } });
  assert.is(large.code, 200);
  assert.is(large.json.status, 'RS_ERROR_WRONG_SYNTAX');
  // Chunked (no Content-Length): counted while reading.
  const chunked = await new Promise<Answer>((resolve, reject) => {
    const request = http_request(service!.url + '/transaction/bet', { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
      response.on('end', () => resolve({ code: response.statusCode ?? 0, json: JSON.parse(text), text }));
    });
    request.on('error', reject);
    for (let i = 0; i < 17; i++) request.write('x'.repeat(4096));
    request.end();
  });
  assert.is(chunked.json.status, 'RS_ERROR_WRONG_SYNTAX');
  assert.is(await balance_of(service!, 'alice'), 5_000);
});

serve('unknown path 404, other method 405', async ({ service }) => {
  assert.is((await send(service!.url, '/transaction/steal', { body: '{}' })).code, 404);
  assert.is((await send(service!.url, '/', { method: 'GET' })).code, 404);
  const get = await send(service!.url, '/transaction/bet', { method: 'GET' });
  assert.is(get.code, 405);
  assert.is((await send(service!.url, '/user/balance', { method: 'PUT', body: '{}' })).code, 405);
});

serve('bet; its replay with a new request_uuid echoes the NEW request_uuid with the original balance', async ({ service }) => {
  const first = await hub88(service!, '/transaction/bet', bet_body);
  assert.equal(first.json, { user: 'alice', status: 'RS_OK', request_uuid: bet_body.request_uuid, currency: 'EUR', balance: 3_800 });
  await hub88(service!, '/transaction/bet', { ...bet_body, transaction_uuid: randomUUID(), request_uuid: randomUUID(), amount: 100 });
  const request_uuid = randomUUID();
  const replay = await hub88(service!, '/transaction/bet', { ...bet_body, request_uuid });
  assert.equal(replay.json, { user: 'alice', status: 'RS_OK', request_uuid, currency: 'EUR', balance: 3_800 });
  const conflict = await hub88(service!, '/transaction/bet', { ...bet_body, request_uuid: randomUUID(), amount: 1 });
  assert.is(conflict.json.status, 'RS_ERROR_DUPLICATE_TRANSACTION');
  const poor = await hub88(service!, '/transaction/bet', { ...bet_body, user: 'bob', currency: 'USD', amount: 101, transaction_uuid: randomUUID() });
  assert.is(poor.json.status, 'RS_ERROR_NOT_ENOUGH_MONEY');
  const currency = await hub88(service!, '/transaction/bet', { ...bet_body, currency: 'USD', transaction_uuid: randomUUID() });
  assert.is(currency.json.status, 'RS_ERROR_WRONG_CURRENCY');
});

serve('win settles the bet; rollback of a settled bet is refused; rollback of an open bet refunds it', async ({ service }) => {
  const win = await hub88(service!, '/transaction/win', {
    ...bet_body, amount: 3_000, transaction_uuid: randomUUID(), request_uuid: randomUUID(), reference_transaction_uuid: bet_uuid,
  });
  assert.is(win.json.status, 'RS_OK');
  assert.is(win.json.balance, 3_700 + 3_000);
  const refused = await hub88(service!, '/transaction/rollback', {
    user: 'alice', transaction_uuid: randomUUID(), request_uuid: randomUUID(), reference_transaction_uuid: bet_uuid,
  });
  assert.is(refused.json.status, 'RS_ERROR_UNKNOWN');
  const open = randomUUID();
  await hub88(service!, '/transaction/bet', { ...bet_body, transaction_uuid: open, request_uuid: randomUUID(), amount: 700 });
  const request_uuid = randomUUID();
  const rollback = await hub88(service!, '/transaction/rollback', {
    user: 'alice', transaction_uuid: randomUUID(), request_uuid, reference_transaction_uuid: open, round: 'r-1', game_code: 'clt_dragonrising',
  });
  assert.equal(rollback.json, { user: 'alice', status: 'RS_OK', request_uuid, currency: 'EUR', balance: 6_700 });
});

serve('admin: users, stats, transactions, healthz, metrics', async ({ service }) => {
  const admin = service!.admin;
  const created = await send(admin, '/admin/users', { body: JSON.stringify([{ user: 'dave', currency: 'GBP', balance: 42 }, { user: 'alice', currency: 'USD', balance: 1 }]) });
  assert.is(created.code, 200, created.text);
  assert.is(created.json.created, 1);
  assert.equal((await hub88(service!, '/user/balance', { user: 'dave', request_uuid: 'r' })).json, { user: 'dave', status: 'RS_OK', request_uuid: 'r', currency: 'GBP', balance: 42 });
  assert.is(await balance_of(service!, 'alice'), 6_700, 'an existing user is left alone');
  assert.is((await send(admin, '/admin/users', { body: '{"user":"x"}' })).code, 400);
  const stats = await send(admin, '/admin/stats', { method: 'GET' });
  assert.is(stats.json.users, 4);
  assert.is(stats.json.journalFailed, false);
  const record = await send(admin, `/admin/transactions/${bet_uuid}`, { method: 'GET' });
  assert.is(record.json.kind, 'bet');
  assert.is(record.json.settlement, 'won');
  assert.is((await send(admin, `/admin/transactions/${randomUUID()}`, { method: 'GET' })).code, 404);
  const health = await send(admin, '/healthz', { method: 'GET' });
  assert.is(health.code, 200);
  const metrics = await send(admin, '/metrics', { method: 'GET' });
  assert.is(metrics.code, 200);
  assert.match(metrics.text, /exwallet_requests_total\{route="\/transaction\/bet",status="RS_OK"\} \d+/);
  assert.match(metrics.text, /exwallet_requests_total\{route="\/transaction\/bet",status="RS_ERROR_INVALID_SIGNATURE"\} [1-9]/);
  assert.match(metrics.text, /exwallet_request_duration_seconds_bucket\{le="0.005",route="\/transaction\/bet"\} \d+/);
  assert.match(metrics.text, /exwallet_durable_lag_records \d+/);
  assert.match(metrics.text, /exwallet_table_fill_ratio [\d.e-]+/);
  assert.match(metrics.text, /exwallet_workers_serving 2/);
  // Both workers' counters are summed: 2 workers served, one total per label set.
  const bet_ok = [...metrics.text.matchAll(/^exwallet_requests_total\{route="\/transaction\/bet",status="RS_OK"\} (\d+)$/gm)];
  assert.is(bet_ok.length, 1);
  assert.ok(Number(bet_ok[0]![1]) >= 3);
  assert.is((await send(admin, '/metrics', { method: 'POST' })).code, 405);
  assert.is((await send(admin, '/nope', { method: 'GET' })).code, 404);
});

serve('transactions take the WASM bytes path; a body it does not take gets the same answer through JSON.parse', async ({ service }) => {
  const admin = service!.admin;
  const fallbacks = async () => (await send(admin, '/admin/stats', { method: 'GET' })).json.bytesFallbacks as number;
  assert.is((await send(admin, '/admin/users', { body: JSON.stringify([{ user: 'erin', currency: 'USD', balance: 1_000 }]) })).code, 200);
  const before = await fallbacks();
  const erin = { ...bet_body, user: 'erin', currency: 'USD' };
  const plain = { ...erin, amount: 1, transaction_uuid: randomUUID(), request_uuid: randomUUID() };
  const first = await hub88(service!, '/transaction/bet', plain);
  assert.is(first.json.status, 'RS_OK');
  assert.is(await fallbacks(), before, 'a plain Hub88 bet is parsed in WASM');
  // A replay answers with this request's own request_uuid (Hub88), the original's balance.
  const retry_uuid = randomUUID();
  const again = await hub88(service!, '/transaction/bet', { ...plain, request_uuid: retry_uuid });
  assert.equal(again.json, { ...first.json, request_uuid: retry_uuid });
  const nested = { ...erin, amount: 1, transaction_uuid: randomUUID(), request_uuid: randomUUID(), meta: { odds: 2.5, selection: 'home' } };
  const answer = await hub88(service!, '/transaction/bet', nested);
  assert.is(answer.json.status, 'RS_OK');
  assert.is(answer.json.request_uuid, nested.request_uuid);
  assert.is(await fallbacks(), before + 1, 'nesting goes to JSON.parse');
  const metrics = await send(admin, '/metrics', { method: 'GET' });
  assert.match(metrics.text, new RegExp(`^exwallet_bytes_fallbacks ${before + 1}$`, 'm'));
  // The same transaction either way: the nested body replayed is a replay, changed is a duplicate.
  const replay = await hub88(service!, '/transaction/bet', { ...nested, request_uuid: randomUUID() });
  assert.is(replay.json.balance, answer.json.balance);
  const changed = await hub88(service!, '/transaction/bet', { ...nested, meta: { odds: 2.6, selection: 'home' } });
  assert.is(changed.json.status, 'RS_ERROR_DUPLICATE_TRANSACTION');
  const not_json = await send(service!.url, '/transaction/bet', { body: '{"user":', headers: { 'x-hub88-signature': signature('{"user":') } });
  assert.equal(not_json.json, { user: '', status: 'RS_ERROR_WRONG_SYNTAX', request_uuid: '' });
});

serve('both workers accept on the one port (per-worker counts in /metrics)', async ({ service }) => {
  // One new connection per request (agent: false); whichever worker is free
  // accepts. Batches until both have answered, bounded.
  const per_worker = async () => {
    const text = (await send(service!.admin, '/metrics', { method: 'GET' })).text;
    return [...text.matchAll(/^exwallet_worker_requests_total\{worker="(\d+)"\} (\d+)$/gm)].map((m) => Number(m[2]));
  };
  let counts: number[] = [];
  for (let round = 0; round < 20; round++) {
    await Promise.all(Array.from({ length: 40 }, () => hub88(service!, '/user/balance', { user: 'bob', request_uuid: randomUUID() })));
    counts = await per_worker();
    if (counts.length === 2 && counts.every((count) => count > 0)) break;
  }
  assert.is(counts.length, 2, `per-worker counts ${counts}`);
  assert.ok(counts.every((count) => count > 0), `both workers answered: ${counts}`);
});

serve('SIGKILL, then a restart on the same --data-dir keeps every answered bet and answers duplicates the same', async (context) => {
  const service = context.service!;
  const uuids = Array.from({ length: 20 }, () => randomUUID());
  const answers = await Promise.all(uuids.map((transaction_uuid) =>
    hub88(service, '/transaction/bet', { ...bet_body, user: 'dave', currency: 'GBP', amount: 1, transaction_uuid, request_uuid: randomUUID() })));
  for (const answer of answers) assert.is(answer.json.status, 'RS_OK');
  service.child.kill('SIGKILL');
  await service.exited;
  context.service = await start_service();
  assert.is(await balance_of(context.service, 'dave'), 42 - 20);
  assert.is(await balance_of(context.service, 'alice'), 6_700);
  const request_uuid = randomUUID();
  const replay = await hub88(context.service, '/transaction/bet', { ...bet_body, user: 'dave', currency: 'GBP', amount: 1, transaction_uuid: uuids[0], request_uuid });
  assert.equal(replay.json, { ...answers[0]!.json, request_uuid });
  assert.match(context.service.stderr, /"usersCreated":0/);
});

serve('SIGTERM: exits 0 with a stop event', async (context) => {
  const service = context.service!;
  service.child.kill('SIGTERM');
  const code = await Promise.race([
    service.exited,
    new Promise<string>((resolve) => setTimeout(() => resolve('deadline'), EXIT_DEADLINE_MS).unref()),
  ]);
  assert.is(code, 0, service.stderr);
  assert.match(service.stderr, /"event":"stopped"/);
  rmSync(dir, { recursive: true, force: true });
});

serve.run();
