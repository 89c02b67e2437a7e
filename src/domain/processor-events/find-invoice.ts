import { eq, type SQL } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { invoices, type Invoice } from '../../db/schema/index.js';
import { ProcessorEventError } from './processor-event-error.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type InvoiceReference = {
  metadata: Record<string, string>;
  paymentIntentId?: string | null;
  chargeId?: string | null;
};

/**
 * The invoice a processor object belongs to, locked for this transaction (one statement per way of
 * finding it): by `metadata.invoice_id`, else by payment intent, else by charge. None found is a
 * failure the operator resolves and replays.
 */
export async function findAndLockInvoice(tx: Tx, reference: InvoiceReference): Promise<Invoice> {
  const byMetadata = reference.metadata.invoice_id;
  const ways: { condition: SQL; what: string }[] = [];
  if (byMetadata && UUID.test(byMetadata)) ways.push({ condition: eq(invoices.id, byMetadata), what: `metadata.invoice_id ${byMetadata}` });
  if (reference.paymentIntentId) {
    ways.push({ condition: eq(invoices.paymentIntentId, reference.paymentIntentId), what: `payment intent ${reference.paymentIntentId}` });
  }
  if (reference.chargeId) ways.push({ condition: eq(invoices.externalProcessorId, reference.chargeId), what: `charge ${reference.chargeId}` });

  for (const { condition, what } of ways) {
    // The same row lock as lockInvoice (ledger/payment-attempts.ts): every money path takes it first.
    const rows = await tx.select().from(invoices).where(condition).limit(2).for('update');
    if (rows.length > 1) throw new ProcessorEventError(`more than one invoice carries ${what}`);
    if (rows[0]) return rows[0];
  }
  throw new ProcessorEventError(`no invoice found for ${ways.map((way) => way.what).join(', ') || 'an object with no invoice reference'}`);
}
