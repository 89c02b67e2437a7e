import { and, eq, inArray, sql } from 'drizzle-orm';
import type { DbOrTx } from '../../db/client.js';
import { paymentAttempts, type AttemptKind, type Invoice } from '../../db/schema/index.js';
import { attemptIsUnsettled } from '../../db/partial-indexes.js';
import { prepared } from '../../db/prepared.js';

/** Money reserved by attempts whose outcome is not known yet: it may still move. */
export type Reserved = { capture: number; refund: number };

export async function reservedAmount(db: DbOrTx, invoiceId: string, kind: AttemptKind): Promise<number> {
  const rows = await reservedOnOne(db, { invoiceId });
  return Number(rows.find((row) => row.kind === kind)?.total ?? 0);
}

/** One invoice's (the money paths'), built once. */
const reservedOnOne = prepared('reserved_on_invoice', (db) =>
  db
    .select({ kind: paymentAttempts.kind, total: sql<string>`sum(${paymentAttempts.amount})` })
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.invoiceId, sql.placeholder('invoiceId')), attemptIsUnsettled))
    .groupBy(paymentAttempts.kind),
);

/** One statement for any number of invoices (the GraphQL DataLoader batches through it). */
export async function reservedAmounts(db: DbOrTx, invoiceIds: readonly string[]): Promise<Map<string, Reserved>> {
  const result = new Map<string, Reserved>();
  if (invoiceIds.length === 0) return result;
  const rows = await db
    .select({ invoiceId: paymentAttempts.invoiceId, kind: paymentAttempts.kind, total: sql<string>`sum(${paymentAttempts.amount})` })
    .from(paymentAttempts)
    .where(and(inArray(paymentAttempts.invoiceId, [...invoiceIds]), attemptIsUnsettled))
    .groupBy(paymentAttempts.invoiceId, paymentAttempts.kind);
  for (const row of rows) {
    const amounts = result.get(row.invoiceId) ?? { capture: 0, refund: 0 };
    amounts[row.kind === 'CAPTURE' ? 'capture' : 'refund'] = Number(row.total);
    result.set(row.invoiceId, amounts);
  }
  return result;
}

/**
 * What may still be captured: due − captured − captures in flight, never below 0. Money a webhook
 * recorded for an attempt that has not settled yet counts twice here until it settles: the safe side.
 */
export function amountRemaining(invoice: Pick<Invoice, 'amountDue' | 'amountCaptured'>, reserved: Reserved | undefined): number {
  return Math.max(invoice.amountDue - invoice.amountCaptured - (reserved?.capture ?? 0), 0);
}

/** What may still be refunded: captured − refunded − refunds in flight, never below 0. */
export function amountRefundable(invoice: Pick<Invoice, 'amountCaptured' | 'amountRefunded'>, reserved: Reserved | undefined): number {
  return Math.max(invoice.amountCaptured - invoice.amountRefunded - (reserved?.refund ?? 0), 0);
}

export async function invoiceAmountRemaining(db: DbOrTx, invoice: Invoice): Promise<number> {
  return amountRemaining(invoice, (await reservedAmounts(db, [invoice.id])).get(invoice.id));
}
