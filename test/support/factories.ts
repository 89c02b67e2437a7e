import { randomUUID } from 'node:crypto';
import type { DbOrTx } from '../../src/db/client.js';
import { invoices, workspaces, type Invoice, type Workspace } from '../../src/db/schema/index.js';
import { createApiToken } from '../../src/domain/auth/tokens.js';

/** Small factories with random ids and names, so tests never collide and never need truncation. */

export async function makeWorkspace(db: DbOrTx, overrides: Partial<typeof workspaces.$inferInsert> = {}): Promise<Workspace> {
  const suffix = randomUUID().slice(0, 8);
  const [workspace] = await db
    .insert(workspaces)
    .values({ name: `Workspace ${suffix}`, slug: `ws-${suffix}`, billingPilot: true, ...overrides })
    .returning();
  return workspace!;
}

export async function makeInvoice(
  db: DbOrTx,
  workspaceId: string,
  overrides: Partial<typeof invoices.$inferInsert> = {},
): Promise<Invoice> {
  const [invoice] = await db
    .insert(invoices)
    .values({
      workspaceId,
      number: `INV-${randomUUID().slice(0, 8)}`,
      currency: 'USD',
      amountDue: 10_000,
      paymentIntentId: `pi_${randomUUID().replaceAll('-', '')}`,
      ...overrides,
    })
    .returning();
  return invoice!;
}

export async function makeOperatorToken(db: DbOrTx): Promise<string> {
  return (await createApiToken(db, { name: 'test operator', role: 'OPERATOR' })).token;
}

export async function makeServiceToken(db: DbOrTx, workspaceId: string): Promise<string> {
  return (await createApiToken(db, { name: 'test service', role: 'SERVICE', workspaceId })).token;
}
