import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { invoices, workspaces } from '../../db/schema/index.js';
import { appendTimelineEvents } from '../ledger/timeline.js';

/**
 * A small demo workspace set for a fresh database: one workspace in the billing pilot, one outside it,
 * invoices in two-, zero- and three-decimal currencies. Fixed ids make a second run write nothing.
 */
export const DEMO_WORKSPACES = [
  { id: '0b9a1c1e-5d1a-4a52-9a43-6f0f3c1d0001', name: 'Acme Pilot', slug: 'acme-pilot', billingPilot: true },
  { id: '0b9a1c1e-5d1a-4a52-9a43-6f0f3c1d0002', name: 'Globex', slug: 'globex', billingPilot: false },
] as const;

const [pilot, general] = DEMO_WORKSPACES;

export const DEMO_INVOICES = [
  { id: '5e3f8a62-0c7b-4f0e-8d5e-2a7c9b1e0001', workspaceId: pilot.id, number: 'ACME-1001', currency: 'USD', amountDue: 125_000 },
  { id: '5e3f8a62-0c7b-4f0e-8d5e-2a7c9b1e0002', workspaceId: pilot.id, number: 'ACME-1002', currency: 'EUR', amountDue: 49_900 },
  { id: '5e3f8a62-0c7b-4f0e-8d5e-2a7c9b1e0003', workspaceId: pilot.id, number: 'ACME-1003', currency: 'JPY', amountDue: 15_000 },
  { id: '5e3f8a62-0c7b-4f0e-8d5e-2a7c9b1e0004', workspaceId: pilot.id, number: 'ACME-1004', currency: 'KWD', amountDue: 12_500 },
  { id: '5e3f8a62-0c7b-4f0e-8d5e-2a7c9b1e0005', workspaceId: general.id, number: 'GLOBEX-2001', currency: 'GBP', amountDue: 8_750 },
  { id: '5e3f8a62-0c7b-4f0e-8d5e-2a7c9b1e0006', workspaceId: general.id, number: 'GLOBEX-2002', currency: 'USD', amountDue: 310_000 },
] as const;

export type SeedResult = { workspaces: number; invoices: number };

export async function seedDemoData(db: Db): Promise<SeedResult> {
  return db.transaction(async (tx) => {
    const insertedWorkspaces = await tx
      .insert(workspaces)
      .values([...DEMO_WORKSPACES])
      .onConflictDoNothing()
      .returning({ id: workspaces.id });
    const insertedInvoices = await tx
      .insert(invoices)
      .values(DEMO_INVOICES.map((invoice) => ({ ...invoice, paymentIntentId: `pi_demo_${invoice.number.toLowerCase()}` })))
      .onConflictDoNothing()
      .returning({ id: invoices.id, amountDue: invoices.amountDue, currency: invoices.currency, number: invoices.number });
    await appendTimelineEvents(
      tx,
      insertedInvoices.map((invoice) => ({
        invoiceId: invoice.id,
        type: 'INVOICE_CREATED' as const,
        source: 'SYSTEM' as const,
        dedupeKey: `invoice:${invoice.id}:created`,
        data: { amountDue: invoice.amountDue, currency: invoice.currency, number: invoice.number, seed: true },
      })),
    );
    return { workspaces: insertedWorkspaces.length, invoices: insertedInvoices.length };
  });
}

/** True when the database holds no workspace yet: `start` seeds only then. */
export async function isDatabaseEmpty(db: Db): Promise<boolean> {
  const [row] = await db.execute<{ empty: boolean }>(sql`SELECT NOT EXISTS (SELECT 1 FROM workspaces) AS empty`);
  return Boolean(row?.empty);
}
