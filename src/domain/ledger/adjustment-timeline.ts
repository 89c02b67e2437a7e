import type { InvoiceAdjustment } from '../../db/schema/index.js';
import type { TimelineEntry } from './timeline.js';

/**
 * The timeline event that explains a ledger line. Live captures and refunds write it with the line;
 * reconciliation backfills it from the line alone, with the same dedupe key, so there is one per line.
 */
export function adjustmentTimelineEntry(
  adjustment: InvoiceAdjustment,
  occurredAt: Date = adjustment.createdAt,
  details: Record<string, unknown> = {},
): TimelineEntry {
  return {
    invoiceId: adjustment.invoiceId,
    type: adjustment.kind === 'CAPTURE' ? 'CAPTURE_SUCCEEDED' : 'REFUND_SUCCEEDED',
    source: adjustment.source,
    dedupeKey: `adjustment:${adjustment.id}`,
    occurredAt,
    data: {
      amount: Math.abs(adjustment.amount),
      currency: adjustment.currency,
      processorObjectId: adjustment.processorObjectId,
      ...(adjustment.reasonCode ? { reason: adjustment.reasonCode } : {}),
      ...details,
    },
    adjustmentId: adjustment.id,
    paymentAttemptId: adjustment.paymentAttemptId,
    processorEventId: adjustment.processorEventId,
  };
}
