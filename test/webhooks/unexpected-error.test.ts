import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoices, processorEvents } from '../../src/db/schema/index.js';
import { connectTo } from '../support/database.js';
import { makeInvoice, makeWorkspace } from '../support/factories.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

let service: TestService;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
});
afterAll(() => service.close());

describe('an event whose application fails with an unexpected database error', () => {
  it('waits for an operator with Postgres’s own words stored, never the statement or its parameters', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const invoiceId = randomUUID();
    await makeInvoice(service.deps.db, workspace.id, { id: invoiceId, amountDue: 4_321 });
    // A failure no rule of the service explains: a trigger on this one invoice raises an error of its own.
    const admin = connectTo(service.database.url);
    await admin.sql.unsafe(`
      CREATE FUNCTION refuse_this_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.id = '${invoiceId}' THEN RAISE EXCEPTION 'refused by a test trigger'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER refuse_this_invoice BEFORE UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION refuse_this_invoice();`);
    try {
      const payment = newPayment(invoiceId, 4_321);
      const event = stripeEvent('charge.captured', charge(payment, 4_321));
      expect((await deliverEvent(service.url, event)).status).toBe(200);

      const [stored] = await service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, event.id));
      expect(stored!.outcome).toBe('FAILED');
      expect(stored!.lastReplayError).toBe('unexpected error: refused by a test trigger (SQLSTATE P0001)');
      expect(stored!.lastReplayError).not.toContain(payment.paymentIntentId);
      const [invoice] = await service.deps.db.select().from(invoices).where(eq(invoices.id, invoiceId));
      expect(invoice!.amountCaptured).toBe(0);
    } finally {
      await admin.sql.unsafe('DROP TRIGGER refuse_this_invoice ON invoices; DROP FUNCTION refuse_this_invoice();');
      await admin.close();
    }
  });
});
