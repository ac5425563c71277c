// Where one exwallet bet spends its time: a single-thread loop of bets under
// V8's sampling CPU profiler (node:inspector, in-process; the same data as
// `node --cpu-prof`), summarised as self time per function. WASM functions
// appear under their export or internal names (e.g. `apply`, `tx_probe`).

import { Session } from 'node:inspector';
import { readFileSync } from 'node:fs';
import { bet, detach, RS_OK } from 'exwallet';
import { Random } from '../tools/random.js';
import { bet_bodies } from './bodies.js';
import { exwallet_for } from './throughput.js';
import { collect_garbage } from './lib.js';

export interface ProfileOptions {
  users: string[];
  calls: number;
  seed: number;
  sampling_interval_us: number;
}

export interface ProfileFrame {
  function: string;
  location: string;
  self_pct: number;
}

export interface ProfileResult {
  calls: number;
  ok: number;
  samples: number;
  sampling_interval_us: number;
  top: ProfileFrame[];
}

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

/** Names of the core's functions by index, from the build's text format
 *  (the release binary carries no name section, so V8 reports
 *  `wasm-function[N]`). Imported functions come first in the index space. */
export function wasm_function_names(): string[] {
  try {
    const wat = readFileSync(new URL('../../build/exwallet.wat', import.meta.url), 'utf8');
    const names: string[] = [];
    for (const line of wat.split('\n')) {
      const imported = /^\s*\(import "[^"]*" "([^"]*)" \(func/.exec(line);
      if (imported) names.push(`import ${imported[1]}`);
    }
    for (const line of wat.split('\n')) {
      const defined = /^\s\(func \$(\S+)/.exec(line);
      if (defined) names.push(defined[1].replace(/^assembly\//, ''));
    }
    return names;
  } catch {
    return [];
  }
}

/** Self time per (function, file:line), largest first. */
export function summarise_profile(profile: CpuProfile, top_count: number): { samples: number; top: ProfileFrame[] } {
  const wasm_names = wasm_function_names();
  const by_id = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, { function: string; location: string; count: number }>();
  for (const id of profile.samples) {
    const frame = by_id.get(id)!.callFrame;
    const file = frame.url.split('/').pop() ?? '';
    const location = file ? `${file}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName}@${location}`;
    const wasm_index = /^wasm-function\[(\d+)\]$/.exec(frame.functionName);
    const name = wasm_index && wasm_names[Number(wasm_index[1])] ? `wasm ${wasm_names[Number(wasm_index[1])]}` : frame.functionName || '(anonymous)';
    const entry = self.get(key) ?? { function: name, location: wasm_index ? 'exwallet.wasm' : location, count: 0 };
    entry.count++;
    self.set(key, entry);
  }
  const samples = profile.samples.length;
  const top = [...self.values()]
    .sort((a, b) => b.count - a.count)
    .slice(0, top_count)
    .map((e) => ({ function: e.function, location: e.location, self_pct: Math.round((e.count / samples) * 1000) / 10 }));
  return { samples, top };
}

export async function run_profile(options: ProfileOptions): Promise<ProfileResult> {
  const warm_calls = Math.min(20_000, options.calls);
  const wallet = exwallet_for(options.users, { bets: warm_calls + options.calls });
  const rng = new Random(options.seed, 11);
  for (const body of bet_bodies(rng, options.users, warm_calls)) bet(wallet, body);
  const bodies = bet_bodies(rng, options.users, options.calls);
  collect_garbage();
  const session = new Session();
  session.connect();
  let ok = 0;
  let profile: CpuProfile;
  try {
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: options.sampling_interval_us });
    await post(session, 'Profiler.start');
    for (let i = 0; i < bodies.length; i++) if (bet(wallet, bodies[i]).status === RS_OK) ok++;
    profile = (await post<{ profile: CpuProfile }>(session, 'Profiler.stop')).profile;
  } finally {
    session.disconnect();
    detach(wallet);
  }
  const summary = summarise_profile(profile, 15);
  return { calls: options.calls, ok, samples: summary.samples, sampling_interval_us: options.sampling_interval_us, top: summary.top };
}
