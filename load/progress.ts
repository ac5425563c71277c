// Live progress of a run, on stderr (stdout is for the report): on a TTY a
// three-line display redrawn in place; otherwise one plain line per interval,
// for logs and CI.

import { STATUS_NAMES, STATUS_COUNT } from './messages.js';

export interface ProgressSnapshot {
  elapsed_s: number;
  /** Planned length, or undefined for a run bounded by calls. */
  total_s: number | undefined;
  calls: number;
  calls_max: number | undefined;
  /** Over the last interval. */
  calls_per_s: number;
  p99_us: number;
  status_counts: Float64Array;
}

// The display names statuses by their distinctive word, to fit 80 columns.
const SHORT_STATUS: readonly string[] = STATUS_NAMES.map((name) => ({
  RS_OK: 'OK',
  RS_ERROR_NOT_ENOUGH_MONEY: 'NOT_ENOUGH_MONEY',
  RS_ERROR_DUPLICATE_TRANSACTION: 'DUPLICATE',
  RS_ERROR_TRANSACTION_DOES_NOT_EXIST: 'DOES_NOT_EXIST',
  RS_ERROR_UNKNOWN: 'UNKNOWN',
  RS_ERROR_WRONG_CURRENCY: 'WRONG_CURRENCY',
  RS_ERROR_WRONG_TYPES: 'WRONG_TYPES',
} as Record<string, string>)[name] ?? name);

export const format_count = (n: number): string => Math.round(n).toLocaleString('en-US');

function bar(fraction: number, width: number): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

function status_parts(counts: Float64Array): string[] {
  const parts: string[] = [];
  for (let s = 0; s < STATUS_COUNT; s++) {
    if (counts[s] > 0 || s === 0) parts.push(`${SHORT_STATUS[s]} ${format_count(counts[s])}`);
  }
  return parts;
}

/** The parts joined into lines of at most `columns` characters. */
function wrap(parts: readonly string[], columns: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const part of parts) {
    if (line !== '' && line.length + 2 + part.length > columns) {
      lines.push(line);
      line = '';
    }
    line = line === '' ? part : line + '  ' + part;
  }
  if (line !== '') lines.push(line);
  return lines;
}

export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  #lines_drawn = 0;
  #last_plain_s = -Infinity;
  readonly #plain_interval_s: number;

  constructor(stream: NodeJS.WriteStream, plain_interval_s = 1) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
    this.#plain_interval_s = plain_interval_s;
  }

  update(snapshot: ProgressSnapshot): void {
    if (this.#tty) this.#draw(snapshot);
    else if (snapshot.elapsed_s - this.#last_plain_s >= this.#plain_interval_s) {
      this.#last_plain_s = snapshot.elapsed_s;
      this.#stream.write(this.#plain(snapshot) + '\n');
    }
  }

  /** Leave the last display on screen and move below it. */
  finish(): void {
    this.#lines_drawn = 0;
  }

  #plain(s: ProgressSnapshot): string {
    const when = s.total_s === undefined ? `${s.elapsed_s.toFixed(1)}s` : `${s.elapsed_s.toFixed(1)}/${s.total_s}s`;
    return (
      `[load ${when}] ${format_count(s.calls)} calls, ${format_count(s.calls_per_s)} calls/s, ` +
      `p99 ${s.p99_us.toFixed(1)} µs | ${status_parts(s.status_counts).join(', ')}`
    );
  }

  #draw(s: ProgressSnapshot): void {
    // columns is 0 or undefined on some pseudo-terminals: assume 80 then.
    const columns = this.#stream.columns > 0 ? Math.max(40, this.#stream.columns) : 80;
    let fraction: number;
    let left: string;
    if (s.total_s !== undefined) {
      fraction = s.elapsed_s / s.total_s;
      left = `${s.elapsed_s.toFixed(1)}s elapsed, ${Math.max(0, s.total_s - s.elapsed_s).toFixed(1)}s left`;
    } else {
      fraction = s.calls_max ? s.calls / s.calls_max : 0;
      left = `${s.elapsed_s.toFixed(1)}s elapsed, ${format_count(s.calls)} of ${format_count(s.calls_max ?? 0)} calls`;
    }
    const lines = [
      `${bar(fraction, 30)} ${(Math.min(1, fraction) * 100).toFixed(0).padStart(3)}%  ${left}`,
      `${format_count(s.calls_per_s)} calls/s   p99 ${s.p99_us.toFixed(1)} µs   ${format_count(s.calls)} calls`,
      ...wrap(status_parts(s.status_counts), columns - 1),
    ].map((line) => (line.length > columns - 1 ? line.slice(0, columns - 2) + '…' : line));
    // Back to the first line of the previous display, clear to the end of
    // the screen, draw again: no flicker of a full clear.
    const up = this.#lines_drawn > 0 ? `\x1b[${this.#lines_drawn}F\x1b[J` : '';
    this.#stream.write(up + lines.join('\n') + '\n');
    this.#lines_drawn = lines.length;
  }
}
