import { createHmac } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { invoiceAdjustments, invoices } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import type { QueuePayloads } from '../jobs/queues.js';

export const SIGNATURE_HEADER = 'x-billing-signature';

/**
 * Delivers one capture notification: a signed JSON POST to NOTIFICATION_URL (or a log line when none is
 * set). Throwing makes pg-boss retry with backoff; receivers deduplicate on `id` (the ledger line).
 */
export async function deliverCaptureNotification(
  deps: Pick<Deps, 'db' | 'config' | 'logger'>,
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
  const url = deps.config.notificationUrl;
  if (!url) {
    deps.logger.info({ notification: JSON.parse(body) }, 'capture notification (no NOTIFICATION_URL set)');
    return 'logged';
  }
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(deps.config.notificationSecret ? { [SIGNATURE_HEADER]: signNotification(body, deps.config.notificationSecret) } : {}),
    },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`notification endpoint answered ${response.status}`);
  return 'delivered';
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, the scheme Stripe uses for its webhooks. */
export function signNotification(body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${signature}`;
}
