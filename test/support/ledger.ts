import { count, eq } from 'drizzle-orm';
import { expect } from 'vitest';
import type { DbOrTx } from '../../src/db/client.js';
import {
  invoiceAdjustments,
  invoices,
  invoiceTimelineEvents,
  paymentAttempts,
  refunds,
} from '../../src/db/schema/index.js';
import { verifyLedger } from '../../src/domain/ledger/verify-ledger.js';

/** Everything a money movement could have touched for one invoice, to compare before and after. */
export async function ledgerSnapshot(db: DbOrTx, invoiceId: string) {
  const [invoice] = await db.select().from(invoices).where(eq(invoices.id, invoiceId));
  const countOf = async (table: typeof paymentAttempts | typeof invoiceAdjustments | typeof refunds | typeof invoiceTimelineEvents) =>
    (await db.select({ n: count() }).from(table).where(eq(table.invoiceId, invoiceId)))[0]!.n;
  return {
    invoice,
    attempts: await countOf(paymentAttempts),
    adjustments: await countOf(invoiceAdjustments),
    refunds: await countOf(refunds),
    timeline: await countOf(invoiceTimelineEvents),
  };
}

/** The ledger's invariants (src/domain/ledger/verify-ledger.ts) hold for the whole database. */
export async function expectLedgerConsistent(db: DbOrTx): Promise<void> {
  expect(await verifyLedger(db)).toEqual([]);
}
