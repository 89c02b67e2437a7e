import { sql } from 'drizzle-orm';
import type { Database } from '../../src/db/client.js';

/**
 * Holds an invoice's row lock in a transaction of the test's own until `release()`: resolves once the
 * lock is taken, so what the test sends next meets it.
 */
export const holdInvoiceLock = (database: Database, invoiceId: string) => holdRowLock(database, 'invoices', invoiceId);

/** As holdInvoiceLock, for a row of `table` by its id. */
export async function holdRowLock(database: Database, table: 'invoices' | 'processor_events', id: string): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const holder = database.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT 1 FROM ${sql.identifier(table)} WHERE id = ${id} FOR UPDATE`);
    locked();
    await released;
  });
  await Promise.race([lockTaken, holder]);
  return {
    async release() {
      release();
      await holder;
    },
  };
}
