import { runWorker } from './run-worker.js';

/**
 * Closed-loop HTTP load: `clients` concurrent clients, each sending its next request as soon as the
 * previous one is answered. Runs in a worker thread, so the clients do not share the service's event
 * loop. Stops by itself at the deadline, after `maxRequests`, or when the distinct invoices run out.
 */
export type LoadSpec = {
  url: string;
  token: string;
  clients: number;
  durationMs: number;
  maxRequests: number;
  /** GraphQL document and a variables template; `invoiceId` and `idempotencyKey` are filled per request. */
  query: string;
  amount: number | null;
  /** distinct: each request takes the next id (never reused); hot: every request uses the one id. */
  target: { kind: 'distinct'; invoiceIds: string[] } | { kind: 'hot'; invoiceId: string };
};

export type LoadResult = {
  ok: number;
  errors: Record<string, number>;
  /** Milliseconds, successful requests only. */
  latencies: Float64Array;
  elapsedMs: number;
  /** The worker thread's event-loop utilisation (how busy the clients themselves were). */
  clientLoopBusy: number;
  stoppedBy: 'deadline' | 'maxRequests' | 'invoices exhausted';
};

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return runWorker<LoadResult>(new URL('./http-load-worker.js', import.meta.url), spec, spec.durationMs, 'load');
}
