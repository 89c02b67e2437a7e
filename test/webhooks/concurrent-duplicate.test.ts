import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/client.js';
import { invoiceAdjustments, processorEvents } from '../../src/db/schema/index.js';
import { ingestStripeEvent } from '../../src/domain/processor-events/ingest-stripe-event.js';
import { stripeEventEnvelope } from '../../src/domain/processor-events/stripe-event.js';
import { makeInvoice, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliver, newPayment, sign, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

let service: TestService;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
});
afterAll(() => service.close());

/** The service's database, but its first transaction waits at a gate: the moment between storing and applying. */
function gatedDb(db: Db) {
  let arrived!: () => void;
  let open!: () => void;
  const atGate = new Promise<void>((resolve) => (arrived = resolve));
  const gate = new Promise<void>((resolve) => (open = resolve));
  const gated = new Proxy(db, {
    get(target, property, receiver) {
      if (property !== 'transaction') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<Db['transaction']>) => {
        arrived();
        await gate;
        return target.transaction(...args);
      };
    },
  });
  return { db: gated, atGate, open };
}

describe('a delivery whose concurrent duplicate applied the event first', () => {
  it('is answered processed, never queued; the event is applied once', async () => {
    const invoice = await makeInvoice(service.deps.db, (await makeWorkspace(service.deps.db)).id, { amountDue: 2_500 });
    const event = stripeEvent('charge.captured', charge(newPayment(invoice.id, 2_500), 2_500));
    const delivery = sign(event);
    const gated = gatedDb(service.deps.db);

    // The first delivery stores the event, then stops before it applies it.
    const first = ingestStripeEvent({ ...service.deps, db: gated.db }, stripeEventEnvelope.parse(JSON.parse(delivery.body)), Buffer.from(delivery.body));
    await gated.atGate;
    // Stripe's redelivery finds it stored but not applied, and applies it.
    expect(await deliver(service.url, delivery)).toEqual({ status: 200, body: { status: 'duplicate' } });
    gated.open();
    expect(await first).toBe('processed');

    const [stored] = await service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, event.id));
    expect(stored).toMatchObject({ outcome: 'PROCESSED', replayRequested: false });
    const [lines] = await service.deps.db.select({ n: count() }).from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, invoice.id));
    expect(lines!.n).toBe(1);
    await expectLedgerConsistent(service.deps.db);
  });
});
