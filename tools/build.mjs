// The build, incremental: `npm run build`, and before `npm test` / `npm start`.
// Plain JavaScript, because it runs before anything is compiled.
//
//   build/exwallet.wasm  asc, only when assembly/, src/layout_constants.ts or
//                        asconfig.json is newer than it
//   dist/, out/          tsc -b (tsconfig.json), only when a .ts source or a
//                        config is newer than the last successful build's stamp
//
// Up to date, it stats ~200 files and prints nothing (stdout stays the app's:
// `npm start -s -- --json` must print only the report), in tens of ms.
//
// --if-possible (the `prepare` script): npm runs `prepare` on `npm install`
// in a clone (devDependencies present: a full build), but also on installs
// where devDependencies are absent (--omit=dev, some git/directory installs):
// there, a missing compiler is a note on stderr and exit 0, not a failed
// install (`asc: not found`). A packed tarball ships dist/ and the wasm
// prebuilt, so its installs need no compiler at all.

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync, utimesSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate_texts } from './gen_texts.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const if_possible = process.argv.includes('--if-possible');

const WASM = 'build/exwallet.wasm';
const WASM_INPUTS = ['assembly', 'src/layout_constants.ts', 'asconfig.json'];
const TS_STAMP = 'build/.tsc-stamp';
const TS_INPUTS = ['src', 'tests', 'bench', 'load', 'tools', 'bin', 'examples', 'serve', 'package.json',
  'tsconfig.json', 'tsconfig.base.json', 'tsconfig.lib.json', 'tsconfig.tools.json'];
/** Outputs whose absence forces a build whatever the stamp says (a deleted dist/). */
const TS_OUTPUTS = ['dist/index.js', 'dist/index.d.ts', 'out/bin/exwallet.js'];

/** Newest modification time (ms) of the .ts/.json files under `paths`. */
function newest_mtime_ms(paths) {
  let newest = 0;
  const visit = (path) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) return;
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) if (name !== 'node_modules' && name !== 'results') visit(join(path, name));
    } else if (/\.(ts|json|mjs)$/.test(path)) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const path of paths) visit(join(ROOT, path));
  return newest;
}

const mtime_ms = (path) => statSync(join(ROOT, path), { throwIfNoEntry: false })?.mtimeMs ?? -1;
const bin = (name) => join(ROOT, 'node_modules', '.bin', name);

function run(command, args) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: ['ignore', 2, 2] }); // stdout → stderr, see above
  if (result.error) throw result.error;
  if (result.status !== 0) process.exit(result.status ?? 1);
}

/** A compiler is missing: fatal, or under --if-possible a note. */
function missing(tool, output) {
  const message = `exwallet build: ${tool} is not installed (devDependencies omitted?)`;
  if (!if_possible) {
    process.stderr.write(`${message}; run npm install first\n`);
    process.exit(1);
  }
  process.stderr.write(`${message}: ${existsSync(join(ROOT, output)) ? `keeping the prebuilt ${output}` : `${output} not built`}\n`);
}

function build_wasm() {
  generate_texts(); // assembly/texts.ts, rewritten only when it changes
  if (mtime_ms(WASM) >= newest_mtime_ms(WASM_INPUTS)) return;
  if (!existsSync(bin('asc'))) return missing('asc (assemblyscript)', WASM);
  run(bin('asc'), ['assembly/index.ts', '--target', 'release']);
}

function build_ts() {
  const stamp_ms = mtime_ms(TS_STAMP);
  if (stamp_ms >= newest_mtime_ms(TS_INPUTS) && TS_OUTPUTS.every((path) => mtime_ms(path) >= 0)) return;
  if (!existsSync(bin('tsc'))) return missing('tsc (typescript)', 'dist/index.js');
  // The stamp gets the time the build STARTED: a file saved during the build
  // is newer than it, and the next build sees it.
  const started = new Date();
  run(bin('tsc'), ['-b', 'tsconfig.json']);
  mkdirSync(join(ROOT, 'build'), { recursive: true });
  writeFileSync(join(ROOT, TS_STAMP), '');
  utimesSync(join(ROOT, TS_STAMP), started, started);
}

build_wasm();
build_ts();
