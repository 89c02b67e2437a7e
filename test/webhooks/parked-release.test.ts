import { randomUUID } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, invoices, processorEvents } from '../../src/db/schema/index.js';
import { makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { graphql } from '../support/graphql.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, paymentIntent, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

let service: TestService;
let operator: string;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
  operator = await makeOperatorToken(service.deps.db);
});
afterAll(() => service.close());

const CREATE = `mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input) { id paymentIntentId } }`;
const eventByExternalId = async (externalId: string) =>
  (await service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, externalId)))[0]!;

describe('an event for a payment intent no invoice carries yet', () => {
  it('is parked, then applied without an operator when an invoice with that payment intent is created', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    // The events name an invoice id that will never exist: only the payment intent can find the invoice.
    const payment = newPayment(randomUUID(), 7_500);
    const succeeded = stripeEvent('payment_intent.succeeded', paymentIntent(payment, 7_500));
    const captured = stripeEvent('charge.captured', charge(payment, 7_500));
    expect((await deliverEvent(service.url, succeeded)).body).toEqual({ status: 'queued' });
    expect((await deliverEvent(service.url, captured)).body).toEqual({ status: 'queued' });
    for (const event of [succeeded, captured]) {
      expect(await eventByExternalId(event.id)).toMatchObject({
        outcome: 'FAILED',
        replayRequested: true,
        paymentIntentRef: payment.paymentIntentId,
        lastReplayError: expect.stringMatching(/no invoice found/),
      });
    }

    const created = await graphql(
      service.url,
      CREATE,
      { input: { workspaceId: workspace.id, number: `INV-${randomUUID().slice(0, 8)}`, currency: 'USD', amountDue: 7_500, paymentIntentId: payment.paymentIntentId } },
      operator,
    );
    const invoiceId: string = created.data.createInvoice.id;

    await expect
      .poll(async () => [(await eventByExternalId(succeeded.id)).replayRequested, (await eventByExternalId(captured.id)).replayRequested], {
        timeout: 20_000,
        interval: 100,
      })
      .toEqual([false, false]);
    for (const event of [succeeded, captured]) {
      // Applied by an automatic replay: not one of the operator's counted attempts.
      expect(await eventByExternalId(event.id)).toMatchObject({ outcome: 'PROCESSED', invoiceId, replayAttempts: 0, replayDueAt: null, lastReplayError: null });
    }
    const [invoice] = await service.deps.db.select().from(invoices).where(eq(invoices.id, invoiceId));
    expect(invoice).toMatchObject({ amountCaptured: 7_500, status: 'CAPTURED' });
    const [lines] = await service.deps.db.select({ n: count() }).from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, invoiceId));
    expect(lines!.n).toBe(1);
    await expectLedgerConsistent(service.deps.db);
  });

  it('leaves events of other payment intents parked', async () => {
    const workspace = await makeWorkspace(service.deps.db);
    const waiting = newPayment(randomUUID(), 1_000);
    const other = newPayment(randomUUID(), 1_000);
    const event = stripeEvent('charge.captured', charge(waiting, 1_000));
    expect((await deliverEvent(service.url, event)).body).toEqual({ status: 'queued' });

    await graphql(
      service.url,
      CREATE,
      { input: { workspaceId: workspace.id, number: `INV-${randomUUID().slice(0, 8)}`, currency: 'USD', amountDue: 1_000, paymentIntentId: other.paymentIntentId } },
      operator,
    );
    // The release happens in the invoice's own transaction: had it picked this event, the mark would be there now.
    expect(await eventByExternalId(event.id)).toMatchObject({ outcome: 'FAILED', replayRequested: true, replayDueAt: null, replayAttempts: 0 });
  });
});
