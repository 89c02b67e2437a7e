import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invoices, invoiceTimelineEvents, processorEvents } from '../../src/db/schema/index.js';
import { makeInvoice, makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { errorCodes, graphql } from '../support/graphql.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

let service: TestService;
let operator: string;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, REPLAY_MAX_ATTEMPTS: '3' });
  operator = await makeOperatorToken(service.deps.db);
  workspaceId = (await makeWorkspace(service.deps.db)).id;
});
afterEach(() => expectLedgerConsistent(service.deps.db));
afterAll(() => service.close());

/** A capture event for an invoice that does not exist yet: it is stored and waits for a replay. */
async function queuedCaptureEvent(amount = 2_000) {
  const invoiceId = randomUUID();
  const event = stripeEvent('charge.captured', charge(newPayment(invoiceId, amount), amount));
  expect(await deliverEvent(service.url, event)).toEqual({ status: 200, body: { status: 'queued' } });
  const [row] = await service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, event.id));
  return { invoiceId, eventId: row!.id, amount };
}

const eventRow = async (id: string) => (await service.deps.db.select().from(processorEvents).where(eq(processorEvents.id, id)))[0]!;
const invoiceRow = async (id: string) => (await service.deps.db.select().from(invoices).where(eq(invoices.id, id)))[0];

const TRIGGER = `mutation ($eventId: UUID!, $force: Boolean) {
  triggerReplay(eventId: $eventId, force: $force) { outcome error event { id replayRequested replayAttempts lastReplayError invoice { id amountCaptured } } }
}`;

async function rest(method: 'GET' | 'POST', path: string, body?: unknown, token: string | null = operator) {
  const response = await fetch(`${service.url}/api/v1/billing${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe('the operator replay flow over GraphQL', () => {
  it('lists the queued event, replays it by force once the invoice exists, and the invoice shows it', async () => {
    const { invoiceId, eventId, amount } = await queuedCaptureEvent();
    const queue = await graphql(
      service.url,
      `{ processorEvents(requestedOnly: true, provider: "stripe", first: 100) { edges { node { id eventType replayRequested replayAttempts lastReplayError } } } }`,
      {},
      operator,
    );
    expect(queue.data.processorEvents.edges.map((edge: any) => edge.node)).toContainEqual({
      id: eventId,
      eventType: 'charge.captured',
      replayRequested: true,
      replayAttempts: 0,
      lastReplayError: expect.stringMatching(/no invoice found/),
    });

    // A replay before the cause is fixed fails, and says why.
    const early = await graphql(service.url, TRIGGER, { eventId, force: true }, operator);
    expect(early.data.triggerReplay).toMatchObject({ outcome: 'FAILED', error: expect.stringMatching(/no invoice found/), event: { replayRequested: true, replayAttempts: 1 } });

    await makeInvoice(service.deps.db, workspaceId, { id: invoiceId, amountDue: amount });
    const replayed = await graphql(service.url, TRIGGER, { eventId, force: true }, operator);
    expect(replayed.data.triggerReplay).toEqual({
      outcome: 'REPLAYED',
      error: null,
      event: { id: eventId, replayRequested: false, replayAttempts: 2, lastReplayError: null, invoice: { id: invoiceId, amountCaptured: amount } },
    });
    const timeline = await service.deps.db.select().from(invoiceTimelineEvents).where(eq(invoiceTimelineEvents.invoiceId, invoiceId));
    expect(timeline).toContainEqual(expect.objectContaining({ type: 'CAPTURE_SUCCEEDED', source: 'REPLAY', processorEventId: eventId }));
    expect((await eventRow(eventId)).lastReplayedAt).toBeInstanceOf(Date);
  });

  it('refuses past the attempt cap with REPLAY_LIMIT_REACHED, and changes nothing', async () => {
    const { eventId } = await queuedCaptureEvent();
    for (let attempt = 1; attempt <= 3; attempt++) {
      const response = await graphql(service.url, TRIGGER, { eventId, force: true }, operator);
      expect(response.data.triggerReplay).toMatchObject({ outcome: 'FAILED', event: { replayAttempts: attempt } });
    }
    expect(errorCodes(await graphql(service.url, TRIGGER, { eventId, force: true }, operator))).toEqual(['REPLAY_LIMIT_REACHED']);
    expect(errorCodes(await graphql(service.url, TRIGGER, { eventId }, operator))).toEqual(['REPLAY_LIMIT_REACHED']);
    expect((await eventRow(eventId)).replayAttempts).toBe(3);
  });

  it('refuses service tokens, unknown events and malformed ids', async () => {
    const { eventId } = await queuedCaptureEvent();
    const serviceToken = await makeServiceToken(service.deps.db, workspaceId);
    expect(errorCodes(await graphql(service.url, TRIGGER, { eventId, force: true }, serviceToken))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await graphql(service.url, `{ processorEvents { edges { node { id } } } }`, {}, serviceToken))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await graphql(service.url, TRIGGER, { eventId, force: true }))).toEqual(['UNAUTHENTICATED']);
    expect(errorCodes(await graphql(service.url, TRIGGER, { eventId: randomUUID(), force: true }, operator))).toEqual(['NOT_FOUND']);
    expect(errorCodes(await graphql(service.url, TRIGGER, { eventId: 'evt_123' }, operator))).toEqual(['BAD_USER_INPUT']);
    expect((await eventRow(eventId)).replayAttempts).toBe(0);
  });
});

describe('the runbook REST routes and the replay worker', () => {
  it('GET /replays lists the queue, or everything with requestedOnly=false, filtered by provider', async () => {
    const { eventId } = await queuedCaptureEvent();
    const processed = stripeEvent('customer.created', { id: 'cus_9', object: 'customer' });
    await deliverEvent(service.url, processed);

    const queue = await rest('GET', '/replays?provider=stripe&first=100');
    expect(queue.status).toBe(200);
    const queuedIds = queue.body.events.map((event: any) => event.id);
    expect(queuedIds).toContain(eventId);
    expect(queue.body.events.every((event: any) => event.replayRequested)).toBe(true);

    const everything = await rest('GET', '/replays?requestedOnly=false&provider=stripe&first=100');
    expect(everything.body.events.map((event: any) => event.externalId)).toContain(processed.id);
    expect((await rest('GET', '/replays?provider=paypal')).body.events).toEqual([]);
    expect((await rest('GET', '/replays?requestedOnly=maybe')).status).toBe(400);
    expect((await rest('GET', '/replays', undefined, null)).status).toBe(401);
  });

  it('POST /replays/{id}/trigger without force answers 202 and the replay worker applies the event through pg-boss', async () => {
    const { invoiceId, eventId, amount } = await queuedCaptureEvent();
    await makeInvoice(service.deps.db, workspaceId, { id: invoiceId, amountDue: amount });
    const accepted = await rest('POST', `/replays/${eventId}/trigger`, {});
    expect(accepted).toMatchObject({ status: 202, body: { outcome: 'ACCEPTED', event: { id: eventId, replayRequested: true } } });
    await expect.poll(async () => (await eventRow(eventId)).replayRequested, { timeout: 15_000, interval: 200 }).toBe(false);
    expect(await eventRow(eventId)).toMatchObject({ replayAttempts: 1, outcome: 'PROCESSED', lastReplayError: null });
    expect((await invoiceRow(invoiceId))!.amountCaptured).toBe(amount);
  });

  it('POST with force answers 200 REPLAYED or FAILED; past the cap 409; bad input 400/404', async () => {
    const { eventId } = await queuedCaptureEvent();
    const failed = await rest('POST', `/replays/${eventId}/trigger`, { force: true });
    expect(failed).toMatchObject({ status: 200, body: { outcome: 'FAILED', error: expect.stringMatching(/no invoice found/) } });
    await rest('POST', `/replays/${eventId}/trigger`, { force: true });
    await rest('POST', `/replays/${eventId}/trigger`, { force: true });
    expect(await rest('POST', `/replays/${eventId}/trigger`, { force: true })).toMatchObject({ status: 409, body: { error: { code: 'REPLAY_LIMIT_REACHED' } } });
    expect(await rest('POST', `/replays/${eventId}/trigger`, {})).toMatchObject({ status: 409 });
    expect((await rest('POST', `/replays/${randomUUID()}/trigger`, { force: true })).status).toBe(404);
    expect((await rest('POST', `/replays/not-a-uuid/trigger`, { force: true })).status).toBe(400);
    expect((await rest('POST', `/replays/${eventId}/trigger`, { force: 'yes' })).status).toBe(400);
    const serviceToken = await makeServiceToken(service.deps.db, workspaceId);
    expect((await rest('POST', `/replays/${eventId}/trigger`, { force: true }, serviceToken)).status).toBe(403);
  });
});
