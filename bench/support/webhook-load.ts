import { localTarget } from './local-post.js';
import { runWorker } from './run-worker.js';

/**
 * Closed-loop load of pre-built, pre-signed webhook deliveries: `clients` concurrent clients, each
 * POSTing the next delivery of the list as soon as its previous one is answered, in list order (so what
 * was sent is always a prefix of the list). Runs in a worker thread, so neither the clients nor any
 * signing share the service's event loop. Stops by itself at the deadline, after `maxRequests`, or when
 * the list runs out. Local addresses only.
 */
export type WebhookDelivery = { body: string; signature: string };

export type WebhookLoadSpec = {
  /** Base URL of the service, e.g. http://127.0.0.1:1234. */
  url: string;
  /** e.g. /webhooks/stripe */
  path: string;
  /** Header carrying the signature, e.g. stripe-signature. */
  signatureHeader: string;
  deliveries: WebhookDelivery[];
  /** The `status` values of a 2xx JSON answer the caller tells apart (outcome codes 1…n, in this order). */
  statuses: string[];
  clients: number;
  durationMs: number;
  maxRequests: number;
};

/** Outcome codes per delivery: 0 = not sent, 1…n = `statuses[code - 1]`, OTHER = anything else (see `errors`). */
export const NOT_SENT = 0;
export const OTHER = 255;

export type WebhookLoadResult = {
  /** Deliveries sent and answered (any answer). */
  sent: number;
  /** Per delivery, in list order: its outcome code. */
  outcomes: Uint8Array;
  /** Per delivery, in list order: milliseconds from send to the end of the answer (NaN when not sent). */
  latencies: Float64Array;
  /** Answers that were not a 2xx with a known status, by "HTTP_<code>[ <status>]" or a socket error code. */
  errors: Record<string, number>;
  elapsedMs: number;
  /** The worker thread's event-loop utilisation (how busy the clients themselves were). */
  clientLoopBusy: number;
  stoppedBy: 'deadline' | 'maxRequests' | 'deliveries exhausted';
};

export async function runWebhookLoad(spec: WebhookLoadSpec): Promise<WebhookLoadResult> {
  localTarget(spec.url, spec.path); // refuses anything but this machine before a thread starts
  if (spec.statuses.length >= OTHER) throw new Error('too many statuses');
  return runWorker<WebhookLoadResult>(new URL('./webhook-load-worker.js', import.meta.url), spec, spec.durationMs, 'webhook load');
}

/** How many deliveries ended with each status (by name), plus `other`. */
export function countOutcomes(result: WebhookLoadResult, statuses: string[]): Record<string, number> & { other: number } {
  const counts = Object.fromEntries(statuses.map((status) => [status, 0])) as Record<string, number> & { other: number };
  counts.other = 0;
  for (const code of result.outcomes) {
    if (code === NOT_SENT) continue;
    if (code === OTHER) counts.other++;
    else counts[statuses[code - 1]!]!++;
  }
  return counts;
}
