import { randomBytes } from 'node:crypto';
import type { FakeClock } from './clock.js';
import type { FakeEvent, FakeStripeObject } from './objects.js';

/** The API version the fake's events are shaped for: charges in events carry no `refunds` list. */
export const FAKE_EVENT_API_VERSION = '2025-09-30.clover';

export type RequestContext = { id: string; idempotencyKey: string | null };

/**
 * Every event the account would send, in the order things happened. The fake delivers nothing itself:
 * tests take the events and deliver them (signed) in any order, twice, or not at all.
 */
export class EventLog {
  readonly #events: FakeEvent[] = [];
  #taken = 0;
  /** The API request being executed, if any: its id goes into the events it causes. */
  request: RequestContext | null = null;

  constructor(readonly clock: FakeClock) {}

  record(type: string, object: FakeStripeObject, previous?: Record<string, unknown>): FakeEvent {
    const event: FakeEvent = {
      id: `evt_${randomBytes(12).toString('hex')}`,
      object: 'event',
      api_version: FAKE_EVENT_API_VERSION,
      created: this.clock.seconds(),
      data: { object: structuredClone(object) as Record<string, unknown>, ...(previous ? { previous_attributes: previous } : {}) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: this.request?.id ?? null, idempotency_key: this.request?.idempotencyKey ?? null },
      type,
    };
    this.#events.push(event);
    return event;
  }

  /** Every event so far, oldest first (copies: delivering one does not change the log). */
  all(): FakeEvent[] {
    return structuredClone(this.#events);
  }

  /** The events recorded since the last call, oldest first. */
  take(): FakeEvent[] {
    const fresh = this.#events.slice(this.#taken);
    this.#taken = this.#events.length;
    return structuredClone(fresh);
  }

  /** The events about one payment intent: the intent itself, its charges and its refunds. */
  about(paymentIntentId: string): FakeEvent[] {
    return this.all().filter((event) => {
      const object = event.data.object;
      return object.id === paymentIntentId || object.payment_intent === paymentIntentId;
    });
  }
}
