import { and, asc, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import { invoices, type Invoice } from '../../db/schema/index.js';
import type { Deps } from '../deps.js';
import { settlementEvent } from '../ledger/record-capture.js';
import { appendTimelineEvents } from '../ledger/timeline.js';
import { invoiceHasCaptures } from '../../db/partial-indexes.js';

const BATCH = 100;

/**
 * Step 3: captured invoices without `settled_at` ask the gateway whether the money has settled, and
 * get the timestamp and a PAYMENT_SETTLED event when it has. Only these invoices are visited (a
 * partial index holds exactly them). Returns how many were backfilled.
 */
export async function backfillSettlements(deps: Deps): Promise<number> {
  let backfilled = 0;
  let last: Invoice | undefined;
  for (;;) {
    const unsettled = await deps.db
      .select()
      .from(invoices)
      .where(
        and(
          invoiceHasCaptures,
          isNull(invoices.settledAt),
          isNotNull(invoices.paymentIntentId),
          last ? sql`(${invoices.capturedAt}, ${invoices.id}) > (SELECT captured_at, id FROM invoices WHERE id = ${last.id})` : undefined,
        ),
      )
      .orderBy(asc(invoices.capturedAt), asc(invoices.id))
      .limit(BATCH);
    for (const invoice of unsettled) {
      const payment = await deps.gateway.getPayment(invoice.paymentIntentId!);
      if (!payment?.settledAt) continue;
      const settledAt = payment.settledAt;
      const updated = await deps.db.transaction(async (tx) => {
        const [row] = await tx
          .update(invoices)
          .set({ settledAt, updatedAt: new Date() })
          .where(and(eq(invoices.id, invoice.id), isNull(invoices.settledAt)))
          .returning({ id: invoices.id });
        if (!row) return false; // settled meanwhile by someone else
        await appendTimelineEvents(tx, [settlementEvent(invoice.id, payment.chargeId ?? invoice.externalProcessorId ?? invoice.id, settledAt, 'RECONCILIATION')]);
        return true;
      });
      if (updated) backfilled++;
    }
    if (unsettled.length < BATCH) return backfilled;
    last = unsettled.at(-1);
  }
}
