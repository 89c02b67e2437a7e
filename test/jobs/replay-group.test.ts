import { randomUUID } from 'node:crypto';
import { count, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, processorEvents } from '../../src/db/schema/index.js';
import { recordProcessorEvent } from '../../src/domain/processor-events/record-processor-event.js';
import { replayRequestedEvents } from '../../src/domain/processor-events/replay-events.js';
import { stripeEventEnvelope, toIncomingEvent } from '../../src/domain/processor-events/stripe-event.js';
import { makeInvoice, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { holdRowLock } from '../support/row-lock.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, newPayment, stripeEvent } from '../support/stripe-events.js';

/**
 * The replay worker's group of jobs, applied in one transaction (replay-events.ts), called directly on
 * a service without workers: each event still fails alone, and a failure of the transaction keeps
 * nothing of any of them. The worker's use of it is tested in replay-batch.test.ts.
 */
let service: TestService;

beforeAll(async () => {
  // A lock held by someone else fails the group's lock within half a second.
  service = await startTestService({ DB_LOCK_TIMEOUT_MS: '500' }, 'api');
});
afterAll(() => service.close());

/** A stored `charge.captured` owed a replay: on an invoice of `amount` when `invoice`, else on an invoice that does not exist. */
async function storedCapture(options: { invoice: boolean; amount?: number }): Promise<{ eventId: string; invoiceId: string }> {
  const { db } = service.deps;
  const invoiceId = randomUUID();
  const amount = options.amount ?? 2_500;
  if (options.invoice) await makeInvoice(db, (await makeWorkspace(db)).id, { id: invoiceId, amountDue: amount });
  const stored = await recordProcessorEvent(db, toIncomingEvent(stripeEventEnvelope.parse(stripeEvent('charge.captured', charge(newPayment(invoiceId, amount), amount)))));
  if (!stored.inserted) throw new Error('not stored');
  return { eventId: stored.eventId, invoiceId };
}

const eventsOf = (ids: string[]) => service.deps.db.select().from(processorEvents).where(inArray(processorEvents.id, ids));
const linesOf = async (invoiceIds: string[]) =>
  (await service.deps.db.select({ n: count() }).from(invoiceAdjustments).where(inArray(invoiceAdjustments.invoiceId, invoiceIds)))[0]!.n;

describe('a group of replays in one transaction', () => {
  it('applies each event alone: a failing one keeps only its error, a second job for an event finds it done', async () => {
    const first = await storedCapture({ invoice: true });
    const orphan = await storedCapture({ invoice: false });
    const second = await storedCapture({ invoice: true, amount: 4_000 });
    const results = await replayRequestedEvents(service.deps, [
      { eventId: first.eventId, reason: 'operator' },
      { eventId: orphan.eventId, reason: 'operator' },
      { eventId: second.eventId },
      { eventId: first.eventId, reason: 'operator' },
    ]);

    expect(results.map((result) => (result.ok ? result.result.outcome : result.error.message))).toEqual(['PROCESSED', 'FAILED', 'PROCESSED', 'SKIPPED']);
    const events = new Map((await eventsOf([first.eventId, orphan.eventId, second.eventId])).map((event) => [event.id, event]));
    for (const { eventId, invoiceId } of [first, second]) {
      expect(events.get(eventId)).toMatchObject({ outcome: 'PROCESSED', invoiceId, replayRequested: false, replayAttempts: 1, lastReplayError: null });
      expect(events.get(eventId)!.processedAt).not.toBeNull();
      expect(events.get(eventId)!.lastReplayedAt).toEqual(events.get(eventId)!.processedAt);
    }
    expect(events.get(orphan.eventId)).toMatchObject({ outcome: 'FAILED', replayRequested: true, replayAttempts: 1 });
    expect(events.get(orphan.eventId)!.lastReplayError).toBeTruthy();
    // What each result says the event now is, is what its row holds.
    for (const result of results.slice(0, 3)) if (result.ok) expect(events.get(result.result.event.id)).toEqual(result.result.event);
    expect(await linesOf([first.invoiceId, second.invoiceId])).toBe(2);
    await expectLedgerConsistent(service.deps.db);
  });

  it('answers a job whose event is gone with NOT_FOUND, and applies the others', async () => {
    const stored = await storedCapture({ invoice: true });
    const gone = randomUUID();
    const results = await replayRequestedEvents(service.deps, [{ eventId: gone }, { eventId: stored.eventId }]);
    expect(results[0]).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', message: `Processor event ${gone} not found` } });
    expect(results[1]).toMatchObject({ ok: true, result: { outcome: 'PROCESSED' } });
  });

  it('keeps nothing of any event when the transaction fails (an event locked elsewhere), and applies them all on the retry', async () => {
    const stored = [await storedCapture({ invoice: true }), await storedCapture({ invoice: true }), await storedCapture({ invoice: true })];
    const eventIds = stored.map((event) => event.eventId);
    const invoiceIds = stored.map((event) => event.invoiceId);
    const lock = await holdRowLock(service.database, 'processor_events', eventIds[2]!);
    try {
      await expect(replayRequestedEvents(service.deps, eventIds.map((eventId) => ({ eventId })))).rejects.toMatchObject({ code: '55P03' });
    } finally {
      await lock.release();
    }
    for (const event of await eventsOf(eventIds)) expect(event).toMatchObject({ outcome: 'RECEIVED', replayRequested: true, replayAttempts: 0, processedAt: null });
    expect(await linesOf(invoiceIds)).toBe(0);

    const retried = await replayRequestedEvents(service.deps, eventIds.map((eventId) => ({ eventId })));
    expect(retried.map((result) => result.ok && result.result.outcome)).toEqual(['PROCESSED', 'PROCESSED', 'PROCESSED']);
    expect(await linesOf(invoiceIds)).toBe(3);
  });

  it('refuses more requests than one transaction should hold', async () => {
    const requests = Array.from({ length: 21 }, () => ({ eventId: randomUUID() }));
    await expect(replayRequestedEvents(service.deps, requests)).rejects.toThrow('at most 20 replays in a transaction, not 21');
  });
});
