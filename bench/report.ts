// The results of one run: their JSON shape, the issue #4 targets, the text
// table printed on stdout, and the SVG bar chart of throughput.

import type { SingleResult, WorkersResult } from './throughput.js';
import type { OwnerThreadResult } from './peers/owner_thread.js';
import type { BennyCase } from './benny_suites.js';
import type { LatencyLevel, TimerOverhead } from './latency.js';
import type { MemoryResult } from './memory.js';
import type { BreakdownResult } from './breakdown.js';
import type { ProfileResult } from './profile.js';
import type { ParityReport } from './peers/parity.js';
import { BYTES_IMPLS, BYTES_IMPL_LABELS, type BytesResult, type BytesImpl } from './bytes.js';
import type { BytesBreakdownResult } from './bytes_breakdown.js';
import { human, round3, type BuildIdentity } from './lib.js';

export const SCHEMA = 'exwallet-bench/1';

export interface Target {
  id: string;
  figure: string;
  value: number | null;
  unit: string;
  direction: '>=' | '<=';
  target: number;
  /** value / target (null when value is missing or target is 0). */
  ratio: number | null;
  met: boolean | null;
  note?: string;
}

export interface BenchResults {
  schema: typeof SCHEMA;
  mode: 'full' | 'quick' | 'tiny';
  command: string;
  started_at: string;
  duration_s: number;
  seed: number;
  suites: string[];
  sizes: Record<string, unknown>;
  machine: {
    node: string; v8: string; platform: string; arch: string; cpu_count: number; cpu_model: string;
    total_memory_bytes: number; loadavg_before: number[]; loadavg_after: number[];
  };
  checks: { parity: ParityReport | null; problems: string[] };
  /** The core binary measured, and uncommitted edits of the library's sources at the start of the run. */
  build?: BuildIdentity;
  single?: SingleResult;
  workers?: WorkersResult[];
  scaling_controls?: WorkersResult[];
  owner_thread?: OwnerThreadResult[];
  benny?: BennyCase[];
  latency?: { timer: TimerOverhead; exwallet: LatencyLevel[]; map_wallet: LatencyLevel[] };
  memory?: MemoryResult;
  breakdown?: BreakdownResult;
  profile?: ProfileResult;
  /** Suite `bytes` (issue #13): the object path and the bytes path on JSON bodies, with (a). */
  bytes?: BytesResult;
  bytes_breakdown?: BytesBreakdownResult;
  ratios: Record<string, number | null>;
  targets: Target[];
  /** Issue #13's targets (suite `bytes`). Beside `targets`, not in it: that array is issue #4's, and
   *  tests/bench_smoke.test.ts pins its ids. */
  bytes_targets?: Target[];
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  if (a === undefined || b === undefined || b === 0) return null;
  return Math.round((a / b) * 100) / 100;
}

/** Ratios of the issue, from whatever suites ran. */
export function compute_ratios(r: BenchResults): Record<string, number | null> {
  const workers = (n: number) => r.workers?.find((w) => w.workers === n)?.calls_per_s;
  const owner = (n: number) => r.owner_thread?.find((o) => o.clients === n)?.calls_per_s;
  const control = (mode: string, n: number) => r.scaling_controls?.find((w) => w.mode === mode && w.workers === n)?.calls_per_s;
  return {
    exwallet_over_map_wallet: ratio(r.single?.exwallet.calls_per_s, r.single?.map_wallet.calls_per_s),
    workers_2_over_1: ratio(workers(2), workers(1)),
    workers_2_over_owner_thread_2: ratio(workers(2), owner(2)),
    workers_1_over_single_thread: ratio(workers(1), r.single?.exwallet.calls_per_s),
    owner_thread_2_over_1: ratio(owner(2), owner(1)),
    private_wallets_2_over_1: ratio(control('private', 2), control('private', 1)),
    js_loop_2_over_1: ratio(control('js', 2), control('js', 1)),
    compute_loop_2_over_1: ratio(control('compute', 2), control('compute', 1)),
    ...(r.bytes ? r.bytes.ratios : {}),
  };
}

function target(id: string, figure: string, value: number | null | undefined, unit: string, direction: '>=' | '<=', goal: number, note?: string): Target {
  const v = value ?? null;
  const met = v === null ? null : direction === '>=' ? v >= goal : v <= goal;
  return { id, figure, value: v, unit, direction, target: goal, ratio: v === null || goal === 0 ? null : Math.round((v / goal) * 100) / 100, met, ...(note ? { note } : {}) };
}

/** The issue #4 targets, each with the figure measured in this run. */
export function compute_targets(r: BenchResults): Target[] {
  const ratios = r.ratios;
  const latency = r.latency?.exwallet;
  const deepest = latency && latency.length > 0 ? latency[latency.length - 1] : undefined;
  const latency_note = deepest && deepest.stored < 4_000_000 ? `measured with ${deepest.stored} stored (this mode's largest), not 4M` : undefined;
  const layout = r.memory?.layout;
  const shared = layout && 'shared_bytes_per_tx' in layout ? layout.shared_bytes_per_tx : undefined;
  return [
    target('single_thread_bets_per_s', 'exwallet single thread, bets/s', r.single?.exwallet.calls_per_s, 'calls/s', '>=', 2_500_000),
    target('exwallet_over_map_wallet', 'exwallet / (a) map_wallet, single thread', ratios.exwallet_over_map_wallet, 'x', '>=', 10),
    target('workers_2_over_1', 'exwallet 2 workers / 1 worker', ratios.workers_2_over_1, 'x', '>=', 1.7),
    target('workers_2_over_owner_thread_2', 'exwallet 2 workers / (b) owner thread, 2 clients', ratios.workers_2_over_owner_thread_2, 'x', '>=', 20),
    target('p99_ns', 'exwallet bet p99 latency, 4M stored', deepest?.p99_ns, 'ns', '<=', 1500, latency_note),
    target('p999_ns', 'exwallet bet p99.9 latency, 4M stored', deepest?.p999_ns, 'ns', '<=', 5000, latency_note),
    target('shared_bytes_per_tx', 'exwallet shared memory per tx (layout, per budget unit)', shared, 'B', '<=', 96,
      '= per stored tx once its bet is settled; an open bet holds 2 units (its settlement reserve): twice this reserved per open bet, virtual until used'),
    target('heap_bytes_per_tx', 'exwallet JS heap per stored tx', r.memory?.exwallet.heap_used_bytes_per_tx, 'B', '<=', 0,
      'met when below 1 B (heapUsed after gc moves by a few KiB run to run)'),
  ].map((t) => (t.id === 'heap_bytes_per_tx' && t.value !== null ? { ...t, met: Math.abs(t.value) < 1 } : t));
}

/** Issue #13's targets, from the `bytes` suite: the bytes path against (a) in its best case (objects, no JSON
 *  work), the bytes path's own rate, and the object path on JSON.parse'd bodies against (a). */
export function compute_bytes_targets(r: BenchResults): Target[] {
  const b = r.bytes;
  const ratios = b?.ratios;
  return [
    target('bytes_bets_per_s', 'exwallet betBytes(), single thread, bets/s', b?.best.bytes.calls_per_s, 'calls/s', '>=', 2_500_000),
    target('bytes_over_map_wallet', 'exwallet betBytes() / (a) on objects', ratios?.bytes_over_map_objects, 'x', '>=', 10,
      ratios ? `(a)'s best case; against (a) on the same bytes (JSON.parse + stringify): ${ratios.bytes_over_map_bytes?.toFixed(2) ?? '-'}x` : undefined),
    target('object_over_map_wallet', 'exwallet bet(JSON.parse\'d) / (a), same objects', ratios?.object_over_map_objects, 'x', '>=', 6),
  ];
}

// ---------------------------------------------------------------------------
// Text table.

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function fmt(value: number | null | undefined, unit = ''): string {
  if (value === null || value === undefined) return '-';
  if (unit === 'x') return value.toFixed(2) + 'x';
  if (unit === 'B') return value.toFixed(1) + ' B';
  if (unit === 'ns') return value.toLocaleString('en-US') + ' ns';
  return human(value) + (unit ? ' ' + unit : '');
}

export function render_table(r: BenchResults): string {
  const lines: string[] = [];
  const hr = '-'.repeat(104);
  lines.push(`exwallet bench (${r.mode}) — node ${r.machine.node}, ${r.machine.cpu_count} x ${r.machine.cpu_model}, ` +
    `load avg before/after ${r.machine.loadavg_before[0].toFixed(2)}/${r.machine.loadavg_after[0].toFixed(2)}, ${r.duration_s.toFixed(0)} s`);
  if (r.build) {
    const dirty = r.build.dirty === null ? 'git status unknown' : r.build.dirty.length === 0 ? 'clean' : `uncommitted: ${r.build.dirty.join(', ')}`;
    lines.push(`build: HEAD ${r.build.git_head ?? '?'}, exwallet.wasm ${r.build.wasm_sha256 ?? '?'} (${r.build.wasm_bytes ?? '?'} B, ${r.build.wasm_mtime ?? '?'}); src/ assembly/ ${dirty}`);
  }
  lines.push(hr);
  lines.push(pad('issue #4 target', 52) + pad('value', 14, true) + pad('target', 16, true) + pad('value/target', 14, true) + pad('met', 6, true));
  for (const t of r.targets) {
    lines.push(pad(t.figure, 52) + pad(fmt(t.value, t.unit === 'calls/s' ? '' : t.unit), 14, true) +
      pad(`${t.direction} ${fmt(t.target, t.unit === 'calls/s' ? '' : t.unit)}`, 16, true) + pad(t.ratio === null ? '-' : t.ratio.toFixed(2), 14, true) +
      pad(t.met === null ? '-' : t.met ? 'yes' : 'NO', 6, true));
    if (t.note && t.value !== null && t.id !== 'heap_bytes_per_tx') lines.push('    (' + t.note + ')');
  }
  if (r.bytes_targets && r.bytes_targets.some((t) => t.value !== null)) {
    lines.push(pad('issue #13 target (suite bytes: JSON bodies, 1 thread)', 52));
    for (const t of r.bytes_targets) {
      lines.push(pad(t.figure, 52) + pad(fmt(t.value, t.unit === 'calls/s' ? '' : t.unit), 14, true) +
        pad(`${t.direction} ${fmt(t.target, t.unit === 'calls/s' ? '' : t.unit)}`, 16, true) + pad(t.ratio === null ? '-' : t.ratio.toFixed(2), 14, true) +
        pad(t.met === null ? '-' : t.met ? 'yes' : 'NO', 6, true));
      if (t.note && t.value !== null) lines.push('    (' + t.note + ')');
    }
  }
  lines.push(hr);

  if (r.single || r.workers || r.owner_thread || r.scaling_controls) {
    lines.push('throughput of new bets (calls/s; aggregate = all RS_OK / slowest loop)');
    const row = (label: string, value: number, note: string) => lines.push('  ' + pad(label, 36) + pad(fmt(value), 10, true) + '   ' + note);
    const plural = (n: number, word: string) => `${n} ${word}${n > 1 ? 's' : ''}`;
    if (r.single) {
      const rounds = (impl: 'exwallet' | 'map_wallet') => r.single!.rounds.map((x) => fmt(x[impl])).join(', ');
      row('exwallet, this thread', r.single.exwallet.calls_per_s, `(best of rounds ${rounds('exwallet')}; ${r.single.exwallet.ok}/${r.single.exwallet.calls} RS_OK)`);
      row('(a) map_wallet, this thread', r.single.map_wallet.calls_per_s, `(best of rounds ${rounds('map_wallet')}; ${r.single.map_wallet.ok}/${r.single.map_wallet.calls} RS_OK)`);
    }
    for (const w of r.workers ?? []) {
      const rounds = w.rounds_calls_per_s && w.rounds_calls_per_s.length > 1 ? `best of rounds ${w.rounds_calls_per_s.map((x) => fmt(x)).join(', ')}; ` : '';
      row(`exwallet, ${plural(w.workers, 'worker')}`, w.calls_per_s, `(${rounds}per worker: ${w.per_worker.map((p) => fmt(p.calls_per_s)).join(', ')}; ${w.ok}/${w.calls} RS_OK)`);
    }
    for (const o of r.owner_thread ?? []) {
      row(`(b) owner thread, ${plural(o.clients, 'client')}`, o.calls_per_s, `(${o.inflight} in flight per client; ${o.ok}/${o.calls} RS_OK)`);
    }
    for (const w of r.scaling_controls ?? []) {
      const label = { private: 'control: private wallets', js: 'control: pure-JS loop', compute: 'control: no-alloc loop', shared: 'shared' }[w.mode];
      row(`${label}, ${plural(w.workers, 'worker')}`, w.calls_per_s, `(per worker: ${w.per_worker.map((p) => fmt(p.calls_per_s)).join(', ')})`);
    }
    lines.push('  ratios: ' + Object.entries(r.ratios).map(([k, v]) => `${k} ${v === null ? '-' : v.toFixed(2) + 'x'}`).join(', '));
    lines.push(hr);
  }

  if (r.bytes) {
    const b = r.bytes;
    const n = b.rounds.length;
    lines.push(`single thread on JSON bodies (suite bytes): ${b.calls} new bets after ${b.warmup_calls} warm-up per loop, fresh wallets, ` +
      `best of ${n} round${n > 1 ? 's' : ''}; bodies ${b.body_bytes_mean} B of UTF-8 JSON`);
    lines.push('  ' + pad('loop', 42) + pad('M bets/s', 9, true) + pad('ns/call', 9, true) + '   rounds (M bets/s); checks');
    for (const impl of BYTES_IMPLS) {
      const loop = b.best[impl];
      if (!loop) continue;
      const rounds = b.rounds.map((row) => (row[impl] / 1e6).toFixed(2)).join(', ');
      const fallbacks = loop.fallbacks ? `; fallbacks ${loop.fallbacks.warmup} warm-up + ${loop.fallbacks.timed} timed` : '';
      const slow = loop.slow_checks ? `; ${loop.slow_checks} SLOW CHECKS` : '';
      lines.push('  ' + pad(BYTES_IMPL_LABELS[impl], 42) + pad((loop.calls_per_s / 1e6).toFixed(2), 9, true) + pad(loop.ns_per_call.toFixed(1), 9, true) +
        `   ${rounds}; ${loop.ok}/${loop.calls} RS_OK${fallbacks}${slow}`);
    }
    const x = (value: number | null) => (value === null ? '-' : value.toFixed(2) + 'x');
    lines.push(`  ratios: bytes/(a) objects ${x(b.ratios.bytes_over_map_objects)}, bytes/(a) bytes ${x(b.ratios.bytes_over_map_bytes)}, ` +
      `bytes/object ${x(b.ratios.bytes_over_object)}, into/(a) objects ${x(b.ratios.bytes_into_over_map_objects)}, into/object ${x(b.ratios.bytes_into_over_object)}, object/(a) objects ${x(b.ratios.object_over_map_objects)}, ` +
      `object+JSON/(a)+JSON ${x(b.ratios.object_bytes_over_map_bytes)}, bytes/object+JSON ${x(b.ratios.bytes_over_object_bytes)}`);
    if (n > 1) {
      const per_round = (key: keyof BytesResult['ratios']) => b.rounds.map((row) => x(row.ratios[key])).join(' ');
      lines.push(`  the same within each round: bytes/(a) objects ${per_round('bytes_over_map_objects')}, bytes/(a) bytes ${per_round('bytes_over_map_bytes')}, ` +
        `bytes/object ${per_round('bytes_over_object')}, object/(a) objects ${per_round('object_over_map_objects')}`);
    }
    lines.push(`  parity: the five paths gave the same JSON for ${b.parity.equal}/${b.parity.bodies} bodies (betBytes fallbacks ${b.parity.fallbacks}); ` +
      `order rotates each round (round 1: ${b.rounds[0]?.order.join(' ') ?? '-'})`);
    lines.push(hr);
  }

  if (r.benny) {
    lines.push('benny (benchmark.js), single thread, ops/s');
    lines.push('  ' + pad('op', 10) + pad('exwallet', 14, true) + pad('(a) map', 14, true) + pad('ex/(a)', 9, true) + '   notes');
    const ops = [...new Set(r.benny.map((c) => c.op))];
    for (const op of ops) {
      const ex = r.benny.find((c) => c.op === op && c.impl === 'exwallet');
      const map = r.benny.find((c) => c.op === op && c.impl === 'map_wallet');
      const notes = [ex, map].filter((c): c is BennyCase => c !== undefined).map((c) =>
        `${c.impl}: ±${c.margin_pct}%, ${c.calls} calls, ${c.unexpected_statuses} not ${c.expected_status}${c.fresh ? '' : ', POOL WRAPPED'}`).join('; ');
      lines.push('  ' + pad(op, 10) + pad(fmt(ex?.ops_per_s), 14, true) + pad(fmt(map?.ops_per_s), 14, true) +
        pad(ex && map ? (ex.ops_per_s / map.ops_per_s).toFixed(2) + 'x' : '-', 9, true) + '   ' + notes);
    }
    lines.push(hr);
  }

  if (r.latency) {
    const t = r.latency.timer;
    lines.push(`latency of one bet (ns; ${t.method}: its own cost p50 ${t.performance_now_pair.p50_ns} ns, included; ` +
      `a process.hrtime.bigint() pair costs p50 ${t.hrtime_bigint_pair.p50_ns} ns)`);
    lines.push('  ' + pad('impl', 20) + pad('stored', 10, true) + pad('p50', 9, true) + pad('p99', 9, true) + pad('p99.9', 10, true) +
      pad('max', 12, true) + pad('mean', 8, true) + '   GC during the window');
    for (const level of [...r.latency.exwallet, ...r.latency.map_wallet]) {
      const gc = level.gc;
      const kinds = Object.entries(gc.by_kind).map(([k, v]) => `${k} ${v.count}`).join(', ');
      lines.push('  ' + pad(level.impl, 20) + pad(String(level.stored), 10, true) + pad(String(level.p50_ns), 9, true) +
        pad(String(level.p99_ns), 9, true) + pad(String(level.p999_ns), 10, true) + pad(String(level.max_ns), 12, true) +
        pad(String(level.mean_ns), 8, true) + `   ${gc.count} pauses (${kinds || 'none'}), ${gc.total_ms} ms total, max ${gc.max_ms} ms`);
    }
    lines.push('  (exwallet runs with prefault: true, as a latency-critical service would: no bet pays a first-touch page fault)');
    lines.push(hr);
  }

  if (r.memory) {
    const m = r.memory;
    lines.push('memory per stored transaction (bytes)');
    if ('shared_bytes_per_tx' in m.layout) {
      const l = m.layout;
      const slack = l.release_slack_fraction === null || l.release_slack_fraction === undefined ? '?' : `1/${Math.round(1 / l.release_slack_fraction)}`;
      lines.push(`  exwallet shared memory reserved by layout: ${round3(l.shared_bytes_per_budget_unit ?? l.shared_bytes_per_tx)} B per budget unit ` +
        `(entry ${l.entry_bytes} B + 2 index words of ${l.index_word_bytes} B, × (1 + release slack ${slack}))`);
      if (l.shared_bytes_per_open_bet !== undefined) {
        lines.push(`    an open bet holds ${l.budget_units_per_bet} units (its settlement's reserve): ${round3(l.shared_bytes_per_open_bet)} B reserved per open bet; ` +
          'a bet and its win: 2 transactions in the same 2 units');
      }
    } else {
      lines.push(`  exwallet layout: unavailable (${m.layout.error})`);
    }
    for (const f of [m.exwallet, m.map_wallet]) {
      const budget = f.budget_used === undefined ? '' : `; budget ${f.budget_used} of ${f.tx_max} used, ${f.open_bets} open bets`;
      lines.push(`  ${pad(f.impl, 11)} filling ${f.fill} bets: RSS ${f.rss_bytes_per_tx} B/bet, JS heap used ${f.heap_used_bytes_per_tx} B/bet, ` +
        `RSS - heap total ${f.rss_minus_heap_total_bytes_per_tx} B/bet${budget}`);
      if (f.wallet_resident_bytes_per_bet !== undefined) {
        lines.push(`    resident in the wallet's own mapping: ${f.wallet_resident_bytes_per_bet ?? 'n/a'} B/bet ` +
          `(layout model: entry + the whole index = ${f.model_resident_bytes_per_bet ?? 'n/a'} B/bet; the reserved entries are not touched)`);
      }
    }
    lines.push('  (exwallet fills with prefault: false: RSS counts the pages touched; a bet\'s reserved entry stays untouched until its settlement)');
    lines.push(hr);
  }

  if (r.breakdown) {
    const b = r.breakdown;
    if ('error' in b) {
      lines.push(`cost breakdown: unavailable (${b.error})`);
    } else {
      lines.push(`cost breakdown of one exwallet bet (ns; cumulative stages over ${b.calls} bets each, best of ${b.rounds} rounds)`);
      for (const p of b.parts) lines.push('  ' + pad(p.stage, 26) + pad(p.ns_per_bet.toFixed(1), 9, true) + `   (cumulative ${p.cumulative_ns})`);
    }
    lines.push(hr);
  }

  if (r.bytes_breakdown) {
    const b = r.bytes_breakdown;
    if ('error' in b) {
      lines.push(`cost breakdown of betBytes(): unavailable (${b.error})`);
    } else {
      lines.push(`cost breakdown of one betBytes() (ns; cumulative stages, ${b.calls} bets of ${b.body_bytes_mean} B each per stage and round, ${b.rounds} round${b.rounds > 1 ? 's' : ''}; ` +
        'stages 2-4 as three core calls, "one call" as betBytes() makes it)');
      const total = b.public_ns > 0 ? b.public_ns : 1;
      for (const p of b.parts) {
        lines.push('  ' + pad(p.stage, 36) + pad(p.ns_per_bet.toFixed(1), 9, true) + pad(`${((100 * p.ns_per_bet) / total).toFixed(0)}%`, 6, true) +
          `   (cumulative ${p.cumulative_ns}, chunks p10-p90 ${p.cumulative_p10_ns}-${p.cumulative_p90_ns})`);
      }
      lines.push(`  (each figure: the median ns/bet over ${b.chunks} chunks of ${b.chunk} bets, the stages interleaved chunk by chunk; % of the public call. ` +
        `Checked: ${b.not_parsed} refused by the core, ${b.not_applied} not applied, ${b.not_answered + b.public_not_ok} answers without RS_OK, ` +
        `${b.public_fallbacks} fallbacks)`);
    }
    lines.push(hr);
  }

  if (r.profile) {
    const p = r.profile;
    lines.push(`CPU profile, ${p.calls} exwallet bets in this thread (${p.samples} samples at ${p.sampling_interval_us} us), self time:`);
    for (const f of p.top.slice(0, 12)) lines.push('  ' + pad(f.self_pct.toFixed(1) + '%', 7, true) + '  ' + f.function + (f.location ? '  ' + f.location : ''));
    lines.push(hr);
  }

  const parity = r.checks.parity;
  lines.push(`checks: (a) answers like exwallet on ${parity ? `${parity.equal}/${parity.calls}` : '-'} scripted calls; ` +
    (r.checks.problems.length === 0 ? 'no problems' : `${r.checks.problems.length} problem(s):`));
  for (const problem of r.checks.problems) lines.push('  ! ' + problem);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// SVG: one horizontal bar per throughput figure, linear scale, value labels.

export function escape_xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function render_svg(r: BenchResults): string {
  const bars: Array<{ label: string; value: number; color: string }> = [];
  if (r.single) bars.push({ label: 'exwallet, 1 thread', value: r.single.exwallet.calls_per_s, color: '#2b6cb0' });
  for (const w of r.workers ?? []) bars.push({ label: `exwallet, ${w.workers} worker${w.workers > 1 ? 's' : ''}`, value: w.calls_per_s, color: '#4299e1' });
  if (r.single) bars.push({ label: '(a) Map wallet, 1 thread', value: r.single.map_wallet.calls_per_s, color: '#dd6b20' });
  for (const o of r.owner_thread ?? []) bars.push({ label: `(b) owner thread, ${o.clients} client${o.clients > 1 ? 's' : ''}`, value: o.calls_per_s, color: '#c05621' });
  const width = 760, left = 210, right = 90, bar_height = 22, gap = 8, top = 46;
  const height = top + bars.length * (bar_height + gap) + 40;
  const max = Math.max(1, ...bars.map((b) => b.value), r.targets.find((t) => t.id === 'single_thread_bets_per_s')?.target ?? 0);
  const scale = (value: number) => ((width - left - right) * value) / max;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">New bets per second (${escape_xml(r.mode)} run, ${escape_xml(r.started_at.slice(0, 10))})</text>`);
  bars.forEach((bar, i) => {
    const y = top + i * (bar_height + gap);
    out.push(`<text x="${left - 8}" y="${y + bar_height * 0.7}" text-anchor="end">${escape_xml(bar.label)}</text>`);
    out.push(`<rect x="${left}" y="${y}" width="${scale(bar.value).toFixed(1)}" height="${bar_height}" fill="${bar.color}"/>`);
    out.push(`<text x="${(left + scale(bar.value) + 6).toFixed(1)}" y="${y + bar_height * 0.7}">${human(bar.value)}/s</text>`);
  });
  const goal = r.targets.find((t) => t.id === 'single_thread_bets_per_s');
  if (goal) {
    const x = (left + scale(goal.target)).toFixed(1);
    const bottom = top + bars.length * (bar_height + gap);
    out.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${bottom}" stroke="#2f855a" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${x}" y="${bottom + 16}" text-anchor="middle" fill="#2f855a">target 1 thread: ${human(goal.target)}/s</text>`);
  }
  out.push(`<text x="${left}" y="${height - 6}" font-size="11" fill="#555">node ${escape_xml(r.machine.node)}, ${r.machine.cpu_count} cores; aggregate = all RS_OK / slowest loop</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// SVG of the single-thread figures (single.svg): the `bytes` suite's five
// loops, and the `single` suite's two when it ran; the 2.5M/s target and
// where 6x and 10x (a) on objects fall.

export function render_single_svg(r: BenchResults): string {
  const bars: Array<{ label: string; value: number; ns: number | null; color: string }> = [];
  const colors: Record<BytesImpl, string> = {
    bytes: '#2b6cb0', bytes_into: '#1a365d', object: '#4299e1', object_bytes: '#90cdf4', map_objects: '#dd6b20', map_bytes: '#f6ad55',
  };
  if (r.bytes) {
    for (const impl of BYTES_IMPLS) {
      const loop = r.bytes.best[impl];
      if (loop) bars.push({ label: BYTES_IMPL_LABELS[impl], value: loop.calls_per_s, ns: loop.ns_per_call, color: colors[impl] });
    }
  }
  if (r.single) {
    const ns = (calls_per_s: number) => (calls_per_s > 0 ? Math.round(1e10 / calls_per_s) / 10 : null);
    bars.push({ label: 'exwallet bet(literal object) [single]', value: r.single.exwallet.calls_per_s, ns: ns(r.single.exwallet.calls_per_s), color: '#a0aec0' });
    bars.push({ label: '(a) map_wallet, literal [single]', value: r.single.map_wallet.calls_per_s, ns: ns(r.single.map_wallet.calls_per_s), color: '#cbd5e0' });
  }
  const width = 880, left = 300, right = 130, bar_height = 22, gap = 8, top = 50;
  const bottom = top + bars.length * (bar_height + gap);
  const height = bottom + 62;
  const goal = 2_500_000;
  const map_objects = r.bytes?.best.map_objects?.calls_per_s;
  const marks: Array<{ label: string; value: number; color: string }> = [{ label: `target ${human(goal)}/s`, value: goal, color: '#2f855a' }];
  if (map_objects) {
    marks.push({ label: '6x (a)', value: 6 * map_objects, color: '#805ad5' });
    marks.push({ label: '10x (a)', value: 10 * map_objects, color: '#805ad5' });
  }
  const max = Math.max(1, ...bars.map((b) => b.value), ...marks.map((m) => m.value));
  const scale = (value: number) => ((width - left - right) * value) / max;
  const load = `load ${r.machine.loadavg_before[0].toFixed(2)}→${r.machine.loadavg_after[0]?.toFixed(2) ?? '?'}`;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="bold">New bets per second, one thread (${escape_xml(r.mode)} run, ${escape_xml(r.started_at.slice(0, 10))})</text>`);
  out.push(`<text x="12" y="38" font-size="11" fill="#555">suite bytes: the same JSON bodies (${r.bytes?.body_bytes_mean ?? '-'} B) for its five bars, best of ${r.bytes?.rounds.length ?? 0} rounds; ` +
    '[single]: suite single, object literals; labels: bets/s · ns per call</text>');
  marks.forEach((mark, k) => {
    const x = (left + scale(mark.value)).toFixed(1);
    out.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${bottom}" stroke="${mark.color}" stroke-dasharray="${k === 0 ? '4 3' : '2 3'}"/>`);
    out.push(`<text x="${x}" y="${bottom + 16 + 14 * k}" text-anchor="middle" fill="${mark.color}" font-size="12">${escape_xml(mark.label)}${k === 0 ? '' : ` = ${human(mark.value)}/s`}</text>`);
  });
  bars.forEach((bar, i) => {
    const y = top + i * (bar_height + gap);
    out.push(`<text x="${left - 8}" y="${y + bar_height * 0.7}" text-anchor="end">${escape_xml(bar.label)}</text>`);
    out.push(`<rect x="${left}" y="${y}" width="${scale(bar.value).toFixed(1)}" height="${bar_height}" fill="${bar.color}"/>`);
    const label = `${human(bar.value)}/s${bar.ns === null ? '' : ` · ${bar.ns} ns`}`;
    const x = (left + scale(bar.value) + 6).toFixed(1);
    out.push(`<text x="${x}" y="${y + bar_height * 0.7}" stroke="#fff" stroke-width="4" paint-order="stroke">${label}</text>`);
  });
  const build = r.build ? `; exwallet.wasm ${r.build.wasm_sha256 ?? '?'} at ${r.build.git_head ?? '?'}${r.build.dirty && r.build.dirty.length > 0 ? ' + uncommitted edits' : ''}` : '';
  out.push(`<text x="12" y="${height - 6}" font-size="11" fill="#555">node ${escape_xml(r.machine.node)}, ${r.machine.cpu_count} cores, ${load}${escape_xml(build)}; (a) = peers/map_wallet.ts</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
