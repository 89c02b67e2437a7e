import { inArray, isNotNull } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { invoices, refunds } from '../../db/schema/index.js';
import type { LedgerViolation } from './verify-ledger.js';

/** What a processor that can be read whole (the synthetic one) holds for one payment. */
export type ProcessorPaymentTotals = {
  paymentIntentId: string;
  captured: number;
  /** Refunds that moved money (succeeded or pending). */
  refunded: number;
  refundIds: string[];
};

/**
 * Ledger = processor, payment by payment: the captured total, the refunded total and every refund id
 * once; an invoice holding money on a payment the processor does not know is a violation too. At rest
 * (events delivered, or a reconciliation run after lost ones) there is none.
 */
export async function verifyAgainstProcessor(db: DbOrTx, processor: readonly ProcessorPaymentTotals[]): Promise<LedgerViolation[]> {
  const byIntent = new Map(processor.map((payment) => [payment.paymentIntentId, payment]));
  const rows = await db
    .select({ id: invoices.id, paymentIntentId: invoices.paymentIntentId, captured: invoices.amountCaptured, refunded: invoices.amountRefunded })
    .from(invoices)
    .where(isNotNull(invoices.paymentIntentId));
  const refundRows = await db
    .select({ invoiceId: refunds.invoiceId, id: refunds.processorRefundId, failedAt: refunds.failedAt })
    .from(refunds)
    .where(inArray(refunds.invoiceId, rows.length > 0 ? rows.map((row) => row.id) : ['00000000-0000-0000-0000-000000000000']));
  const violations: LedgerViolation[] = [];
  const rule = 'ledger = processor';
  for (const invoice of rows) {
    const payment = byIntent.get(invoice.paymentIntentId!);
    if (!payment) {
      if (invoice.captured > 0) violations.push({ rule, invoiceId: invoice.id, detail: `holds ${invoice.captured} on ${invoice.paymentIntentId}, which the processor does not know` });
      continue;
    }
    const ledgerRefunds = refundRows.filter((row) => row.invoiceId === invoice.id && row.failedAt === null).map((row) => row.id!).sort();
    const processorRefunds = [...payment.refundIds].sort();
    if (invoice.captured !== payment.captured || invoice.refunded !== payment.refunded || ledgerRefunds.join() !== processorRefunds.join()) {
      violations.push({
        rule,
        invoiceId: invoice.id,
        detail: `ledger captured ${invoice.captured} refunded ${invoice.refunded} [${ledgerRefunds.join(', ')}]; processor captured ${payment.captured} refunded ${payment.refunded} [${processorRefunds.join(', ')}]`,
      });
    }
  }
  return violations;
}
