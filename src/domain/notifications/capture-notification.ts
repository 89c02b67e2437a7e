import { eq, sql } from 'drizzle-orm';
import { prepared } from '../../db/prepared.js';
import { invoiceAdjustments, invoices } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import type { QueuePayloads } from '../jobs/queues.js';

/**
 * Delivers capture notifications through the notifier (a signed POST to NOTIFICATION_URL each), their
 * ledger lines and invoices read in one statement, the posts side by side. Each payload's outcome in
 * order: null when it was delivered, logged or skipped (its line does not exist), its error when the
 * receiver did not take it; pg-boss retries that one with backoff. Receivers deduplicate on `id` (the
 * ledger line).
 */
export async function deliverCaptureNotifications(
  deps: Pick<Deps, 'db' | 'logger' | 'notifier'>,
  payloads: readonly QueuePayloads['capture-notification'][],
): Promise<(Error | null)[]> {
  const rows = await linesAndInvoices(deps.db, { adjustmentIds: payloads.map((payload) => payload.adjustmentId) });
  const byLine = new Map(rows.map((row) => [row.adjustment.id, row]));
  const sent = await Promise.allSettled(
    payloads.map(async (payload) => {
      const row = byLine.get(payload.adjustmentId);
      if (!row) return void deps.logger.warn(payload, 'capture notification for an unknown ledger line: skipped');
      await deps.notifier.send(notificationBody(row));
    }),
  );
  return sent.map((outcome) => (outcome.status === 'fulfilled' ? null : outcome.reason instanceof Error ? outcome.reason : new Error(String(outcome.reason))));
}

type LineAndInvoice = Awaited<ReturnType<typeof linesAndInvoices>>[number];

function notificationBody({ invoice, adjustment }: LineAndInvoice): string {
  return JSON.stringify({
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
}

/** The ledger lines and their invoices, only the columns the notification carries; built once. */
const linesAndInvoices = prepared('capture_notification_lines', (db) =>
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
    .where(sql`${invoiceAdjustments.id} = ANY(${sql.placeholder('adjustmentIds')}::uuid[])`),
);
