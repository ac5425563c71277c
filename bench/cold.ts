// The cold-start suite (issue #13): what the first calls of a FRESH thread
// cost, against the same thread's steady state and against peer (a).
//
//   node tools/build.mjs && node out/bench/cold.js [--samples 5] [--quick] [--out dir]
//
// Every sample is a fresh `node` process (cold_child.ts), so nothing this
// process or an earlier sample ran has tiered up its code: a process whose
// main thread is timed, or a process whose main thread starts the wallet and
// whose fresh worker_thread attaches and is timed (a service's worker). Each
// times 200k new bets in chunks of 100 (pre-built JSON.parse'd bodies,
// 10k users, maxUsers 10k, maxTransactions 1M, in memory). Buckets: calls
// [0, 1k), [1k, 10k), [10k, 100k) and the steady state [100k, 200k); the
// issue's target is the first 10k, [0, 10k), at most 2x the steady state.
// Variants run round-robin (sample 1 of every variant, then sample 2, …) so
// a burst of load elsewhere spreads over all of them; medians are reported.
//
// Output: the table on stdout, <out>/cold.json (schema exwallet-bench-cold/1)
// and <out>/cold.svg (ns per call against the call index, both log scale).
// --out defaults to bench/results, or bench/results/quick.tmp for --quick.

import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import os from 'node:os';
import { log, human } from './lib.js';
import { escape_xml } from './report.js';
import { parse_flags, integer_flag, usage_line, UsageError, EXIT_USAGE } from '../tools/cli.js';
import type { ColdChildInput, ColdChildOutput, ColdImpl, ColdThread, ColdWarmup } from './cold_child.js';

export const COLD_SCHEMA = 'exwallet-bench-cold/1';

interface Variant {
  /** For --variants. */
  id: string;
  label: string;
  impl: ColdImpl;
  prefault: boolean;
  warmup: ColdWarmup;
  /** The bytes path (betBytes on each body's JSON text). */
  bytes?: boolean;
  color: string;
}

const VARIANTS: readonly Variant[] = [
  { id: 'exwallet', label: 'exwallet', impl: 'exwallet', prefault: false, warmup: 'none', color: '#90cdf4' },
  { id: 'warmup', label: 'exwallet + warmup', impl: 'exwallet', prefault: false, warmup: 'samples', color: '#4299e1' },
  { id: 'prefault', label: 'exwallet + prefault', impl: 'exwallet', prefault: true, warmup: 'none', color: '#9ae6b4' },
  { id: 'prefault+warmup', label: 'exwallet + prefault + warmup', impl: 'exwallet', prefault: true, warmup: 'samples', color: '#2f855a' },
  { id: 'prefault+warmup-default', label: 'exwallet + prefault + warmup (default samples)', impl: 'exwallet', prefault: true, warmup: 'default', color: '#805ad5' },
  { id: 'bytes', label: 'exwallet bytes path + prefault', impl: 'exwallet', prefault: true, warmup: 'none', bytes: true, color: '#f6ad55' },
  { id: 'bytes+warmup', label: 'exwallet bytes path + prefault + warmup', impl: 'exwallet', prefault: true, warmup: 'samples', bytes: true, color: '#c05621' },
  { id: 'map', label: '(a) Map wallet', impl: 'map_wallet', prefault: false, warmup: 'none', color: '#dd6b20' },
];
const THREADS: readonly ColdThread[] = ['process', 'worker'];

/** [from, to) call ranges; the last one is the steady state. */
const BUCKETS = [[0, 1_000], [1_000, 10_000], [10_000, 100_000], [100_000, 200_000]] as const;
const FIRST_10K = [0, 10_000] as const;
const TARGET_RATIO = 2;
/** The steady state the warm-up variants are also held to (see render_cold_table). */
const REFERENCE_LABEL = 'exwallet + prefault';

function ratio_cell(ratio: number): string {
  return `${ratio.toFixed(2)}x${ratio <= TARGET_RATIO ? ' ok' : ''}`;
}

interface Sizes {
  samples: number;
  calls: number;
  chunk: number;
  users: number;
  users_max: number;
  tx_max: number;
}

const SIZES: Record<'full' | 'quick', Sizes> = {
  full: { samples: 7, calls: 200_000, chunk: 100, users: 10_000, users_max: 10_000, tx_max: 1_000_000 },
  quick: { samples: 2, calls: 200_000, chunk: 100, users: 10_000, users_max: 10_000, tx_max: 1_000_000 },
};

/** ns per call over [from, to) of one sample (chunk_end_ns are cumulative). */
function ns_per_call(output: ColdChildOutput, from: number, to: number): number {
  const end = (calls: number) => (calls === 0 ? 0 : output.chunk_end_ns[calls / output.chunk - 1]!);
  return (end(to) - end(from)) / (to - from);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Log-spaced chunk boundaries from one chunk to `calls`, ~8 per decade, for the chart. */
function curve_edges(calls: number, chunk: number): number[] {
  const edges = [0];
  for (let k = 0; ; k++) {
    const edge = Math.round((chunk * 10 ** (k / 8)) / chunk) * chunk;
    if (edge >= calls) break;
    if (edge > edges[edges.length - 1]!) edges.push(edge);
  }
  edges.push(calls);
  return edges;
}

interface VariantResult {
  label: string;
  impl: ColdImpl;
  thread: ColdThread;
  prefault: boolean;
  warmup: ColdWarmup;
  samples: number;
  /** Median ns per call of each bucket, and every sample's value. */
  buckets: Array<{ from: number; to: number; median_ns: number; samples_ns: number[] }>;
  first_10k_median_ns: number;
  steady_median_ns: number;
  /** first 10k / steady state, per sample, and the median of those ratios. */
  first_10k_over_steady: number;
  /** Median minor page faults per call in each bucket. */
  faults_per_call: number[];
  /** Median ns per call between consecutive curve edges (the chart). */
  curve: Array<{ from: number; to: number; median_ns: number }>;
  /** exwallet + warm-up: warmup()'s time and calls (medians), and whether it settled in every sample. */
  warmup_ms: number | null;
  warmup_calls: number | null;
  warmup_settled_all: boolean | null;
  /** Every sample's warmup() report (ms, calls, ns per call of each generation). */
  warmup_reports: Array<ColdChildOutput['warmup']>;
  start_ms: number;
  failures: string[];
}

function run_child(input: ColdChildInput, node_flags: readonly string[], timeout_ms: number): ColdChildOutput {
  const child = fileURLToPath(new URL('./cold_child.js', import.meta.url));
  const result = spawnSync(process.execPath, ['--expose-gc', ...node_flags, child, JSON.stringify(input)], { encoding: 'utf8', timeout: timeout_ms });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`cold child ${JSON.stringify(input)} exited with ${result.status}: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split('\n').pop()!) as ColdChildOutput;
}

function summarise(variant: Variant, thread: ColdThread, outputs: ColdChildOutput[], sizes: Sizes): VariantResult {
  const buckets = BUCKETS.filter(([, to]) => to <= sizes.calls).map(([from, to]) => {
    const samples_ns = outputs.map((o) => ns_per_call(o, from, to));
    return { from, to, median_ns: Math.round(median(samples_ns)), samples_ns: samples_ns.map(Math.round) };
  });
  const steady = buckets[buckets.length - 1]!;
  const first = outputs.map((o) => ns_per_call(o, FIRST_10K[0], FIRST_10K[1]));
  const ratios = outputs.map((o, i) => first[i]! / ns_per_call(o, steady.from, steady.to));
  const faults_per_call = buckets.map((_, b) => median(outputs.map((o) => (o.faults[b + 1]! - o.faults[b]!) / (o.fault_marks[b + 1]! - o.fault_marks[b]!))));
  const edges = curve_edges(sizes.calls, sizes.chunk);
  const curve = edges.slice(1).map((to, i) => ({ from: edges[i]!, to, median_ns: Math.round(median(outputs.map((o) => ns_per_call(o, edges[i]!, to)))) }));
  const warmed = outputs.filter((o) => o.warmup_ms !== null);
  const failures = outputs.filter((o) => o.ok !== o.calls).map((o) => `${o.calls - o.ok} of ${o.calls} not RS_OK (first: ${o.first_failure})`);
  return {
    label: variant.label, impl: variant.impl, thread, prefault: variant.prefault, warmup: variant.warmup, samples: outputs.length,
    buckets, first_10k_median_ns: Math.round(median(first)), steady_median_ns: steady.median_ns,
    first_10k_over_steady: Math.round(median(ratios) * 100) / 100,
    faults_per_call: faults_per_call.map((f) => Math.round(f * 1000) / 1000), curve,
    warmup_ms: warmed.length ? Math.round(median(warmed.map((o) => o.warmup_ms!))) : null,
    warmup_calls: warmed.length ? Math.round(median(warmed.map((o) => o.warmup!.calls))) : null,
    warmup_settled_all: warmed.length ? warmed.every((o) => o.warmup!.settled) : null,
    warmup_reports: warmed.map((o) => o.warmup),
    start_ms: Math.round(median(outputs.map((o) => o.start_ms))), failures,
  };
}

// ---------------------------------------------------------------------------
// Table and chart.

/** 1000 -> "1k", 200000 -> "200k". */
function calls_label(calls: number): string {
  return calls >= 1000 ? `${calls / 1000}k` : String(calls);
}

function fmt_ns(ns: number): string {
  return ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${ns.toLocaleString('en-US')} ns`;
}

export function render_cold_table(results: VariantResult[]): string {
  const lines: string[] = [];
  for (const thread of THREADS) {
    const rows = results.filter((r) => r.thread === thread);
    if (rows.length === 0) continue;
    const map = rows.find((r) => r.impl === 'map_wallet');
    lines.push('', `fresh ${thread === 'process' ? 'process (its main thread)' : 'worker_thread (in a fresh process; the main thread started the wallet)'}, median of ${rows[0]!.samples}, ns per bet:`);
    // The same thread kind's steady state without a warm-up: the warm-up's
    // polymorphic code may be a little slower per call, which would flatter
    // its own ratio.
    const reference = rows.find((r) => r.label === REFERENCE_LABEL);
    const head = ['variant', ...rows[0]!.buckets.map((b) => `${calls_label(b.from)}-${calls_label(b.to)}`), 'first 10k', '10k / steady', '10k / ref steady', 'vs (a) first 10k', 'warm-up'];
    const table = rows.map((r) => [
      r.label, ...r.buckets.map((b) => fmt_ns(b.median_ns)), fmt_ns(r.first_10k_median_ns),
      ratio_cell(r.first_10k_over_steady),
      reference && r.impl === 'exwallet' ? ratio_cell(r.first_10k_median_ns / reference.steady_median_ns) : '-',
      map && r !== map ? `${(r.first_10k_median_ns / map.first_10k_median_ns).toFixed(2)}x` : '-',
      r.warmup_ms === null ? '-' : `${r.warmup_ms} ms, ${human(r.warmup_calls!)} calls${r.warmup_settled_all ? '' : ' (bound)'}`,
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
    lines.push(head.map((h, i) => (i === 0 ? h.padEnd(widths[i]!) : h.padStart(widths[i]!))).join('  '));
    for (const row of table) lines.push(row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
    if (reference) lines.push(`  ref steady = ${REFERENCE_LABEL}, calls 100k-200k: ${fmt_ns(reference.steady_median_ns)}`);
    lines.push(`  bucket / steady: ${rows.map((r) => `${r.label}: ${r.buckets.map((b) => (b.median_ns / r.steady_median_ns).toFixed(1)).join(' / ')}`).join('; ')}`);
    lines.push(`  page faults per call: ${rows.map((r) => `${r.label}: ${r.faults_per_call.map((f) => f.toFixed(2)).join(' / ')}`).join('; ')}`);
  }
  const failures = results.flatMap((r) => r.failures.map((f) => `${r.label} (${r.thread}): ${f}`));
  lines.push('', failures.length === 0 ? 'checks: every bet answered RS_OK' : `checks: ${failures.length} sample(s) failed:\n  ! ${failures.join('\n  ! ')}`);
  return lines.join('\n');
}

/** Axis labels: 500 ns, 2 µs, 1 ms. */
function axis_ns(ns: number): string {
  if (ns >= 1e6) return `${ns / 1e6} ms`;
  if (ns >= 1e3) return `${ns / 1e3} µs`;
  return `${ns} ns`;
}

export function render_cold_svg(results: VariantResult[], subtitle: string): string {
  const panel_width = 470, panel_height = 300, left = 64, top = 62, gap = 40, legend_height = 20 * Math.ceil(VARIANTS.length / 2) + 30;
  const width = left + 2 * panel_width + gap + 20, height = top + panel_height + 40 + legend_height;
  const all = results.flatMap((r) => r.curve.map((p) => p.median_ns));
  const y_min_log = Math.floor(Math.log10(Math.max(1, Math.min(...all)))), y_max_log = Math.ceil(Math.log10(Math.max(...all)));
  const x_min_log = 2, x_max_log = Math.log10(Math.max(...results.flatMap((r) => r.curve.map((p) => p.to))));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="bold">Cold start: ns per bet against the call index, log-log (median of fresh processes)</text>`);
  out.push(`<text x="${left}" y="36" fill="#555">${escape_xml(subtitle)}</text>`);
  THREADS.forEach((thread, p) => {
    const x0 = left + p * (panel_width + gap);
    const xs = (calls: number) => x0 + (panel_width * (Math.log10(calls) - x_min_log)) / (x_max_log - x_min_log);
    const ys = (ns: number) => top + panel_height - (panel_height * (Math.log10(ns) - y_min_log)) / (y_max_log - y_min_log);
    out.push(`<rect x="${x0}" y="${top}" width="${panel_width}" height="${panel_height}" fill="none" stroke="#999"/>`);
    out.push(`<text x="${x0 + panel_width / 2}" y="${top - 4}" text-anchor="middle" font-weight="bold">fresh ${thread === 'process' ? 'process' : 'worker_thread'}</text>`);
    for (let e = y_min_log; e <= y_max_log; e++) {
      for (const m of e < y_max_log ? [1, 2, 5] : [1]) {
        const y = ys(m * 10 ** e).toFixed(1);
        out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + panel_width}" y2="${y}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
        if (p === 0) out.push(`<text x="${x0 - 4}" y="${y}" text-anchor="end" dominant-baseline="middle" fill="#555">${escape_xml(axis_ns(m * 10 ** e))}</text>`);
      }
    }
    for (let e = x_min_log; e <= Math.floor(x_max_log); e++) {
      const x = xs(10 ** e).toFixed(1);
      out.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + panel_height}" stroke="#ddd"/>`);
      out.push(`<text x="${x}" y="${top + panel_height + 14}" text-anchor="middle" fill="#555">${calls_label(10 ** e)}</text>`);
    }
    out.push(`<text x="${x0 + panel_width / 2}" y="${top + panel_height + 30}" text-anchor="middle" fill="#555">call index (each point: the median ns per call between it and the previous one)</text>`);
    const reference = results.find((x) => x.thread === thread && x.label === REFERENCE_LABEL);
    if (reference) {
      const y = ys(reference.steady_median_ns * TARGET_RATIO).toFixed(1);
      out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + panel_width}" y2="${y}" stroke="#333" stroke-dasharray="5 4"/>`);
      out.push(`<text x="${x0 + 4}" y="${Number(y) + 12}" fill="#333">2x the steady state of ${escape_xml(REFERENCE_LABEL)}</text>`);
    }
    for (const r of results.filter((x) => x.thread === thread)) {
      const color = VARIANTS.find((v) => v.label === r.label)?.color ?? '#999';
      const points = r.curve.map((c) => `${xs(c.to).toFixed(1)},${ys(Math.max(1, c.median_ns)).toFixed(1)}`).join(' ');
      out.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`);
    }
  });
  VARIANTS.filter((v) => results.some((r) => r.label === v.label)).forEach((v, i) => {
    const x = left + (i % 2) * (panel_width + gap), y = top + panel_height + 52 + 20 * Math.floor(i / 2);
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${v.color}" stroke-width="3"/>`);
    out.push(`<text x="${x + 30}" y="${y + 4}">${escape_xml(v.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------

const FLAGS = {
  samples: { type: 'string' },
  quick: { type: 'boolean' },
  out: { type: 'string' },
  threads: { type: 'string' },
  variants: { type: 'string' },
  'node-flags': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const USAGE = 'node out/bench/cold.js [--samples N] [--quick] [--threads process,worker] [--variants id,id] [--node-flags="..."] [--out dir]\n' +
  `  variants: ${VARIANTS.map((v) => v.id).join(' ')}; --node-flags: V8/node flags for every fresh process (an experiment: they are in cold.json)\n` +
  '  see bench/README.md, "Cold start"';

async function main(): Promise<void> {
  const values = parse_flags(process.argv.slice(2), FLAGS);
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const mode = values.quick ? 'quick' : 'full';
  const sizes = { ...SIZES[mode] };
  sizes.samples = integer_flag('samples', values.samples, sizes.samples, 1, 100);
  const threads = values.threads === undefined ? [...THREADS] : values.threads.split(',').map((t) => t.trim());
  for (const thread of threads) if (!(THREADS as readonly string[]).includes(thread)) throw new UsageError(`unknown thread kind ${thread}; kinds: ${THREADS.join(' ')}`);
  const ids = values.variants === undefined ? VARIANTS.map((v) => v.id) : values.variants.split(',').map((v) => v.trim());
  for (const id of ids) if (!VARIANTS.some((v) => v.id === id)) throw new UsageError(`unknown variant ${id}; variants: ${VARIANTS.map((v) => v.id).join(' ')}`);
  const variants = VARIANTS.filter((v) => ids.includes(v.id));
  const node_flags = values['node-flags'] === undefined ? [] : values['node-flags'].split(/\s+/).filter(Boolean);
  const started = new Date();
  const loadavg_before = os.loadavg();
  if (loadavg_before[0] > 0.5) log(`warning: load average ${loadavg_before[0].toFixed(2)} before the run; figures will be noisy`);
  const outputs = new Map<string, ColdChildOutput[]>();
  const key = (v: Variant, thread: string) => `${v.label}|${thread}`;
  for (let sample = 0; sample < sizes.samples; sample++) {
    for (const thread of threads as ColdThread[]) {
      for (const variant of variants) {
        const input: ColdChildInput = {
          impl: variant.impl, thread, prefault: variant.prefault, warmup: variant.warmup, bytes: variant.bytes === true,
          calls: sizes.calls, chunk: sizes.chunk, users: sizes.users, users_max: sizes.users_max, tx_max: sizes.tx_max, seed: 1 + sample,
        };
        const output = run_child(input, node_flags, 120_000);
        outputs.set(key(variant, thread), [...(outputs.get(key(variant, thread)) ?? []), output]);
        log(`sample ${sample + 1}/${sizes.samples} ${thread} ${variant.label}: first 10k ${Math.round(ns_per_call(output, 0, 10_000))} ns/bet, ` +
          `steady ${Math.round(ns_per_call(output, 100_000, 200_000))} ns/bet${output.warmup_ms === null ? '' : `, warm-up ${Math.round(output.warmup_ms)} ms`}`);
      }
    }
  }
  const results = (threads as ColdThread[]).flatMap((thread) => variants.map((variant) => summarise(variant, thread, outputs.get(key(variant, thread))!, sizes)));
  const loadavg_after = os.loadavg();
  const run = {
    schema: COLD_SCHEMA, mode, command: `node ${process.execArgv.join(' ')} ${process.argv.slice(1).join(' ')}`.replace(/\s+/g, ' ').trim(),
    started_at: started.toISOString(), duration_s: Math.round((Date.now() - started.getTime()) / 100) / 10, sizes, node_flags,
    machine: {
      node: process.versions.node, v8: process.versions.v8, platform: process.platform, arch: process.arch,
      cpu_count: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? 'unknown', loadavg_before, loadavg_after,
    },
    target: { what: 'first 10k calls of a fresh thread / its steady state (calls 100k-200k)', ratio_max: TARGET_RATIO, reference: REFERENCE_LABEL },
    targets: results.filter((r) => r.impl === 'exwallet').map((r) => {
      const reference = results.find((x) => x.thread === r.thread && x.label === REFERENCE_LABEL) ?? r;
      const vs_reference = Math.round((r.first_10k_median_ns / reference.steady_median_ns) * 100) / 100;
      return { label: r.label, thread: r.thread, first_10k_over_steady: r.first_10k_over_steady, first_10k_over_reference_steady: vs_reference, met: Math.max(r.first_10k_over_steady, vs_reference) <= TARGET_RATIO };
    }),
    results,
  };
  const out = values.out ?? fileURLToPath(new URL(mode === 'full' ? '../../bench/results' : '../../bench/results/quick.tmp', import.meta.url));
  mkdirSync(out, { recursive: true });
  const json_path = join(out, 'cold.json');
  writeFileSync(`${json_path}.tmp`, JSON.stringify(run, null, 2) + '\n');
  renameSync(`${json_path}.tmp`, json_path);
  const subtitle = `${mode} run ${run.started_at.slice(0, 16)}Z, node ${run.machine.node}, ${run.machine.cpu_count} cores, load ${loadavg_before[0].toFixed(2)}→${loadavg_after[0].toFixed(2)}, ` +
    `${sizes.samples} fresh processes per variant${node_flags.length ? `, node ${node_flags.join(' ')}` : ''}`;
  writeFileSync(join(out, 'cold.svg'), render_cold_svg(results, subtitle));
  process.stdout.write(`exwallet cold start (${subtitle})\n` + render_cold_table(results) + '\n');
  log(`wrote ${json_path} and ${join(out, 'cold.svg')}`);
  if (results.some((r) => r.failures.length > 0)) process.exitCode = 2;
}

// Run as a script (not when another module imports the renderers).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    if (error instanceof UsageError) {
      process.stderr.write(usage_line('bench/cold', error.message) + '\n');
      process.exit(EXIT_USAGE);
    }
    log(`cold bench failed: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  });
}
