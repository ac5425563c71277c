// exwallet serve over HTTP: requests/s with N workers on ONE port, from a
// keep-alive client in this process (so on a small machine the client takes
// a share of the cores too). Used for the figures in docs/service.md.
//
//   npm run build && node out/bench/serve_http.js [--workers 1,2] [--seconds 5] [--connections 64] [--memory]
//
// Two mixes per worker count: unsigned bets (--insecure-skip-signature: the
// wallet, durable() and HTTP), and signed /user/balance (one body signed once,
// so the server pays RSA-SHA256 verification on every request).

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'node:http';
import { generateKeyPairSync, sign, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse_flags, integer_flag } from '../tools/cli.js';

const BIN = fileURLToPath(new URL('../bin/exwallet.js', import.meta.url));
const flags = parse_flags(process.argv.slice(2), {
  workers: { type: 'string' }, seconds: { type: 'string' }, connections: { type: 'string' }, memory: { type: 'boolean' },
});
const worker_counts = (flags.workers ?? '1,2').split(',').map((text) => integer_flag('workers', text, 1, 1, 64));
const seconds = integer_flag('seconds', flags.seconds, 5, 1, 600);
const connections = integer_flag('connections', flags.connections, 64, 1, 4096);

const dir = mkdtempSync(join(tmpdir(), 'exwallet-serve-bench-'));
const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
writeFileSync(join(dir, 'key.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
const USERS = 1000;
writeFileSync(join(dir, 'users.csv'), Array.from({ length: USERS }, (_, i) => `u${i},USD,1000000000`).join('\n'));

async function start(workers: number, signed: boolean, run: number) {
  const args = [BIN, 'serve', '--port', '0', '--admin-port', '0', '--workers', String(workers), '--users', join(dir, 'users.csv'),
    '--max-users', String(USERS), '--max-transactions', '8000000', '--log-level', 'warn',
    ...(flags.memory ? ['--memory'] : ['--data-dir', join(dir, `data-${run}`)]),
    ...(signed ? ['--hub88-public-key', join(dir, 'key.pem')] : ['--insecure-skip-signature'])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.on('exit', (code) => reject(new Error(`exited ${code}`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = /ready on (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
  });
  return { child, url };
}

async function drive(url: string, body: () => { path: string; text: string; signature?: string }): Promise<{ rps: number; p99_ms: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  const until = Date.now() + seconds * 1000;
  let done = 0;
  const one = () => new Promise<void>((resolve, reject) => {
    const { path, text, signature } = body();
    const started = performance.now();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signature) headers['x-hub88-signature'] = signature;
    const req = request(url + path, { method: 'POST', agent, headers }, (response) => {
      response.resume();
      response.on('end', () => { latencies.push(performance.now() - started); done++; resolve(); });
    });
    req.on('error', reject);
    req.end(text);
  });
  const started = Date.now();
  await Promise.all(Array.from({ length: connections }, async () => { while (Date.now() < until) await one(); }));
  const elapsed_s = (Date.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { rps: done / elapsed_s, p99_ms: latencies[Math.floor(latencies.length * 0.99)] ?? 0 };
}

let run = 0;
for (const workers of worker_counts) {
  {
    const service = await start(workers, false, run++);
    let i = 0;
    const result = await drive(service.url, () => ({
      path: '/transaction/bet',
      text: JSON.stringify({ user: `u${i++ % USERS}`, currency: 'USD', amount: 1, game_code: 'g', round: 'r', is_free: false,
        transaction_uuid: randomUUID(), request_uuid: randomUUID() }),
    }));
    console.log(`workers ${workers}  bets (unsigned, ${flags.memory ? 'memory' : 'durable'})  ${Math.round(result.rps)} req/s  p99 ${result.p99_ms.toFixed(2)} ms  (${connections} keep-alive connections)`);
    service.child.kill('SIGTERM');
    await new Promise((resolve) => service.child.on('exit', resolve));
  }
  {
    const service = await start(workers, true, run++);
    const text = JSON.stringify({ user: 'u1', request_uuid: randomUUID() });
    const signature = sign('sha256', Buffer.from(text), privateKey).toString('base64');
    const result = await drive(service.url, () => ({ path: '/user/balance', text, signature }));
    console.log(`workers ${workers}  balance (signed)  ${Math.round(result.rps)} req/s  p99 ${result.p99_ms.toFixed(2)} ms`);
    service.child.kill('SIGTERM');
    await new Promise((resolve) => service.child.on('exit', resolve));
  }
}
rmSync(dir, { recursive: true, force: true });
