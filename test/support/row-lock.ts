import { sql } from 'drizzle-orm';
import type { Database } from '../../src/db/client.js';

/**
 * Holds an invoice's row lock in a transaction of the test's own until `release()`: resolves once the
 * lock is taken, so what the test sends next meets it.
 */
export async function holdInvoiceLock(database: Database, invoiceId: string): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const holder = database.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT 1 FROM invoices WHERE id = ${invoiceId} FOR UPDATE`);
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
