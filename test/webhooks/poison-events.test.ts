import { randomUUID } from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, processorEvents } from '../../src/db/schema/index.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent, ledgerSnapshot } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliver, newPayment, sign, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

/**
 * Signed events that Postgres cannot store as jsonb, or that are nested too deep to handle: each is
 * kept byte for byte and parked (200 `parked`, so Stripe stops retrying), never applied; a
 * redelivery is a duplicate; a replay fails and says why.
 */
let service: TestService;
let workspaceId: string;
let operator: string;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, BILLING_ROLLOUT_STAGE: 'GENERAL' });
  workspaceId = (await makeWorkspace(service.deps.db)).id;
  operator = await makeOperatorToken(service.deps.db);
});
afterEach(() => expectLedgerConsistent(service.deps.db));
afterAll(() => service.close());

/** JSON text nested `depth` levels deep (JSON.stringify itself would overflow the stack). */
const nested = (depth: number): string => `${'{"next":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;

/** A capture of the whole invoice, spoiled by `poison` (JSON text) as the charge's description. */
async function poisonedCapture(poison: string) {
  const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 3_000 });
  const event = stripeEvent('charge.captured', { ...charge(newPayment(invoice.id, 3_000), 3_000), description: 'POISON' });
  const body = JSON.stringify(event).replace('"POISON"', poison);
  return { invoice, event, body };
}

const storedRows = (externalId: string) => service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, externalId));

describe('poison events', () => {
  it.each([
    ['a \\u0000 escape in a string', '"nul \\u0000 inside"', /Postgres refused it .*\\u0000 cannot be converted to text/],
    ['a lone surrogate', '"half a pair: \\ud800"', /Postgres refused it .*surrogate/i],
    ['5,000 levels of nesting', nested(5_000), /nested deeper than 100 levels/],
  ])('%s: stored byte for byte, parked with the reason, 200 parked; its redelivery is a duplicate', async (_label, poison, reason) => {
    const { invoice, event, body } = await poisonedCapture(poison);
    const before = await ledgerSnapshot(service.deps.db, invoice.id);
    const delivery = sign(body);

    expect(await deliver(service.url, delivery)).toEqual({ status: 200, body: { status: 'parked' } });
    const [stored, ...others] = await storedRows(event.id);
    expect(others).toHaveLength(0);
    expect(stored!.payloadRaw!.equals(Buffer.from(delivery.body))).toBe(true);
    expect(stored).toMatchObject({ eventType: 'charge.captured', outcome: 'FAILED', replayRequested: false, invoiceId: null, processedAt: null });
    expect(stored!.lastReplayError).toMatch(/^unstorable payload, parked and never applied: /);
    expect(stored!.lastReplayError).toMatch(reason);
    expect(await ledgerSnapshot(service.deps.db, invoice.id)).toEqual(before);

    // Stripe's retry (signed again, a later timestamp) and the same payload under a new event id.
    expect(await deliver(service.url, sign(body))).toEqual({ status: 200, body: { status: 'duplicate' } });
    expect(await storedRows(event.id)).toHaveLength(1);
    expect(await ledgerSnapshot(service.deps.db, invoice.id)).toEqual(before);
  });

  it('the same NUL payload under a new event id is a duplicate (the payload hash is kept)', async () => {
    const { event, body } = await poisonedCapture('"nul \\u0000 inside"');
    expect((await deliver(service.url, sign(body))).body).toEqual({ status: 'parked' });
    expect((await deliver(service.url, sign(body.replace(event.id, `${event.id}_again`)))).body).toEqual({ status: 'duplicate' });
    expect(await storedRows(`${event.id}_again`)).toHaveLength(0);
  });

  it('a NUL in the event id and type: stored with the escape \\u0000, a redelivery still a duplicate', async () => {
    const event = stripeEvent('customer.\u0000created', { id: 'cus_1', object: 'customer' }, { id: `evt_${randomUUID()}\u0000` });
    expect(await deliver(service.url, sign(event))).toEqual({ status: 200, body: { status: 'parked' } });
    const escapedId = event.id.replace('\u0000', '\\u0000');
    const [stored] = await storedRows(escapedId);
    expect(stored).toMatchObject({ eventType: 'customer.\\u0000created', outcome: 'FAILED' });
    expect(await deliver(service.url, sign(event))).toEqual({ status: 200, body: { status: 'duplicate' } });
    expect(await storedRows(escapedId)).toHaveLength(1);
  });

  it('a forced replay of a parked event fails, and applies nothing', async () => {
    const { invoice, event, body: delivered } = await poisonedCapture('"nul \\u0000 inside"');
    await deliver(service.url, sign(delivered));
    const [stored] = await storedRows(event.id);
    const response = await fetch(`${service.url}/api/v1/billing/replays/${stored!.id}/trigger`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ force: true }),
    });
    const body = (await response.json()) as { outcome: string; error: string; event: { payloadRaw: string } };
    expect(response.status).toBe(200);
    expect(body.outcome).toBe('FAILED');
    expect(body.error).toMatch(/malformed event/);
    // REST shows the kept bytes as base64.
    expect(Buffer.from(body.event.payloadRaw, 'base64').toString()).toContain('nul \\u0000 inside');
    const [lines] = await service.deps.db.select({ n: count() }).from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, invoice.id));
    expect(lines!.n).toBe(0);
  });
});
