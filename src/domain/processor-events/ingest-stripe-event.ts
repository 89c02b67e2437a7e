import type { Deps } from '../deps.js';
import { processEvent } from './process-event.js';
import { findDuplicateOf, recordProcessorEvent } from './record-processor-event.js';
import { toIncomingEvent, type StripeEventEnvelope } from './stripe-event.js';

export type WebhookStatus = 'processed' | 'duplicate' | 'ignored' | 'queued';

/**
 * A verified Stripe event: stored exactly once and committed before any invoice changes, then applied.
 * Errors before the event is stored propagate (the route answers 503 and Stripe retries).
 */
export async function ingestStripeEvent(deps: Deps, event: StripeEventEnvelope): Promise<WebhookStatus> {
  const status = await ingest(deps, event);
  deps.metrics.recordProcessorEvent('stripe', event.type, status);
  return status;
}

async function ingest(deps: Deps, event: StripeEventEnvelope): Promise<WebhookStatus> {
  const incoming = toIncomingEvent(event);
  const recorded = await recordProcessorEvent(deps.db, incoming);
  if (!recorded.inserted) {
    // Stored before but never applied (the process died in between): the redelivery finishes the job.
    const stored = await findDuplicateOf(deps.db, incoming);
    if (stored?.outcome === 'RECEIVED') await processEvent(deps, stored.id, 'live');
    return 'duplicate';
  }
  const result = await processEvent(deps, recorded.eventId, 'live');
  if (result.outcome === 'PROCESSED') return 'processed';
  if (result.outcome === 'IGNORED') return 'ignored';
  return 'queued';
}
