// The forever suite's text tables (stdout) and its SVG chart: per window
// W, latency (p99, p99.9, max; log scale) and throughput per slice of W/2
// transactions, durable vs memory, with a tick at every rotation and a mark
// at every journal checkpoint. Self-contained: report.ts draws bars only.

import { human } from './lib.js';
import type { ForeverResults } from './forever.js';
import type { FlatResult, LaneResult } from './forever_flat.js';
import type { CostResult } from './forever_costs.js';
import type { PacedResult } from './forever_paced.js';

const int = (value: number) => Math.round(value).toLocaleString('en-US');
const us = (ns: number) => (ns / 1000 >= 100 ? int(ns / 1000) : (ns / 1000).toFixed(ns / 1000 >= 10 ? 1 : 2));
const mib = (bytes: number) => (bytes / 2 ** 20 >= 100 ? int(bytes / 2 ** 20) : (bytes / 2 ** 20).toFixed(1));
const gb = (bytes: number) => (bytes / 1e9 >= 10 ? int(bytes / 1e9) : (bytes / 1e9).toFixed(2));
const ms_or_us = (value_us: number) =>
  value_us >= 1000 ? `${(value_us / 1000).toFixed(value_us >= 10_000 ? 0 : 1)} ms` : `${value_us < 10 ? value_us.toFixed(1) : int(value_us)} µs`;
const pct = (rate: number) => (rate === 0 ? '0' : rate >= 0.01 ? (rate * 100).toFixed(2) + ' %' : (rate * 100).toPrecision(2) + ' %');

function pad(text: string | number, width: number, right = true): string {
  const s = String(text);
  return right ? s.padStart(width) : s.padEnd(width);
}

const fmt3 = (v: { p50: number; p90: number; max: number }) => `${v.p50} / ${v.p90} / ${v.max}`;

function lane_line(lane: LaneResult): string {
  const l = lane.latency;
  return `  ${pad(lane.lane, 8, false)} ${pad(int(lane.calls_per_s), 10)} ${pad(us(l.p50_ns), 8)} ${pad(us(l.p99_ns), 8)} ${pad(us(l.p999_ns), 8)} ${pad(us(l.max_ns), 10)}   ` +
    `${int(lane.ok)}/${int(lane.calls)} RS_OK, ${int(lane.wall_ms)} ms on its clock`;
}

function flat_lines(f: FlatResult): string[] {
  const lines: string[] = [];
  const s = f.summary;
  lines.push(`flat curve, W = ${int(f.window)}: ${int(f.transactions)} transactions per lane (${int(f.pairs)} bet+win pairs, a win ${f.lag_pairs} pairs after its bet), ` +
    `slices of ${int(f.slice_calls)}; ${f.handovers} hand-overs (${f.forced_handovers} forced), bodies ${(f.generation_ms / 1000).toFixed(1)} s outside the clocks`);
  lines.push(`  ${pad('lane', 8, false)} ${pad('calls/s', 10)} ${pad('p50 µs', 8)} ${pad('p99 µs', 8)} ${pad('p99.9', 8)} ${pad('max µs', 10)}   (whole run, every call timed)`);
  lines.push(lane_line(f.durable));
  lines.push(lane_line(f.memory));
  lines.push(`  durable / memory: ${s.durable_over_memory_calls_per_s.toFixed(2)}x calls/s. Median slice p99, first / last tenth of the run: ` +
    `durable ${us(s.durable_p99_first_tenth_ns)} / ${us(s.durable_p99_last_tenth_ns)} µs, memory ${us(s.memory_p99_first_tenth_ns)} / ${us(s.memory_p99_last_tenth_ns)} µs`);
  const first = f.durable.slices[0], last = f.durable.slices.at(-1);
  lines.push(`  stats().inMemory at slice ends: at most ${int(s.in_memory_max)} (bound: both generations, ${int(s.in_memory_bound)} entries); ` +
    `process RSS ${mib(first?.rss_bytes ?? 0)} → ${mib(last?.rss_bytes ?? 0)} MiB, this thread's heap ${mib(first?.heap_used_bytes ?? 0)} → ${mib(last?.heap_used_bytes ?? 0)} MiB (both lanes and the bodies: one process)`);
  const every = f.durable.rotations.length > 0 ? Math.round(f.durable.calls / f.durable.rotations.length) : 0;
  lines.push(`  rotations: ${s.rotations} (one every ~${int(every)} tx); asked (75 %) → flip: p50 ${s.rotation_ms.p50} ms, p90 ${s.rotation_ms.p90}, max ${s.rotation_ms.max} ms; ` +
    `generation seen >= 98 % full before the flip (bets about to wait for room): ${s.rotations_full} of ${s.rotations}`);
  lines.push(`  slowest call around a rotation: p50 ${us(s.rotation_max_call_ns.p50)} µs, p90 ${us(s.rotation_max_call_ns.p90)}, max ${us(s.rotation_max_call_ns.max)} µs; ` +
    `calls > 100 µs there, summed per rotation: p50 ${s.rotation_stall_ms.p50} ms, p90 ${s.rotation_stall_ms.p90}, max ${s.rotation_stall_ms.max}, all ${s.rotation_stall_ms.total} ms ` +
    `(${s.rotation_stall_calls.p50} such calls per rotation at p50, max ${s.rotation_stall_calls.max})`);
  const ph = s.phases;
  if (ph) {
    lines.push(`  the rotator's phases (observer thread, polls every ${ph.poll_ms} ms; ${ph.rotations} retiring rotations, ${ph.asks_inferred} asks not seen; ms p50 / p90 / max):`);
    lines.push(`    the write ahead, flip before → file written + uuids in the filter ${fmt3(ph.flip_to_retired_ms)}, done by the ask in ${ph.written_before_ask} of ${ph.rotations}`);
    lines.push(`    ask → previous generation on disk (0: written ahead) ${fmt3(ph.asked_to_retired_ms)}; → generation dropped ${fmt3(ph.retired_to_dropped_ms)}; → flip (fold + wipe + flip) ${fmt3(ph.dropped_to_flip_ms)}; ask → flip ${fmt3(ph.asked_to_flip_ms)}`);
    lines.push(`    ask → generation full ${fmt3(ph.asked_to_full_ms)} (the headroom at this rate); full → flip, bets waiting for room ${fmt3(ph.full_to_flip_ms)} in ${ph.rotations_full} of ${ph.rotations}; ` +
      `wallet paused per rotation ${fmt3(ph.paused_ms)}, longest pause ${fmt3(ph.pause_max_ms)}`);
  }
  lines.push(`  the stalls are ${((100 * s.rotation_stall_ms.total) / f.durable.wall_ms).toFixed(0)} % of the durable lane's time`);
  const o = f.durable.other_stalls, om = f.memory.other_stalls;
  lines.push(`  new bets that searched the retired files during the run (filter false positives): ${int(f.durable.slow_paths)} of ${int(f.pairs)} ` +
    `(${pct(f.durable.slow_paths / f.pairs)}, while the filter filled from 0 to ${int(f.durable.slices.at(-1)?.retired_filter_keys ?? 0)} uuids)`);
  lines.push(`  calls > 100 µs away from rotations: durable ${int(o.calls)} (${o.ms} ms, max ${us(o.max_ns)} µs), memory ${int(om.calls)} (${om.ms} ms, max ${us(om.max_ns)} µs)`);
  const step = Math.max(1, Math.round(f.durable.slices.length / 10));
  lines.push(`  every ${step === 1 ? '' : step + 'th '}slice:`);
  lines.push('  ' + pad('tx done', 11) + ' | ' + pad('durable calls/s', 15) + pad('p50', 7) + pad('p99', 7) + pad('p99.9', 8) + pad('max µs', 9) +
    ' | ' + pad('memory calls/s', 14) + pad('p99', 7) + pad('p99.9', 8) + pad('max µs', 9) + ' | ' + pad('d/m', 5) + pad('RSS/heap', 10) + pad('inMemory', 9) + pad('rot', 4) + pad('gc max ms', 10) + pad('ckpt', 5));
  for (let i = 0; i < f.durable.slices.length; i += step) {
    const d = f.durable.slices[i], m = f.memory.slices[i];
    if (!d || !m) continue;
    lines.push('  ' + pad(int(d.tx_end), 11) + ' | ' + pad(int(d.calls_per_s), 15) + pad(us(d.latency.p50_ns), 7) + pad(us(d.latency.p99_ns), 7) + pad(us(d.latency.p999_ns), 8) + pad(us(d.latency.max_ns), 9) +
      ' | ' + pad(int(m.calls_per_s), 14) + pad(us(m.latency.p99_ns), 7) + pad(us(m.latency.p999_ns), 8) + pad(us(m.latency.max_ns), 9) +
      ' | ' + pad((d.calls_per_s / m.calls_per_s).toFixed(2), 5) + pad(`${int(d.rss_bytes / 2 ** 20)}/${int(d.heap_used_bytes / 2 ** 20)}`, 10) + pad(int(d.in_memory), 9) + pad(d.rotations_in_slice, 4) +
      pad(Math.max(d.gc.max_ms, m.gc.max_ms).toFixed(1), 10) + pad(d.checkpoints_in_slice, 5));
  }
  return lines;
}

function cost_lines(c: CostResult): string[] {
  const lines: string[] = [];
  const r = c.replay_retired, m = c.replay_in_memory, n = c.new_bets, fi = c.filter.in_situ, fp = c.filter.false_positive_bets, b = c.bytes;
  lines.push(`costs, W = ${int(c.window)}: ${r.retired_files} retired files (${int(b.disk.records_per_retired_file)} records each), filter ${int(fi.keys)} uuids of ${int(fi.capacity)} (${mib(fi.filter_bytes)} MiB)`);
  lines.push(`  (a) replay of a retired uuid (${int(r.calls)}, random order, evenly over the history): p50 ${r.latency_us.p50} µs, p90 ${r.latency_us.p90}, p99 ${r.latency_us.p99}, mean ${r.latency_us.mean}, max ${r.latency_us.max} µs; ` +
    `the first ${int(r.warmup_calls ?? 0)} (sparse keys loaded): p50 ${r.warmup_latency_us?.p50} µs`);
  lines.push(`      p50 by age, oldest quarter → newest: ${r.p50_us_by_age_quarter?.join(' / ')} µs; ${r.mean_files_searched} files searched on average (newest first) → ` +
    `~${r.us_per_file_searched} µs per file searched beyond an in-memory replay (past the newest ${c.retired_fds_held_max} files a read also opens and closes the file)`);
  lines.push(`  (b) replay still in memory (${int(m.calls)} of ${int(m.distinct)} bets): p50 ${m.latency_us.p50} µs, p99 ${m.latency_us.p99} µs → (a) / (b) at p50: ${c.retired_over_in_memory_p50}x`);
  lines.push(`  (c) new bet, aged wallet vs fresh durable wallet (${n.rounds} rounds of ${int(n.bets_per_round)}, each after a flip; median bet): ${n.aged_median_ns} vs ${n.fresh_median_ns} ns → ` +
    `${n.difference_ns} ns: the filter check + the second generation's probe; ${n.aged_slow_path_calls} of the aged ones searched the files`);
  lines.push(`      per round p50 / mean ns: aged ${n.aged_p50_ns.map((v, i) => `${v}/${n.aged_mean_ns[i]}`).join(', ')}; fresh ${n.fresh_p50_ns.map((v, i) => `${v}/${n.fresh_mean_ns[i]}`).join(', ')}`);
  lines.push(`  (d) filter, ${int(fi.probes)} random uuids: ${fi.hits} hits = ${pct(fi.measured_rate)} measured, stats() estimate ${pct(fi.estimated_rate)}, blocked-filter model ${pct(fi.model_rate)}; ` +
    `${fi.ns_per_check} ns per parse + check (parse alone ${fi.ns_per_parse} ns)`);
  lines.push(`      the false positives as new bets (${fp.calls}): p50 ${fp.latency_us.p50} µs, p99 ${fp.latency_us.p99} µs, all ${fp.slow_path_calls === fp.calls ? '' : 'but ' + (fp.calls - fp.slow_path_calls) + ' '}searched the ${fp.retired_files} files` +
    ` → ${pct(fi.measured_rate)} x ${fp.latency_us.p50} µs = ${((fi.measured_rate * fp.latency_us.p50) * 1000).toFixed(1)} ns per new bet on average`);
  lines.push(`  a rotation's disk part here, write_retired_file(${int(b.disk.records_per_retired_file)} records): ${c.retired_write_ms.join(' / ')} ms`);
  lines.push(`  bytes: shared memory ${mib(b.layout.memory_bytes)} MiB in all; window (index + entries, both generations) ${b.layout.window_bytes_per_unit} B per unit of maxTransactions (= per transaction of this run); ` +
    `filter ${b.layout.filter_bytes_per_capacity_uuid} B per uuid of capacity (${b.layout.filter_bytes_per_retired_uuid} B per uuid in it now); rings ${mib(b.layout.rings_bytes)} MiB`);
  lines.push(`         disk: retired ${b.disk.retired_bytes_per_tx} B per transaction (${mib(b.disk.retired_bytes)} MiB for ${int(b.disk.retired_records)}), sparse keys ${b.disk.sparse_index_bytes_per_tx} B/tx per searching thread; ` +
    `journal ${mib(b.disk.journal_bytes)} MiB (${b.disk.journal_bytes_per_tx ?? '-'} B/tx since the last checkpoint), checkpoint ${mib(b.disk.checkpoint_bytes)} MiB (${int(b.disk.checkpoint_records)} live records)`);
  return lines;
}

function paced_lines(p: PacedResult): string[] {
  const lines: string[] = [];
  const a = p.in_rotations, e = p.elsewhere, ph = p.phases;
  lines.push(`paced, W = ${int(p.window)}: ${int(p.calls)} calls at ${int(p.rate_target)}/s (achieved ${int(p.rate_achieved)}), open loop, latency from each call's due time; ${p.rotations} rotations`);
  lines.push(`  all calls: p50 ${us(p.latency.p50_ns)} µs, p99 ${us(p.latency.p99_ns)}, p99.9 ${us(p.latency.p999_ns)}, max ${us(p.latency.max_ns)} µs`);
  lines.push(`  due during a rotation (ask → flip → backlog worked off; ${int(a.calls)} calls): p50 ${us(a.p50_ns)} µs, p99 ${us(a.p99_ns)}, p99.9 ${us(a.p999_ns)}, max ${us(a.max_ns)} µs, ${a.over_1ms} over 1 ms`);
  lines.push(`  due elsewhere (${int(e.calls)} calls):                       p50 ${us(e.p50_ns)} µs, p99 ${us(e.p99_ns)}, p99.9 ${us(e.p999_ns)}, max ${us(e.max_ns)} µs, ${e.over_1ms} over 1 ms`);
  lines.push(`  the same calls at the same pace on a memory wallet (control): p50 ${us(p.memory.p50_ns)} µs, p99 ${us(p.memory.p99_ns)}, p99.9 ${us(p.memory.p999_ns)}, max ${us(p.memory.max_ns)} µs, ${p.memory.over_1ms} over 1 ms`);
  lines.push(`  per rotation, slowest call µs: ${p.per_rotation.map((r) => int(r.slowest_us)).join(', ')}; ask → flip ms: ${p.per_rotation.map((r) => r.asked_to_flip_ms).join(', ')}; paused ms: ${p.per_rotation.map((r) => r.paused_ms).join(', ')}`);
  if (ph) lines.push(`  phases (ms p50 / p90 / max): flip before → file written ${fmt3(ph.flip_to_retired_ms)} (by the ask in ${ph.written_before_ask} of ${ph.rotations}), ask → on disk ${fmt3(ph.asked_to_retired_ms)}, dropped → flip ${fmt3(ph.dropped_to_flip_ms)}; generation full in ${ph.rotations_full} of ${ph.rotations}, ${ph.asks_inferred} asks not seen`);
  return lines;
}

export function render_forever_table(r: ForeverResults): string {
  const hr = '-'.repeat(120);
  const lines: string[] = [];
  lines.push(`exwallet forever (${r.mode}) — node ${r.machine.node}, ${r.machine.cpu_count} x ${r.machine.cpu_model}, ${r.duration_s.toFixed(0)} s, data dirs under ${r.machine.data_dir_parent}`);
  lines.push(`  before: ${r.machine.uptime_before}`);
  lines.push(`  after:  ${r.machine.uptime_after}`);
  lines.push(hr);
  for (const f of r.flat) {
    lines.push(...flat_lines(f));
    lines.push(hr);
  }
  for (const c of r.costs) {
    lines.push(...cost_lines(c));
    lines.push(hr);
  }
  for (const p of r.paced) {
    lines.push(...paced_lines(p));
    lines.push(hr);
  }
  lines.push(`filter of its own, capacity ${int(r.synthetic_filter[0]?.capacity ?? 0)}, false-positive rate: measured (filter_knows) / simulated in JS with the core's bits / ` +
    'simulated with 8 independent bits / blocked-filter model / stats() estimate');
  for (const p of r.synthetic_filter) {
    lines.push(`  ${pad(p.load.toFixed(2) + 'x', 7)} ${pad(int(p.keys), 11)} keys: ${pad(pct(p.measured_rate), 10)} / ${pad(pct(p.simulated_core_rate ?? NaN), 10)} / ` +
      `${pad(pct(p.simulated_independent_rate ?? NaN), 10)} / ${pad(pct(p.model_rate), 10)} / ${pad(pct(p.estimated_rate), 10)}   (${int(p.hits)} of ${int(p.probes)})`);
  }
  lines.push(hr);
  const fm = r.four_months;
  const pf = r.per_file_search;
  lines.push(`a search of the retired files, per file (absent uuids over 128 then 256 files of 512 records): ${pf.held_us} µs with the descriptor held (the newest 128), ${pf.opened_us} µs beyond (opened per read)`);
  lines.push(hr);
  lines.push(`4 months (120 days) of retention at the defaults (maxTransactions 4,194,304, maxUsers 1,048,576, maxThreads 1024), bytes from W = ${int(fm.from_window)}: ` +
    `${(fm.tx_per_file_per_unit * 4_194_304 / 1e6).toFixed(2)}M tx per retired file (a generation retired at 75 %), the per-file search costs above`);
  lines.push('  ' + pad('tx/s', 6) + pad('tx in 120 d', 13) + pad('filter', 11) + pad('default filter', 22) + pad('retired', 10) + pad('journal+ckpt', 13) + pad('files', 7) +
    pad('keys/thread', 13) + pad('replay', 11) + pad('false pos.', 12) + pad('per new bet', 20) + pad('shared', 12) + pad('4 GiB?', 12) + pad('max W (1024 / 16 thr)', 23));
  for (const row of fm.rows) {
    lines.push('  ' + pad(int(row.tx_per_s), 6) + pad(human(row.transactions), 13) + pad(mib(row.filter_bytes) + ' MiB', 11) +
      pad(`${pct(row.default_filter_rate)}, full ${row.default_filter_full_days} d`, 22) + pad(gb(row.retired_disk_bytes) + ' GB', 10) + pad(mib(row.journal_and_checkpoint_bytes) + ' MiB', 13) +
      pad(int(row.retired_files), 7) + pad(mib(row.sparse_index_bytes_per_thread) + ' MiB', 13) + pad(ms_or_us(row.replay_us), 11) + pad(ms_or_us(row.false_positive_us), 12) +
      pad(`${ms_or_us(row.slow_path_us_per_bet_sized)} / ${ms_or_us(row.slow_path_us_per_bet_default)}`, 20) +
      pad(mib(row.shared_bytes_default_options) + ' MiB', 12) + pad(row.fits_4_gib ? 'yes' : row.filter_capacity_allowed ? 'NO' : 'NO, > 2^30', 12) +
      pad(row.max_window_1024_threads === 0 ? 'none' : `${human(row.max_window_1024_threads)} / ${human(row.max_window_16_threads)}`, 23));
  }
  lines.push('  (filter: retiredFilterCapacity = the 120 days\' transactions, 1.5 B each; "default filter": the rate of the default capacity, 64M uuids, at that many keys, and when it is full: ' +
    'it forgets only at a restart; replay: half the files searched, false positive: all of them;');
  lines.push(`   per new bet: what false positives add to the average new bet at the end of the retention, filter sized for it (${pct(fm.rate_at_capacity)} measured at capacity) / default capacity)`);
  lines.push(hr);
  lines.push(r.problems.length === 0 ? 'checks: every call RS_OK, every replay the original answer, no forced hand-over' : `${r.problems.length} problem(s):`);
  for (const problem of r.problems) lines.push('  ! ' + problem);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------
// SVG.

function escape_xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface Panel {
  x: number;
  y: number;
  width: number;
  height: number;
}

const COLORS = { durable: '#2b6cb0', durable_light: '#90cdf4', memory: '#dd6b20', memory_light: '#fbd38d', rotation: '#c53030', checkpoint: '#6b46c1', max: '#718096' };

function polyline(points: Array<[number, number]>, color: string, width: number, dash = ''): string {
  if (points.length === 0) return '';
  const d = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  return `<polyline fill="none" stroke="${color}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${d}"/>`;
}

function x_axis(out: string[], p: Panel, x_max: number, to_x: (tx: number) => number): void {
  out.push(`<line x1="${p.x}" y1="${p.y + p.height}" x2="${p.x + p.width}" y2="${p.y + p.height}" stroke="#333"/>`);
  for (let i = 0; i <= 5; i++) {
    const tx = (x_max * i) / 5;
    const x = to_x(tx);
    out.push(`<line x1="${x.toFixed(1)}" y1="${p.y + p.height}" x2="${x.toFixed(1)}" y2="${p.y + p.height + 4}" stroke="#333"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${p.y + p.height + 16}" text-anchor="middle" font-size="11">${human(tx)}</text>`);
  }
}

function marks(out: string[], p: Panel, f: FlatResult, to_x: (tx: number) => number): void {
  for (const rotation of f.durable.rotations) {
    const x = to_x(rotation.flip_call).toFixed(1);
    out.push(`<line x1="${x}" y1="${p.y + p.height - 6}" x2="${x}" y2="${p.y + p.height}" stroke="${COLORS.rotation}" stroke-opacity="0.6"/>`);
  }
  for (const slice of f.durable.slices) {
    if (slice.checkpoints_in_slice === 0) continue;
    const x = to_x(slice.tx_end);
    out.push(`<path d="M${(x - 4).toFixed(1)},${p.y} L${(x + 4).toFixed(1)},${p.y} L${x.toFixed(1)},${p.y + 7} Z" fill="${COLORS.checkpoint}"/>`);
  }
}

function latency_panel(out: string[], p: Panel, f: FlatResult): void {
  const slices = [f.durable, f.memory].flatMap((lane) => lane.slices);
  const values = slices.flatMap((s) => [s.latency.p99_ns, s.latency.p999_ns, s.latency.max_ns]).filter((v) => v > 0);
  const low = 10 ** Math.floor(Math.log10(Math.max(100, Math.min(...values))));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const x_max = Math.max(f.durable.calls, 1);
  const to_x = (tx: number) => p.x + (p.width * tx) / x_max;
  const to_y = (ns: number) => p.y + p.height - (p.height * (Math.log10(Math.max(ns, low)) - Math.log10(low))) / (Math.log10(high) - Math.log10(low));
  out.push(`<rect x="${p.x}" y="${p.y}" width="${p.width}" height="${p.height}" fill="#fafafa" stroke="#ccc"/>`);
  for (let decade = low; decade <= high; decade *= 10) {
    const y = to_y(decade).toFixed(1);
    out.push(`<line x1="${p.x}" y1="${y}" x2="${p.x + p.width}" y2="${y}" stroke="#e2e8f0"/>`);
    const label = decade >= 1e6 ? `${decade / 1e6} ms` : decade >= 1e3 ? `${decade / 1e3} µs` : `${decade} ns`;
    out.push(`<text x="${p.x - 6}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end" font-size="11">${label}</text>`);
  }
  const series = (lane: LaneResult, pick: (s: LaneResult['slices'][number]) => number) => lane.slices.map((s) => [to_x(s.tx_end), to_y(pick(s))] as [number, number]);
  for (const s of f.durable.slices) out.push(`<circle cx="${to_x(s.tx_end).toFixed(1)}" cy="${to_y(s.latency.max_ns).toFixed(1)}" r="1.6" fill="${COLORS.max}"/>`);
  out.push(polyline(series(f.memory, (s) => s.latency.p999_ns), COLORS.memory_light, 1.5, '5 3'));
  out.push(polyline(series(f.memory, (s) => s.latency.p99_ns), COLORS.memory, 1.5, '5 3'));
  out.push(polyline(series(f.durable, (s) => s.latency.p999_ns), COLORS.durable_light, 1.5));
  out.push(polyline(series(f.durable, (s) => s.latency.p99_ns), COLORS.durable, 2));
  marks(out, p, f, to_x);
  x_axis(out, p, x_max, to_x);
  out.push(`<text x="${p.x + 4}" y="${p.y - 6}" font-size="12" font-weight="bold">W = ${int(f.window)}: latency per slice of ${int(f.slice_calls)} tx (log)</text>`);
}

/** 1, 2 or 5 x 10^k, the nearest above `raw`. */
function nice_step(raw: number): number {
  const decade = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * decade >= raw) ?? 10) * decade;
}

function throughput_panel(out: string[], p: Panel, f: FlatResult): void {
  const step = nice_step(Math.max(...[f.durable, f.memory].flatMap((lane) => lane.slices.map((s) => s.calls_per_s)), 1) / 4);
  const high = step * Math.ceil(Math.max(...[f.durable, f.memory].flatMap((lane) => lane.slices.map((s) => s.calls_per_s)), 1) / step);
  const x_max = Math.max(f.durable.calls, 1);
  const to_x = (tx: number) => p.x + (p.width * tx) / x_max;
  const to_y = (v: number) => p.y + p.height - (p.height * v) / high;
  out.push(`<rect x="${p.x}" y="${p.y}" width="${p.width}" height="${p.height}" fill="#fafafa" stroke="#ccc"/>`);
  for (let v = 0; v <= high; v += step) {
    const y = to_y(v).toFixed(1);
    out.push(`<line x1="${p.x}" y1="${y}" x2="${p.x + p.width}" y2="${y}" stroke="#e2e8f0"/>`);
    out.push(`<text x="${p.x - 6}" y="${(Number(y) + 4).toFixed(1)}" text-anchor="end" font-size="11">${human(v)}</text>`);
  }
  const series = (lane: LaneResult) => lane.slices.map((s) => [to_x(s.tx_end), to_y(s.calls_per_s)] as [number, number]);
  out.push(polyline(series(f.memory), COLORS.memory, 1.5, '5 3'));
  out.push(polyline(series(f.durable), COLORS.durable, 2));
  marks(out, p, f, to_x);
  x_axis(out, p, x_max, to_x);
  out.push(`<text x="${p.x + 4}" y="${p.y - 6}" font-size="12" font-weight="bold">W = ${int(f.window)}: calls/s per slice (durable ${f.summary.durable_over_memory_calls_per_s.toFixed(2)}x memory)</text>`);
}

export function render_forever_svg(r: ForeverResults): string {
  const width = 1040, left = 64, gap = 70, panel_width = (width - left - gap - 24) / 2, panel_height = 230, row_height = panel_height + 70, top = 70;
  const height = top + r.flat.length * row_height + 4;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">Running forever: durable wallet of maxTransactions W (rotating) vs memory wallet of the whole run</text>`);
  out.push(`<text x="${left}" y="40" font-size="11" fill="#555">${escape_xml(`${r.mode} run ${r.started_at.slice(0, 16).replace('T', ' ')} UTC, node ${r.machine.node}, ${r.machine.cpu_count} cores, load ${r.machine.loadavg_before[0].toFixed(2)} → ${r.machine.loadavg_after[0]?.toFixed(2) ?? '?'}; x = transactions done by the lane`)}</text>`);
  const legend: Array<[string, string, string]> = [
    ['durable p99', COLORS.durable, ''], ['durable p99.9', COLORS.durable_light, ''], ['memory p99', COLORS.memory, '5 3'], ['memory p99.9', COLORS.memory_light, '5 3'],
  ];
  legend.forEach(([label, color, dash], i) => {
    const x = left + i * 130;
    out.push(`<line x1="${x}" y1="55" x2="${x + 24}" y2="55" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/><text x="${x + 30}" y="59" font-size="11">${label}</text>`);
  });
  const lx = left + 4 * 130;
  out.push(`<circle cx="${lx + 10}" cy="55" r="2" fill="${COLORS.max}"/><text x="${lx + 18}" y="59" font-size="11">durable max</text>`);
  out.push(`<line x1="${lx + 110}" y1="50" x2="${lx + 110}" y2="60" stroke="${COLORS.rotation}"/><text x="${lx + 116}" y="59" font-size="11">rotation (flip)</text>`);
  out.push(`<path d="M${lx + 212},50 L${lx + 220},50 L${lx + 216},57 Z" fill="${COLORS.checkpoint}"/><text x="${lx + 226}" y="59" font-size="11">journal checkpoint</text>`);
  r.flat.forEach((f, row) => {
    const y = top + 18 + row * row_height;
    latency_panel(out, { x: left, y, width: panel_width, height: panel_height }, f);
    throughput_panel(out, { x: left + panel_width + gap, y, width: panel_width, height: panel_height }, f);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
