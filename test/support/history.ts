import { randomUUID } from 'node:crypto';
import type { DbOrTx } from '../../src/db/client.js';
import {
  invoiceAdjustments,
  invoiceTimelineEvents,
  processorEvents,
  refunds,
  type Invoice,
} from '../../src/db/schema/index.js';
import { makeInvoice } from './factories.js';

/**
 * An invoice with a paid history written straight into the tables, as the ledger would leave it:
 * one CAPTURE line, one REFUND line with its refund record, a timeline event for each, and the Stripe
 * event that reported the capture. The invoice's totals equal the sum of its lines, so every CHECK holds.
 */
export async function makePaidInvoice(
  db: DbOrTx,
  workspaceId: string,
  amounts: { due: number; captured: number; refunded: number },
): Promise<Invoice> {
  const invoice = await makeInvoice(db, workspaceId, {
    amountDue: amounts.due,
    amountCaptured: amounts.captured,
    amountRefunded: amounts.refunded,
  });
  const { id: invoiceId, currency } = invoice;
  const chargeId = `ch_${randomUUID().replaceAll('-', '')}`;
  const [event] = await db
    .insert(processorEvents)
    .values({
      provider: 'stripe',
      externalId: `evt_${randomUUID().replaceAll('-', '')}`,
      eventType: 'charge.captured',
      payload: { id: chargeId, amount_captured: amounts.captured },
      payloadHash: randomUUID(),
      workspaceHint: workspaceId,
      invoiceId,
      processedAt: new Date(),
      outcome: 'PROCESSED',
      replayRequested: false,
    })
    .returning();
  const refundId = `re_${randomUUID().replaceAll('-', '')}`;
  const [capture, refund] = await db
    .insert(invoiceAdjustments)
    .values([
      {
        invoiceId,
        kind: 'CAPTURE',
        amount: amounts.captured,
        currency,
        source: 'WEBHOOK',
        processorEventId: event!.id,
        processorObjectId: chargeId,
        processorMovementId: `${chargeId}:captured:${amounts.captured}`,
      },
      { invoiceId, kind: 'REFUND', amount: -amounts.refunded, currency, reasonCode: 'REQUESTED_BY_CUSTOMER', source: 'API', processorObjectId: refundId, processorMovementId: refundId },
    ])
    .returning();
  await db.insert(refunds).values({
    invoiceId,
    adjustmentId: refund!.id,
    amount: amounts.refunded,
    currency,
    reason: 'REQUESTED_BY_CUSTOMER',
    source: 'API',
    processorRefundId: refundId,
  });
  const at = (seconds: number) => new Date(invoice.createdAt.getTime() + seconds * 1000);
  await db.insert(invoiceTimelineEvents).values([
    { invoiceId, type: 'INVOICE_CREATED', source: 'API', occurredAt: at(0), dedupeKey: `invoice:${invoiceId}:created` },
    { invoiceId, type: 'CAPTURE_SUCCEEDED', source: 'WEBHOOK', occurredAt: at(1), adjustmentId: capture!.id, dedupeKey: `adjustment:${capture!.id}` },
    { invoiceId, type: 'REFUND_SUCCEEDED', source: 'API', occurredAt: at(2), adjustmentId: refund!.id, dedupeKey: `adjustment:${refund!.id}` },
  ]);
  return invoice;
}
