import { and, asc, gte, sql } from 'drizzle-orm';
import { invoiceAdjustments, invoiceTimelineEvents, type InvoiceAdjustment } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import { adjustmentTimelineEntry } from '../ledger/adjustment-timeline.js';
import { appendTimelineEvents } from '../ledger/timeline.js';

const BATCH = 500;

/**
 * Step 2: every ledger line written since `since` gets the timeline event that explains it, written
 * exactly as the live path writes it (same entry, same dedupe key). Returns how many were missing.
 */
export async function backfillTimeline(deps: Deps, since: Date): Promise<number> {
  let written = 0;
  let last: InvoiceAdjustment | undefined;
  for (;;) {
    const missing = await deps.db
      .select()
      .from(invoiceAdjustments)
      .where(
        and(
          gte(invoiceAdjustments.createdAt, since),
          last ? sql`(${invoiceAdjustments.createdAt}, ${invoiceAdjustments.id}) > (SELECT created_at, id FROM invoice_adjustments WHERE id = ${last.id})` : undefined,
          sql`NOT EXISTS (SELECT 1 FROM ${invoiceTimelineEvents} WHERE ${invoiceTimelineEvents.dedupeKey} = 'adjustment:' || ${invoiceAdjustments.id})`,
        ),
      )
      .orderBy(asc(invoiceAdjustments.createdAt), asc(invoiceAdjustments.id))
      .limit(BATCH);
    if (missing.length > 0) {
      written += await appendTimelineEvents(
        deps.db,
        missing.map((adjustment) => {
          const entry = adjustmentTimelineEntry(adjustment);
          return { ...entry, source: 'RECONCILIATION' as const, data: { ...entry.data, backfilled: true } };
        }),
      );
    }
    if (missing.length < BATCH) return written;
    last = missing.at(-1);
  }
}
