import type { AdjustmentKind, InvoiceAdjustment } from '../../db/schema/index.js';
import type { TimelineEntry, TimelineEventType } from './timeline.js';

const TIMELINE_TYPE: Record<AdjustmentKind, TimelineEventType> = {
  CAPTURE: 'CAPTURE_SUCCEEDED',
  REFUND: 'REFUND_SUCCEEDED',
  REFUND_REVERSAL: 'REFUND_REVERSED',
};

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
    type: TIMELINE_TYPE[adjustment.kind],
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
