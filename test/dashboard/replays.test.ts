import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invoiceAdjustments, invoices, invoiceTimelineEvents, processorEvents, replayRequests } from '../../src/db/schema/index.js';
import { errorSignature } from '../../src/domain/processor-events/replay-groups.js';
import { makeInvoice, makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';
import { csrfOf, DashboardClient, refusalCodes } from './client.js';

let service: TestService;
let operator: DashboardClient;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, REPLAY_MAX_ATTEMPTS: '2' });
  operator = new DashboardClient(service.url);
  await operator.signIn(await makeOperatorToken(service.deps.db));
  workspaceId = (await makeWorkspace(service.deps.db)).id;
});
afterEach(() => expectLedgerConsistent(service.deps.db));
afterAll(() => service?.close());

/** A captured charge for a payment intent no invoice carries yet: stored, queued for a replay. */
async function orphanCapture(amount = 2_500, extra: Record<string, unknown> = {}) {
  const payment = { ...newPayment(randomUUID(), amount), ...extra };
  const event = stripeEvent('charge.captured', { ...charge(payment, amount), metadata: {} });
  expect((await deliverEvent(service.url, event)).body).toEqual({ status: 'queued' });
  const [row] = await service.deps.db.select().from(processorEvents).where(eq(processorEvents.externalId, event.id));
  return { payment, event, row: row! };
}

/**
 * What is stored about one event (and the invoice it may touch). The replay worker runs in this
 * service and may be applying other tests' scheduled replays meanwhile, so the snapshot stays narrow.
 */
const snapshot = async (eventId: string, invoiceId?: string) => ({
  event: (await service.deps.db.select().from(processorEvents).where(eq(processorEvents.id, eventId)))[0],
  requests: await service.deps.db.select().from(replayRequests).where(eq(replayRequests.processorEventId, eventId)),
  lines: await service.deps.db.select().from(invoiceAdjustments).where(eq(invoiceAdjustments.processorEventId, eventId)),
  invoice: invoiceId ? (await service.deps.db.select().from(invoices).where(eq(invoices.id, invoiceId)))[0] : null,
  timeline: invoiceId ? await service.deps.db.select().from(invoiceTimelineEvents).where(eq(invoiceTimelineEvents.invoiceId, invoiceId)) : [],
});

/** The group section whose heading starts with this signature. */
function groupOf(html: string, signature: string): string {
  const escaped = signature.replaceAll('<', '&lt;').replaceAll('>', '&gt;');
  const start = html.indexOf(`">${escaped} `);
  expect(start, `no group "${signature}"`).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf('</section>', start));
}

describe('the replay queue', () => {
  it('groups events by error signature with count, attempts against the cap, and marks a group fixed once its cause is', async () => {
    const first = await orphanCapture();
    const second = await orphanCapture();
    const signature = errorSignature(first.row.lastReplayError);
    expect(signature).toBe(errorSignature(second.row.lastReplayError));
    expect(signature).toBe('no invoice found for payment intent pi_…, charge ch_…');

    let group = groupOf((await operator.get('/dashboard/replays')).html, signature);
    expect(group).toMatch(/2 events · oldest \d+ s old · attempts up to 0\/2/);
    expect(group).not.toContain('cause fixed');
    expect(group).toContain(`<code>${first.event.id}</code>`);

    // The cause: no invoice for the newest event's payment intent. Create it.
    await makeInvoice(service.deps.db, workspaceId, { paymentIntentId: second.payment.paymentIntentId, amountDue: 2_500 });
    group = groupOf((await operator.get('/dashboard/replays')).html, signature);
    expect(group).toContain('<span class="badge fixed">cause fixed</span>');
    // Marking it fixed ran a dry run: nothing was written by looking.
    const [row] = await service.deps.db.select().from(processorEvents).where(eq(processorEvents.id, second.row.id));
    expect(row).toEqual(second.row);
  });

  it('a dry run shows the ledger line, timeline entry and status change a replay would make, and writes nothing', async () => {
    const { payment, row } = await orphanCapture(4_000);
    const invoice = await makeInvoice(service.deps.db, workspaceId, { paymentIntentId: payment.paymentIntentId, amountDue: 10_000, number: `DRY-${randomUUID().slice(0, 6)}` });
    const before = await snapshot(row.id, invoice.id);
    const page = await operator.get(`/dashboard/replays/${row.id}/dry-run`);
    expect(page.status).toBe(200);
    expect(page.html).toContain('<dt>Outcome</dt><dd>PROCESSED</dd>');
    expect(page.html).toContain(`<a href="/dashboard/invoices/${invoice.id}">${invoice.number}</a>`);
    expect(page.html).toContain('<dt>Status change</dt><dd>OPEN → PARTIALLY_CAPTURED</dd>');
    expect(page.html).toContain('<tr><th scope="row">CAPTURE</th><td class="num"><span class="money">40.00 USD</span></td><td>REPLAY</td>');
    expect(page.html).toContain('<tr><th scope="row">CAPTURE_SUCCEEDED</th><td>REPLAY</td>');
    expect(await snapshot(row.id, invoice.id)).toEqual(before);

    // Then the real thing, forced, with a reason recorded with who asked.
    const replayed = await operator.submit(`/dashboard/replays/${row.id}/dry-run`, `/dashboard/replays/${row.id}/replay`, { force: '1', reason: 'invoice created late' });
    expect(replayed.status).toBe(303);
    expect(replayed.location).toBe(`/dashboard/replays?asked=${row.id}`);
    expect((await operator.get(replayed.location!)).html).toContain('replayed: PROCESSED');
    const [stored] = await service.deps.db.select().from(invoices).where(eq(invoices.id, invoice.id));
    expect(stored!.amountCaptured).toBe(4_000);
    const [request] = await service.deps.db.select().from(replayRequests).where(eq(replayRequests.processorEventId, row.id));
    expect(request).toMatchObject({ forced: true, reason: 'invoice created late', outcome: 'REPLAYED' });
    expect(request!.requestedBy).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('schedules a replay of one event, and of a whole group after saying how many it touches', async () => {
    const marker = { currency: 'eur' };
    const events = [await orphanCapture(100, marker), await orphanCapture(200, marker)];
    const signature = errorSignature(events[0]!.row.lastReplayError);
    const confirm = await operator.get(`/dashboard/replays/group?signature=${encodeURIComponent(signature)}`);
    const count = Number(/schedules a replay of <strong>(\d+)<\/strong>/.exec(confirm.html)![1]);
    const queued = (await service.deps.db.select().from(processorEvents).where(eq(processorEvents.replayRequested, true))).filter(
      (event) => errorSignature(event.lastReplayError) === signature,
    );
    expect(count).toBe(queued.length);
    const done = await operator.post('/dashboard/replays/group', { _csrf: csrfOf(confirm.html), signature });
    expect(done.status).toBe(200);
    expect(done.html).toContain(`${count} replays scheduled, 0 refused.`);
    for (const event of queued) {
      expect((await snapshot(event.id)).requests.map((request) => [request.forced, request.outcome])).toContainEqual([false, 'ACCEPTED']);
    }
  });

  it('shows every refusal of a replay with its code, and records nothing for it', async () => {
    const { row } = await orphanCapture();
    const before = await snapshot(row.id);
    const noReason = await operator.submit('/dashboard/replays', `/dashboard/replays/${row.id}/replay`, { force: '1', reason: '  ' });
    expect(noReason.status).toBe(400);
    expect(refusalCodes(noReason.html)).toEqual(['BAD_USER_INPUT']);
    const missing = await operator.submit('/dashboard/replays', `/dashboard/replays/${randomUUID()}/replay`, {});
    expect(missing.status).toBe(404);
    expect(refusalCodes(missing.html)).toEqual(['NOT_FOUND']);
    const forged = await operator.post(`/dashboard/replays/${row.id}/replay`, { _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(refusalCodes(forged.html)).toEqual(['FORBIDDEN']);
    expect(await snapshot(row.id)).toEqual(before);

    // Twice forced (the cap is 2), still failing: the third is refused.
    for (let attempt = 0; attempt < 2; attempt++) {
      const asked = await operator.submit('/dashboard/replays', `/dashboard/replays/${row.id}/replay`, { force: '1', reason: 'try <b>again</b>' });
      const page = await operator.get(asked.location!);
      expect(page.html).toContain('replayed and failed again');
      // Who asked, how and why, on the event's row (escaped like everything else).
      expect(page.html).toMatch(/by token <code>[0-9a-f]{8}<\/code>: forced, “try &lt;b&gt;again&lt;\/b&gt;” → FAILED/);
    }
    const capped = await snapshot(row.id);
    const refused = await operator.submit('/dashboard/replays', `/dashboard/replays/${row.id}/replay`, { force: '1', reason: 'once more' });
    expect(refused.status).toBe(409);
    expect(refusalCodes(refused.html)).toEqual(['REPLAY_LIMIT_REACHED']);
    const scheduled = await operator.submit('/dashboard/replays', `/dashboard/replays/${row.id}/replay`, {});
    expect(refusalCodes(scheduled.html)).toEqual(['REPLAY_LIMIT_REACHED']);
    const dryRun = await operator.get(`/dashboard/replays/${row.id}/dry-run`);
    expect(refusalCodes(dryRun.html)).toEqual(['REPLAY_LIMIT_REACHED']);
    expect(await snapshot(row.id)).toEqual(capped);
    expect(groupOf((await operator.get('/dashboard/replays')).html, errorSignature(row.lastReplayError))).toContain('at the cap');
  });

  it('escapes a payload carrying a script, on the invoice page that shows it raw', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 5_000 });
    const payment = { ...newPayment(invoice.id, 5_000), paymentIntentId: invoice.paymentIntentId! };
    const event = stripeEvent('charge.captured', { ...charge(payment, 5_000), description: '</pre><script>alert(1)</script>' });
    expect((await deliverEvent(service.url, event)).status).toBe(200);
    const page = await operator.get(`/dashboard/invoices/${invoice.id}`);
    expect(page.html).toContain(`<code>${event.id}</code> charge.captured`);
    expect(page.html).not.toContain('<script>alert(1)');
    expect(page.html).toContain('&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('is for operators only', async () => {
    const { row } = await orphanCapture();
    const client = new DashboardClient(service.url);
    await client.signIn(await makeServiceToken(service.deps.db, workspaceId));
    expect(refusalCodes((await client.get(`/dashboard/replays/${row.id}/dry-run`)).html)).toEqual(['FORBIDDEN']);
    const before = await snapshot(row.id);
    const page = await client.submit('/dashboard/invoices', `/dashboard/replays/${row.id}/replay`, { force: '1', reason: 'x' });
    expect(page.status).toBe(403);
    expect(refusalCodes(page.html)).toEqual(['FORBIDDEN']);
    expect(await snapshot(row.id)).toEqual(before);
  });
});
