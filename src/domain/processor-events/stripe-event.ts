import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { IncomingProcessorEvent } from './record-processor-event.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The envelope every Stripe event has; the object inside is checked by the handler that uses it. */
export const stripeEventEnvelope = z
  .object({
    id: z.string().min(1).max(255),
    object: z.literal('event'),
    type: z.string().min(1).max(255),
    created: z.number().int(),
    data: z.object({ object: z.record(z.string(), z.unknown()) }).passthrough(),
    request: z
      .object({ id: z.string().nullish(), idempotency_key: z.string().nullish() })
      .passthrough()
      .nullish(),
  })
  .passthrough();

export type StripeEventEnvelope = z.infer<typeof stripeEventEnvelope>;

/**
 * What `stripeEventEnvelope.safeParse` accepts, checked by hand on the webhook's hot path: the same
 * rules, without zod copying the whole event (its passthrough objects and record are rebuilt key by
 * key). The value itself is returned (it came from JSON.parse and nothing else holds it), or
 * undefined when it is not an envelope. test/webhooks/envelope.test.ts holds the two to the same answers.
 */
export function readStripeEventEnvelope(value: unknown): StripeEventEnvelope | undefined {
  if (!isPlainObject(value)) return undefined;
  if (!isBoundedText(value.id) || value.object !== 'event' || !isBoundedText(value.type)) return undefined;
  if (typeof value.created !== 'number' || !Number.isSafeInteger(value.created)) return undefined;
  const data = value.data;
  if (!isPlainObject(data) || !isPlainObject(data.object)) return undefined;
  const request = value.request;
  if (request !== null && request !== undefined) {
    if (!isPlainObject(request) || !isNullishText(request.id) || !isNullishText(request.idempotency_key)) return undefined;
  }
  return value as StripeEventEnvelope;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
};
const isBoundedText = (value: unknown): value is string => typeof value === 'string' && value.length >= 1 && value.length <= 255;
const isNullishText = (value: unknown): boolean => value === null || value === undefined || typeof value === 'string';

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
