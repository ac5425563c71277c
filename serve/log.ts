// Logging: pino, one JSON line per event worth an operator's attention, on
// stderr (stdout carries the readiness line only). Per request only at
// --log-level debug. Events that can come by the thousand (signature
// failures, slow flushes) are summarised: one line per period with a count.

import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

export function create_logger(level: LogLevel, bindings: Record<string, unknown>): Logger {
  // sync: a line is written before the call returns, so none is lost to a
  // crash or process.exit (the rate of lines is low by design).
  return pino({ level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 2, sync: true }));
}

/** Counts occurrences and logs one summary line per `period_ms` when any occurred. */
export class Summary {
  private count = 0;
  private max = 0;
  private readonly samples = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly log: Logger, private readonly level: 'warn' | 'info' | 'error',
    private readonly event: string, private readonly message: string, period_ms: number,
  ) {
    this.timer = setInterval(() => this.flush(), period_ms);
    this.timer.unref();
  }

  add(value = 0, sample?: string): void {
    this.count++;
    if (value > this.max) this.max = value;
    if (sample !== undefined && this.samples.size < 5) this.samples.add(sample);
  }

  flush(): void {
    if (this.count === 0) return;
    this.log[this.level]({ event: this.event, count: this.count, max: this.max || undefined, samples: this.samples.size ? [...this.samples] : undefined }, this.message);
    this.count = 0;
    this.max = 0;
    this.samples.clear();
  }

  stop(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
