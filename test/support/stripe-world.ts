import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { invoices, paymentAttempts, refunds } from '../../src/db/schema/index.js';
import { startFakeStripe, type FakeStripe } from './fake-stripe/server.js';
import type { FakeEvent } from './fake-stripe/objects.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from './factories.js';
import { expectLedgerConsistent } from './ledger.js';
import { startTestService, type TestService } from './service.js';
import { deliver, sign, WEBHOOK_SECRET } from './stripe-events.js';

export type StripeWorld = { stripe: FakeStripe; service: TestService; token: string; workspaceId: string };
/** The fake's options; by default its charges settle at once (`settlementDelaySeconds: 0`). */
type StripeOptions = Parameters<typeof startFakeStripe>[0];

/**
 * The service on the Stripe gateway against the unkind fake Stripe (keys forgotten after 24 h, saved
 * 500s replayed, 409 for a key in use, today's event shapes), with an operator token and a workspace;
 * the ledger's invariants are checked after every test.
 */
export function useStripeWorld(environment: Record<string, string> = {}, stripeOptions: StripeOptions = {}): StripeWorld {
  const world = {} as StripeWorld;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const started = await startStripeWorld(environment, stripeOptions);
    Object.assign(world, started.world);
    close = started.close;
  });
  afterEach(() => expectLedgerConsistent(world.service.deps.db));
  afterAll(() => close?.());
  return world;
}

/** The same world, started and stopped by the caller: a property test gives each of its runs a fresh one. */
export async function startStripeWorld(
  environment: Record<string, string> = {},
  stripeOptions: StripeOptions = {},
): Promise<{ world: StripeWorld; close(): Promise<void> }> {
  const stripe = await startFakeStripe({ settlementDelaySeconds: 0, ...stripeOptions });
  const service = await startTestService({
    BILLING_ROLLOUT_STAGE: 'GENERAL',
    BILLING_GATEWAY: 'stripe',
    STRIPE_SECRET_KEY: stripe.secretKey,
    STRIPE_API_HOST: stripe.host,
    STRIPE_API_PORT: String(stripe.port),
    STRIPE_API_PROTOCOL: 'http',
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    GATEWAY_TIMEOUT_MS: '2000',
    PENDING_ATTEMPT_GRACE_SECONDS: '0',
    ...environment,
  });
  const token = await makeOperatorToken(service.deps.db);
  const workspaceId = (await makeWorkspace(service.deps.db)).id;
  return {
    world: { stripe, service, token, workspaceId },
    async close() {
      await service.close();
      await stripe.close();
    },
  };
}

/** An invoice whose payment Stripe has authorised and holds for capture. */
export async function authorisedInvoice(world: StripeWorld, amount: number, currency = 'usd') {
  const invoiceId = randomUUID();
  const paymentIntentId = world.stripe.state.createPaymentIntent({ amount, currency, metadata: { invoice_id: invoiceId }, captureMethod: 'manual' });
  world.stripe.newEvents(); // the authorisation's own events are not part of the story
  return makeInvoice(world.service.deps.db, world.workspaceId, { id: invoiceId, amountDue: amount, currency: currency.toUpperCase(), paymentIntentId });
}

/** Delivers events, signed, in the order given; every one must be acknowledged (200). */
export async function deliverEvents(world: StripeWorld, events: FakeEvent[]): Promise<string[]> {
  const statuses: string[] = [];
  for (const event of events) {
    const answer = await deliver(world.service.url, sign(event));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    statuses.push(answer.body.status);
  }
  return statuses;
}

/** A day passes, on both clocks: Stripe forgets the idempotency keys, and our attempts are a day old. */
export async function aDayPasses(world: StripeWorld): Promise<void> {
  world.stripe.clock.advance(25 * 3600 * 1000);
  await world.service.deps.db.update(paymentAttempts).set({ createdAt: sql`${paymentAttempts.createdAt} - interval '25 hours'` });
}

/** What Stripe holds for a payment: captured, the sum of refunds that moved money, their ids. */
export function processorSide(world: StripeWorld, paymentIntentId: string) {
  const intent = world.stripe.state.paymentIntents.get(paymentIntentId)!;
  const moved = world.stripe.state.refundsOf({ paymentIntentId }).filter((refund) => refund.status === 'succeeded' || refund.status === 'pending');
  return {
    captured: intent.amount_received,
    refunded: moved.reduce((total, refund) => total + refund.amount, 0),
    refundIds: moved.map((refund) => refund.id).sort(),
  };
}

/** The same three facts from the ledger. */
export async function ledgerSide(world: StripeWorld, invoiceId: string) {
  const db = world.service.deps.db;
  const [invoice] = await db.select().from(invoices).where(eq(invoices.id, invoiceId));
  const rows = await db.select().from(refunds).where(eq(refunds.invoiceId, invoiceId));
  return {
    captured: invoice!.amountCaptured,
    refunded: invoice!.amountRefunded,
    refundIds: rows.filter((row) => row.failedAt === null).map((row) => row.processorRefundId!).sort(),
  };
}

export async function expectLedgerEqualsProcessor(world: StripeWorld, invoice: { id: string; paymentIntentId: string | null }): Promise<void> {
  expect(await ledgerSide(world, invoice.id)).toEqual(processorSide(world, invoice.paymentIntentId!));
}
