import { randomUUID } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, invoices, processorEvents } from '../../src/db/schema/index.js';
import { connectTo } from '../support/database.js';
import { makeInvoice, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

let service: TestService;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
});
afterAll(() => service.close());

const eventByExternalId = async (externalId: string) =>
  (await service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, externalId)))[0];

describe('an event that fails for a transient reason', () => {
  it('is answered queued, then retried with backoff and applied without an operator', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const invoiceId = randomUUID();
    await makeInvoice(service.deps.db, workspace.id, { id: invoiceId, amountDue: 3_000 });
    const event = stripeEvent('charge.captured', charge(newPayment(invoiceId, 3_000), 3_000));

    // A real deadlock: this session holds the invoice, the webhook's transaction holds the event and
    // waits for the invoice, then this session asks for the event. This session waits 30 s before it
    // looks for deadlocks, the service's 1 s, so Postgres aborts the webhook's side (SQLSTATE 40P01).
    const other = connectTo(service.database.url);
    const waitingOnLock = async () =>
      Number(
        (await other.sql`SELECT count(*) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND wait_event_type = 'Lock' AND application_name = 'billing-ledger'`)[0]!.n,
      );
    let delivery!: ReturnType<typeof deliverEvent>;
    await other.sql.begin(async (tx) => {
      await tx`SET LOCAL deadlock_timeout = '30s'`;
      await tx`SELECT id FROM invoices WHERE id = ${invoiceId} FOR UPDATE`;
      delivery = deliverEvent(service.url, event);
      await expect.poll(waitingOnLock, { timeout: 10_000, interval: 50 }).toBe(1);
      const stored = await eventByExternalId(event.id);
      await tx`SELECT id FROM processor_events WHERE id = ${stored!.id} FOR UPDATE`;
    });
    await other.close();

    expect(await delivery).toEqual({ status: 200, body: { status: 'queued' } });
    const failed = (await eventByExternalId(event.id))!;
    expect(failed).toMatchObject({ outcome: 'FAILED', replayRequested: true, lastReplayError: expect.stringMatching(/^transient error: deadlock detected/) });

    await expect.poll(async () => (await eventByExternalId(event.id))!.outcome, { timeout: 30_000, interval: 200 }).toBe('PROCESSED');
    expect(await eventByExternalId(event.id)).toMatchObject({
      replayRequested: false,
      lastReplayError: null,
      replayDueAt: null,
      // One automatic retry, none of the operator's attempts.
      automaticRetries: 1,
      replayAttempts: 0,
    });
    expect((await service.deps.db.select().from(invoices).where(eq(invoices.id, invoiceId)))[0]!.amountCaptured).toBe(3_000);
    const [lines] = await service.deps.db.select({ n: count() }).from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, invoiceId));
    expect(lines!.n).toBe(1);
    await expectLedgerConsistent(service.deps.db);
  });
});
