// The metrics a worker thread keeps, in a prom-client Registry of its own.
// The main thread asks every worker for registry.getMetricsAsJSON() on each
// scrape and sums them with AggregatorRegistry.aggregate (prom-client's
// cluster aggregator, fed by worker messages instead of cluster IPC); see
// admin.ts and docs/service.md.

import { Registry, Counter, Histogram } from 'prom-client';

export const LATENCY_BUCKETS_S = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class WorkerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'exwallet_requests_total',
    help: 'Hub88 requests answered, by route and by status (the Hub88 status, or HTTP_<code> for 404/405/400)',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  /** The one label set of each worker: the sum over workers shows how the port's connections spread. */
  readonly by_worker = new Counter({
    name: 'exwallet_worker_requests_total',
    help: 'Requests answered by each worker thread (how the one port spreads over the workers)',
    labelNames: ['worker'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'exwallet_request_duration_seconds',
    help: 'Time from the request head to the answer sent (durable() included), by route',
    labelNames: ['route'] as const,
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });
  readonly durable_wait = new Histogram({
    name: 'exwallet_durable_wait_seconds',
    help: 'Time an answer waited for durable() (the group commit: write + fdatasync)',
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'exwallet_rejected_requests_total',
    help: 'Requests refused before the wallet: bad signature, body too large, not JSON, client errors, timeouts',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
}
