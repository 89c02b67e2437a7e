import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { IncomingProcessorEvent } from './record-processor-event.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A JSON object, checked without being copied: zod's object and record schemas rebuild every key, and
 * an event's object is large and checked again by the handler that uses it (on the webhook's hot path,
 * the copy was most of the envelope's cost).
 */
const jsonObject = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'Expected an object',
);

/** The envelope every Stripe event has; the object inside is checked by the handler that uses it. */
export const stripeEventEnvelope = z
  .object({
    id: z.string().min(1).max(255),
    object: z.literal('event'),
    type: z.string().min(1).max(255),
    created: z.number().int(),
    data: z.object({ object: jsonObject }).passthrough(),
    request: z
      .object({ id: z.string().nullish(), idempotency_key: z.string().nullish() })
      .passthrough()
      .nullish(),
  })
  .passthrough();

export type StripeEventEnvelope = z.infer<typeof stripeEventEnvelope>;

export function toIncomingEvent(event: StripeEventEnvelope): IncomingProcessorEvent {
  const object = event.data.object;
  return {
    provider: 'stripe',
    externalId: event.id,
    eventType: event.type,
    payload: event as Record<string, unknown>,
    payloadHash: createHash('sha256').update(JSON.stringify({ type: event.type, object, previous: event.data.previous_attributes ?? null })).digest('hex'),
    correlationId: correlationIdOf(event),
    workspaceHint: workspaceHintOf(event),
  };
}

export const correlationIdOf = (event: StripeEventEnvelope): string | null => event.request?.idempotency_key ?? event.request?.id ?? null;

export function workspaceHintOf(event: StripeEventEnvelope): string | null {
  const metadata = (event.data.object.metadata ?? {}) as Record<string, unknown>;
  return typeof metadata.workspace_id === 'string' && UUID.test(metadata.workspace_id) ? metadata.workspace_id : null;
}
