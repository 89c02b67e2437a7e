import { eq, sql, type SQL } from 'drizzle-orm';
import { prepared } from '../../db/prepared.js';
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
  if (byMetadata && UUID.test(byMetadata)) {
    // The usual way (every object the service itself made names its invoice), built once. The same
    // row lock as lockInvoice (ledger/lock-invoice.ts): every money path takes it first.
    const [row] = await lockById(tx, { id: byMetadata });
    if (row) return row;
  }
  const ways: { condition: SQL; what: string }[] = [];
  const tried = byMetadata && UUID.test(byMetadata) ? [`metadata.invoice_id ${byMetadata}`] : [];
  if (reference.paymentIntentId) {
    ways.push({ condition: eq(invoices.paymentIntentId, reference.paymentIntentId), what: `payment intent ${reference.paymentIntentId}` });
  }
  if (reference.chargeId) ways.push({ condition: eq(invoices.externalProcessorId, reference.chargeId), what: `charge ${reference.chargeId}` });

  for (const { condition, what } of ways) {
    const rows = await tx.select().from(invoices).where(condition).limit(2).for('update');
    if (rows.length > 1) throw new ProcessorEventError(`more than one invoice carries ${what}`);
    if (rows[0]) return rows[0];
  }
  throw new ProcessorEventError(`no invoice found for ${[...tried, ...ways.map((way) => way.what)].join(', ') || 'an object with no invoice reference'}`);
}

/** By primary key: one row at most. */
const lockById = prepared('lock_invoice_by_id', (db) => db.select().from(invoices).where(eq(invoices.id, sql.placeholder('id'))).for('update'));
