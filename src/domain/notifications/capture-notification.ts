import { eq } from 'drizzle-orm';
import { invoiceAdjustments, invoices } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import type { QueuePayloads } from '../jobs/queues.js';

/**
 * Delivers one capture notification through the notifier (a signed POST to NOTIFICATION_URL). Throwing
 * makes pg-boss retry with backoff; receivers deduplicate on `id` (the ledger line).
 */
export async function deliverCaptureNotification(
  deps: Pick<Deps, 'db' | 'logger' | 'notifier'>,
  payload: QueuePayloads['capture-notification'],
): Promise<'delivered' | 'logged' | 'skipped'> {
  const [row] = await deps.db
    .select({ invoice: invoices, adjustment: invoiceAdjustments })
    .from(invoiceAdjustments)
    .innerJoin(invoices, eq(invoices.id, invoiceAdjustments.invoiceId))
    .where(eq(invoiceAdjustments.id, payload.adjustmentId));
  if (!row) {
    deps.logger.warn(payload, 'capture notification for an unknown ledger line: skipped');
    return 'skipped';
  }
  const { invoice, adjustment } = row;
  const body = JSON.stringify({
    id: adjustment.id,
    type: 'invoice.captured',
    createdAt: adjustment.createdAt.toISOString(),
    data: {
      invoiceId: invoice.id,
      workspaceId: invoice.workspaceId,
      number: invoice.number,
      currency: invoice.currency,
      amount: adjustment.amount,
      amountDue: invoice.amountDue,
      amountCaptured: invoice.amountCaptured,
      status: invoice.status,
      paymentIntentId: invoice.paymentIntentId,
      chargeId: adjustment.processorObjectId,
    },
  });
  return deps.notifier.send(body);
}
