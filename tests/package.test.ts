// The package as a project gets it: `npm pack`, installed from the tarball
// into a fresh project (offline: exwallet has no runtime dependencies), then
// used from plain JavaScript and from strict TypeScript, and a misuse that
// the types must refuse. Nothing here imports the library in-process: what
// is tested is what the tarball carries.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // out/tests/ → the repository
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
/** Every step has a deadline: a hung npm fails the test instead of hanging it. */
const STEP_DEADLINE_MS = 60_000;

const workspace = mkdtempSync(join(tmpdir(), 'exwallet-package-'));
const consumer = join(workspace, 'consumer');

function sh(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: STEP_DEADLINE_MS });
  if (result.error) throw result.error;
  return result;
}

function ok(result: SpawnSyncReturns<string>, what: string): string {
  assert.is(result.status, 0, `${what} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

// The same bet in every consumer (the README's).
const BET_BODY = `{
  user: 'alice', currency: 'USD', amount: 500, game_code: 'sweet_bonanza', round: 'r-1',
  transaction_uuid: '6f1c4a52-9a3e-4d8e-b1f4-0c2e6d7a9b10', request_uuid: 'c4f8e2a1-3b5d-4c6e-8f9a-1b2c3d4e5f60',
}`;

const CONSUMER_BODY = `
const wallet = start({ maxUsers: 16, maxTransactions: 1024, maxThreads: 4 });
createUsers(wallet, ['alice', 'bob']);
const answer = bet(wallet, ${BET_BODY});
if (answer.status !== RS_OK || answer.balance !== 99_500 || answer.user !== 'alice') {
  throw new Error('unexpected answer ' + JSON.stringify(answer));
}
const replay = bet(wallet, ${BET_BODY});
if (replay.balance !== 99_500) throw new Error('a replay must get the original answer');
detach(wallet);
console.log('consumer ok ' + answer.balance);
`;

let tarball = '';

test('npm pack ships the library only: dist/, the wasm, README, LICENSE; no runtime dependency', () => {
  // --ignore-scripts: `npm test` has built already (pretest); prepare would only re-check it.
  const packed = JSON.parse(ok(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', workspace], ROOT), 'npm pack')) as
    Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(workspace, packed[0]!.filename);
  const paths = packed[0]!.files.map((f) => f.path);
  for (const needed of ['dist/index.js', 'dist/index.d.ts', 'build/exwallet.wasm', 'README.md', 'LICENSE', 'package.json']) {
    assert.ok(paths.includes(needed), `${needed} is in the tarball`);
  }
  // The bin entry is packed by npm whatever "files" says; nothing else of the apps is.
  const outside = paths.filter((p) => !/^(dist\/|build\/exwallet\.wasm$|README\.md$|LICENSE$|package\.json$|docs\/|out\/bin\/exwallet\.js$)/.test(p));
  assert.equal(outside, [], 'nothing but the library');
  assert.not.ok(paths.some((p) => p.endsWith('.tsbuildinfo')), 'no build state');
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: object };
  assert.is(manifest.dependencies, undefined, 'zero runtime dependencies');
});

test('the tarball installs offline into a fresh project', () => {
  mkdirSync(consumer);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  ok(sh('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], consumer), 'npm install');
  const installed = readdirSync(join(consumer, 'node_modules', 'exwallet', 'dist'));
  assert.ok(installed.includes('index.js'));
});

test('the installed exwallet bin runs without the apps: --help, and load says where the apps are', () => {
  const bin = join(consumer, 'node_modules', '.bin', 'exwallet');
  assert.match(ok(sh(bin, ['--help'], consumer), 'exwallet --help'), /Usage: exwallet <command>/);
  const load = sh(bin, ['load'], consumer);
  assert.is(load.status, 2);
  assert.match(load.stderr, /^exwallet load: not in this installation .*\n$/);
});

test('a plain JavaScript ESM consumer starts a wallet, creates users, bets and gets the answer', () => {
  writeFileSync(join(consumer, 'plain.mjs'), `import { start, createUsers, bet, detach, RS_OK } from 'exwallet';\n${CONSUMER_BODY}`);
  assert.match(ok(sh(process.execPath, ['plain.mjs'], consumer), 'node plain.mjs'), /^consumer ok 99500\n$/);
});

/** A strict consumer's tsconfig: no skipLibCheck, the default lib, and only
 *  @types/node (the repository's: the consumer has no node_modules/@types). */
function write_tsconfig(name: string, files: string[], emit: boolean): void {
  writeFileSync(join(consumer, name), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true,
      typeRoots: [join(ROOT, 'node_modules', '@types')], types: ['node'],
      ...(emit ? { outDir: 'built' } : { noEmit: true }),
    },
    files,
  }));
}

test('a strict TypeScript consumer (no skipLibCheck) type-checks against the shipped .d.ts and runs', () => {
  writeFileSync(join(consumer, 'typed.ts'), `import { start, createUsers, bet, detach, RS_OK, type WalletResponse } from 'exwallet';
${CONSUMER_BODY.replace('const answer = bet(', 'const answer: WalletResponse = bet(')}`);
  write_tsconfig('tsconfig.json', ['typed.ts'], true);
  ok(sh(TSC, ['-p', 'tsconfig.json'], consumer), 'tsc (strict consumer)');
  assert.match(ok(sh(process.execPath, ['built/typed.js'], consumer), 'node built/typed.js'), /^consumer ok 99500\n$/);
});

test('the types refuse misuse: a misspelled or missing field of a bet, an internal name', () => {
  const misuses: Record<string, string> = {
    // `amout`: a misspelled required field must not pass as an extra field.
    'misspelled_field.ts': `import { start, bet } from 'exwallet';
bet(start(), { user: 'alice', currency: 'USD', amout: 5, transaction_uuid: 't', request_uuid: 'r' });`,
    'missing_field.ts': `import { start, bet } from 'exwallet';
bet(start(), { user: 'alice', currency: 'USD', transaction_uuid: 't', request_uuid: 'r' });`,
    'internal_name.ts': `import { STATUS_OF_CORE } from 'exwallet';
console.log(STATUS_OF_CORE);`,
  };
  for (const [file, text] of Object.entries(misuses)) writeFileSync(join(consumer, file), text + '\n');
  write_tsconfig('tsconfig.misuse.json', Object.keys(misuses), false);
  const result = sh(TSC, ['-p', 'tsconfig.misuse.json', '--pretty', 'false'], consumer);
  assert.is.not(result.status, 0, 'tsc must fail');
  // One error at least in each file: every misuse is refused on its own.
  for (const file of Object.keys(misuses)) {
    assert.ok(result.stdout.includes(`${file}(`), `${file} must not compile; tsc said:\n${result.stdout}`);
  }
});

test('clean up', () => {
  rmSync(workspace, { recursive: true, force: true });
});

test.run();
