import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoices, reconciliationRuns, settingChanges } from '../../src/db/schema/index.js';
import { captureInvoice } from '../../src/domain/ledger/capture-invoice.js';
import { recordCapturedTotal } from '../../src/domain/ledger/record-capture.js';
import { makeInvoice, makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { syntheticGateway } from '../support/payments.js';
import { startTestService, type TestService } from '../support/service.js';
import { DashboardClient, refusalCodes } from './client.js';

let service: TestService;
let operator: DashboardClient;
let workspaceId: string;

beforeAll(async () => {
  service = await startTestService({ BILLING_ROLLOUT_STAGE: 'GENERAL' });
  operator = new DashboardClient(service.url);
  await operator.signIn(await makeOperatorToken(service.deps.db));
  workspaceId = (await makeWorkspace(service.deps.db)).id;
});
afterAll(() => service?.close());

describe('reconciliation', () => {
  it('runs now, lists the runs with their counts, shows the open mismatch with its age, and re-checks one invoice', async () => {
    expect((await operator.get('/dashboard/reconciliation')).html).toContain('No run yet.');
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 2_000, number: 'RECON-1' });
    await captureInvoice(service.deps, { tokenId: 'f0f0f0f0-0000-4000-8000-000000000000', role: 'OPERATOR' }, { invoiceId: invoice.id, amount: 1_000 });
    // The ledger holds money the processor does not (a line from a mistaken source): a mismatch, not a repair.
    await service.deps.db.transaction(async (tx) => {
      const [locked] = await tx.select().from(invoices).where(eq(invoices.id, invoice.id)).for('update');
      await recordCapturedTotal({ tx, jobs: service.deps.jobs, source: 'SYSTEM' }, locked!, {
        paymentIntentId: locked!.paymentIntentId!,
        chargeId: 'ch_mistaken',
        capturedTotal: 1_200,
        currency: 'USD',
        capturedAt: null,
      });
    });
    await syntheticGateway(service).markSettled(invoice.paymentIntentId!);

    const asked = await operator.submit('/dashboard/reconciliation', '/dashboard/reconciliation/run', {});
    expect(asked.status).toBe(303);
    const ran = await operator.get(asked.location!);
    await operator.get(asked.location!); // a reload starts no second run
    expect(ran.html).toMatch(/Run [0-9a-f]{8} SUCCEEDED: 1 invoices checked, 1 mismatches\./);
    const runs = await service.deps.db.select().from(reconciliationRuns).where(eq(reconciliationRuns.trigger, 'OPERATOR'));
    expect(runs).toHaveLength(1);
    expect(ran.html).toContain('<td>OPERATOR</td><td>SUCCEEDED</td>');
    expect(ran.html).toContain(`<a href="/dashboard/invoices/${invoice.id}">RECON-1</a></th><td>amount_captured</td>`);
    expect(ran.html).toContain('<td class="num"><span class="money">12.00 USD</span></td><td class="num"><span class="money">10.00 USD</span></td>');
    expect(ran.html).toContain('<td>the ledger holds captured money the processor does not</td>');
    expect(ran.html).toMatch(/<td>\d+ s \(since <time/);

    const rechecked = await operator.submit('/dashboard/reconciliation', '/dashboard/reconciliation/recheck', { invoiceId: invoice.id });
    expect(rechecked.status).toBe(200);
    expect(rechecked.html).toContain(
      'RECON-1</a> still differs from the processor (amount_captured: ledger <span class="money">12.00 USD</span>, processor <span class="money">10.00 USD</span>; amount_refunded: ledger <span class="money">0.00 USD</span>, processor <span class="money">0.00 USD</span>)',
    );
    // A re-check writes no run.
    expect(await service.deps.db.select().from(reconciliationRuns)).toHaveLength(1);

    // The invoice page shows the disagreement in red.
    const page = await operator.get(`/dashboard/invoices/${invoice.id}`);
    expect(page.html).toContain('<div class="disagree"><dt>Processor net</dt><dd><span class="money">10.00 USD</span>');
    expect(page.html).toContain('The ledger and the processor disagree.');
  });

  it('refuses a re-check of an unknown invoice with its code', async () => {
    const page = await operator.submit('/dashboard/reconciliation', '/dashboard/reconciliation/recheck', { invoiceId: 'b3f7f0c8-0000-4000-8000-000000000000' });
    expect(page.status).toBe(404);
    expect(refusalCodes(page.html)).toEqual(['NOT_FOUND']);
  });
});

describe('the rollout stage', () => {
  it('shows the stage, changes it with who did it, and shows the history', async () => {
    const page = await operator.get('/dashboard/rollout');
    expect(page.html).toContain('Current stage: <strong>GENERAL</strong>');
    expect(page.html).toContain('Never changed');
    const asked = await operator.submit('/dashboard/rollout', '/dashboard/rollout', { stage: 'PILOT' });
    expect(asked.status).toBe(303);
    const changed = await operator.get(asked.location!);
    expect(changed.html).toContain('Rollout stage changed from GENERAL to PILOT.');
    await operator.get(asked.location!); // a reload changes nothing
    const [change, ...more] = await service.deps.db.select().from(settingChanges);
    expect(more).toEqual([]);
    expect(change).toMatchObject({ oldValue: 'GENERAL', newValue: 'PILOT' });
    expect(changed.html).toContain(`<td>GENERAL</td><td>PILOT</td><td><code>${change!.changedBy}</code></td>`);

    const bad = await operator.submit('/dashboard/rollout', '/dashboard/rollout', { stage: 'EVERYONE' });
    expect(bad.status).toBe(400);
    expect(refusalCodes(bad.html)).toEqual(['BAD_USER_INPUT']);
    expect(await service.deps.db.select().from(settingChanges)).toHaveLength(1);
  });

  it('refuses a change without the CSRF token, and any change or run by a service token; nothing is written', async () => {
    const before = await service.deps.db.select().from(settingChanges);
    const forged = await operator.post('/dashboard/rollout', { _csrf: 'nope', stage: 'OFF' });
    expect(forged.status).toBe(403);
    expect(refusalCodes(forged.html)).toEqual(['FORBIDDEN']);
    const client = new DashboardClient(service.url);
    await client.signIn(await makeServiceToken(service.deps.db, workspaceId));
    for (const [path, form] of [['/dashboard/rollout', { stage: 'OFF' }], ['/dashboard/reconciliation/run', {}]] as const) {
      const page = await client.submit('/dashboard/invoices', path, form);
      expect(page.status, path).toBe(403);
      expect(refusalCodes(page.html)).toEqual(['FORBIDDEN']);
    }
    expect(await service.deps.db.select().from(settingChanges)).toEqual(before);
    expect(await service.deps.db.select().from(reconciliationRuns)).toHaveLength(1);
  });
});
