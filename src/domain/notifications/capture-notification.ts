import { eq, sql } from 'drizzle-orm';
import { prepared } from '../../db/prepared.js';
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
  const [row] = await lineAndInvoice(deps.db, { adjustmentId: payload.adjustmentId });
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

/** The ledger line and its invoice, only the columns the notification carries; built once (one a capture). */
const lineAndInvoice = prepared('capture_notification_line', (db) =>
  db
    .select({
      invoice: {
        id: invoices.id,
        workspaceId: invoices.workspaceId,
        number: invoices.number,
        currency: invoices.currency,
        amountDue: invoices.amountDue,
        amountCaptured: invoices.amountCaptured,
        status: invoices.status,
        paymentIntentId: invoices.paymentIntentId,
      },
      adjustment: { id: invoiceAdjustments.id, createdAt: invoiceAdjustments.createdAt, amount: invoiceAdjustments.amount, processorObjectId: invoiceAdjustments.processorObjectId },
    })
    .from(invoiceAdjustments)
    .innerJoin(invoices, eq(invoices.id, invoiceAdjustments.invoiceId))
    .where(eq(invoiceAdjustments.id, sql.placeholder('adjustmentId'))),
);
