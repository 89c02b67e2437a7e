import { eq } from 'drizzle-orm';
import type { Tx } from '../../db/client.js';
import { invoices, type Invoice } from '../../db/schema/index.js';
import { lockInvoice } from '../ledger/payment-attempts.js';
import { ProcessorEventError } from './processor-event-error.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type InvoiceReference = {
  metadata: Record<string, string>;
  paymentIntentId?: string | null;
  chargeId?: string | null;
};

/**
 * The invoice a processor object belongs to, locked for this transaction: by `metadata.invoice_id`,
 * else by payment intent, else by charge. None found is a failure the operator resolves and replays.
 */
export async function findAndLockInvoice(tx: Tx, reference: InvoiceReference): Promise<Invoice> {
  const byMetadata = reference.metadata.invoice_id;
  let invoiceId: string | undefined;
  if (byMetadata && UUID.test(byMetadata)) {
    invoiceId = (await tx.select({ id: invoices.id }).from(invoices).where(eq(invoices.id, byMetadata)))[0]?.id;
  }
  if (!invoiceId && reference.paymentIntentId) {
    invoiceId = await uniqueInvoiceId(tx, eq(invoices.paymentIntentId, reference.paymentIntentId), `payment intent ${reference.paymentIntentId}`);
  }
  if (!invoiceId && reference.chargeId) {
    invoiceId = await uniqueInvoiceId(tx, eq(invoices.externalProcessorId, reference.chargeId), `charge ${reference.chargeId}`);
  }
  if (!invoiceId) {
    const tried = [
      byMetadata ? `metadata.invoice_id ${byMetadata}` : undefined,
      reference.paymentIntentId ? `payment intent ${reference.paymentIntentId}` : undefined,
      reference.chargeId ? `charge ${reference.chargeId}` : undefined,
    ].filter(Boolean);
    throw new ProcessorEventError(`no invoice found for ${tried.join(', ') || 'an object with no invoice reference'}`);
  }
  return (await lockInvoice(tx, null, invoiceId)).invoice;
}

async function uniqueInvoiceId(tx: Tx, condition: ReturnType<typeof eq>, what: string): Promise<string | undefined> {
  const rows = await tx.select({ id: invoices.id }).from(invoices).where(condition).limit(2);
  if (rows.length > 1) throw new ProcessorEventError(`more than one invoice carries ${what}`);
  return rows[0]?.id;
}
