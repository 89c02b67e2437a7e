import { eq, inArray } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoices, invoiceTimelineEvents, processorEvents, refunds } from '../../src/db/schema/index.js';
import { makeInvoice, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import {
  charge,
  deliver,
  dispute,
  newPayment,
  newRefundId,
  paymentIntent,
  refundObject,
  sign,
  stripeEvent,
  WEBHOOK_SECRET,
} from '../support/stripe-events.js';

let service: TestService;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
  workspaceId = (await makeWorkspace(service.deps.db)).id;
});
afterAll(() => service.close());

/**
 * Every event of one payment's life at Stripe: two partial captures, three refunds (one pending first,
 * one pending and then failed),
 * the intent's success, and a dispute.
 */
async function paymentStory() {
  // As in production, the invoice knows its payment intent: refunds and disputes carry no invoice metadata.
  const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 10_000 });
  const payment = { ...newPayment(invoice.id, 10_000), paymentIntentId: invoice.paymentIntentId! };
  const refundA = { id: newRefundId(), amount: 1_500, reason: 'duplicate' };
  const refundB = { id: newRefundId(), amount: 2_500, status: 'pending' };
  // A refund that Stripe reports pending and then failed: given back, whichever report comes first.
  const refundC = { id: newRefundId(), amount: 700, status: 'pending' };
  const refundCFailed = { ...refundC, status: 'failed', failure_reason: 'lost_or_stolen_card' };
  const events = [
    stripeEvent('charge.captured', charge(payment, 4_000)),
    stripeEvent('charge.captured', charge(payment, 10_000)),
    stripeEvent('payment_intent.succeeded', paymentIntent(payment, 10_000)),
    stripeEvent('refund.created', refundObject(payment, refundA)),
    stripeEvent('charge.refunded', charge(payment, 10_000, [refundA])),
    stripeEvent('refund.created', refundObject(payment, refundB)),
    stripeEvent('charge.refund.updated', refundObject(payment, { ...refundB, status: 'succeeded' })),
    stripeEvent('charge.refunded', charge(payment, 10_000, [refundA, { ...refundB, status: 'succeeded' }])),
    stripeEvent('refund.created', refundObject(payment, refundC)),
    // The only report of the failure: wherever it falls in the order, the refund ends given back.
    stripeEvent('charge.refund.updated', refundObject(payment, refundCFailed)),
    stripeEvent('charge.dispute.created', dispute(payment, 10_000)),
  ];
  return { invoiceId: invoice.id, events };
}

/** What an invoice's payment history comes to, leaving out what may legitimately differ (ids, timestamps, line splits). */
async function endState({ invoiceId, events: delivered }: { invoiceId: string; events: { id: string }[] }) {
  const [invoice] = await service.deps.db.select().from(invoices).where(eq(invoices.id, invoiceId));
  const refundRows = await service.deps.db.select().from(refunds).where(eq(refunds.invoiceId, invoiceId));
  const timeline = await service.deps.db.select().from(invoiceTimelineEvents).where(eq(invoiceTimelineEvents.invoiceId, invoiceId));
  const events = await service.deps.db
    .select()
    .from(processorEvents)
    .where(inArray(processorEvents.externalId, delivered.map((event) => event.id)));
  return {
    amountCaptured: invoice!.amountCaptured,
    amountRefunded: invoice!.amountRefunded,
    status: invoice!.status,
    paymentIntentId: invoice!.paymentIntentId?.slice(0, 3),
    externalProcessorId: invoice!.externalProcessorId,
    refunds: refundRows.map((row) => [row.amount, row.reason, row.failedAt === null ? 'ok' : 'failed']).sort(),
    timelineTypes: [...new Set(timeline.map((event) => event.type))].sort(),
    eventsWaitingForReplay: events.filter((event) => event.replayRequested).length,
  };
}

describe('order independence', () => {
  it('any delivery order of one payment’s events, with duplicates, ends as the in-order delivery does', async () => {
    const reference = await paymentStory();
    for (const event of reference.events) expect((await deliver(service.url, sign(event))).status).toBe(200);
    const expected = await endState(reference);
    expect(expected).toMatchObject({ amountCaptured: 10_000, amountRefunded: 4_000, status: 'PARTIALLY_REFUNDED', eventsWaitingForReplay: 0 });

    const count = reference.events.length;
    await fc.assert(
      fc.asyncProperty(
        fc.shuffledSubarray([...Array(count).keys()], { minLength: count, maxLength: count }),
        fc.array(fc.tuple(fc.nat({ max: count - 1 }), fc.nat({ max: count })), { maxLength: 6 }),
        async (order, duplicates) => {
          const story = await paymentStory();
          const deliveries = [...order];
          for (const [eventIndex, position] of duplicates) deliveries.splice(position, 0, eventIndex);
          for (const index of deliveries) {
            const response = await deliver(service.url, sign(story.events[index]));
            expect(response.status).toBe(200);
          }
          expect(await endState(story)).toEqual({ ...expected, externalProcessorId: expect.stringMatching(/^ch_/) });
        },
      ),
      { numRuns: 25 },
    );
    await expectLedgerConsistent(service.deps.db);
  });
});
