import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoices } from '../../src/db/schema/index.js';
import { recordCapturedTotal } from '../../src/domain/ledger/record-capture.js';
import { DEMO_INVOICES, DEMO_WORKSPACES } from '../../src/domain/seed/demo-seed.js';
import { projectRoot } from '../../src/paths.js';
import { launchChromium } from '../support/browser.js';
import { makeOperatorToken } from '../support/factories.js';
import { graphql } from '../support/graphql.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliverEvent, newPayment, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';
import { spawnWorker, stopWorker } from '../support/worker-process.js';

/**
 * The billing center in Debian's Chromium on the demo workspaces, as an operator uses it: keyboard and
 * mouse, no test hooks. Screenshots of the main pages go to docs/screenshots/ (shown in the README).
 */
let service: TestService;
let worker: ChildProcess | undefined;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let token: string;
const requested: string[] = [];
const consoleErrors: string[] = [];
const SCREENSHOTS = path.join(projectRoot(), 'docs', 'screenshots');
const axeSource = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

beforeAll(async () => {
  // The API alone: the event released when its invoice appears waits for the worker this file starts,
  // so the operator sees its group marked fixed and dry-runs it first.
  service = await startTestService({ DEMO_SEED: 'true', STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET }, 'api');
  token = await makeOperatorToken(service.deps.db);
  browser = await launchChromium();
  // A viewer far from UTC, so the localised times differ from the UTC text.
  context = await browser.newContext({ timezoneId: 'Asia/Tokyo', locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  context.on('request', (request) => requested.push(request.url()));
  page = await context.newPage();
  // A blocked inline style or script (the Content-Security-Policy) shows up here.
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url})`);
  });
});
afterAll(async () => {
  if (worker) await stopWorker(worker);
  await browser?.close();
  await service?.close();
});

/** axe-core in the page: no serious or critical violation. */
async function expectAccessible(name: string) {
  await page.evaluate(await axeSource);
  const violations = await page.evaluate(async () => {
    type Result = { passes: unknown[]; violations: { id: string; impact: string; help: string; nodes: unknown[] }[] };
    const result = await (globalThis as unknown as { axe: { run: () => Promise<Result> } }).axe.run();
    return {
      passed: result.passes.length,
      list: result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, help: violation.help, nodes: violation.nodes.length })),
    };
  });
  expect(violations.passed, `axe ran no check on ${name}`).toBeGreaterThan(10);
  expect(violations.list.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical'), name).toEqual([]);
}

const screenshot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

describe('the billing center in Chromium', () => {
  it('signs in with the keyboard, filters the list, opens an invoice, captures and refunds part, and shows the timeline and the trail', async () => {
    await page.goto(`${service.url}/dashboard`);
    await expect.poll(() => page.url()).toContain('/dashboard/sign-in');
    await expectAccessible('sign-in');
    await screenshot('sign-in');
    await page.keyboard.press('Tab');
    expect(await page.locator(':focus').innerText()).toBe('Skip to content');
    await page.getByLabel('API token').fill(token);
    await page.getByLabel('API token').press('Enter');
    await page.getByRole('heading', { name: 'Invoices', level: 1 }).waitFor();

    await page.getByLabel('Currency').selectOption('JPY');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.url()).toContain('currency=JPY');
    expect(await page.locator('tbody tr').count()).toBe(1);
    expect(await page.locator('tbody tr').innerText()).toContain('15000 JPY');
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByLabel('Search').fill('ACME');
    await page.getByRole('button', { name: 'Apply' }).click();
    expect(await page.locator('tbody tr').count()).toBe(4);
    // Times read in the viewer's zone; the UTC text stays on hover.
    const firstTime = page.locator('tbody time').first();
    expect(await firstTime.getAttribute('title')).toMatch(/ UTC$/);
    expect(await firstTime.innerText()).not.toMatch(/UTC/);
    await expectAccessible('invoices');
    await screenshot('invoices');

    await page.getByRole('link', { name: 'ACME-1001' }).click();
    await page.getByRole('heading', { name: 'Invoice ACME-1001' }).waitFor();
    await page.getByLabel('Amount (USD)').first().fill('300.00');
    await page.getByRole('button', { name: 'Capture' }).click();
    await page.getByRole('status').filter({ hasText: 'The capture of 300.00 USD is SUCCEEDED' }).waitFor();

    await page.locator('#refund-amount').fill('45.50');
    await page.getByLabel('Reason').selectOption('GOODWILL');
    await page.getByLabel('Note (optional)').fill('late delivery');
    await page.getByRole('button', { name: 'Refund' }).click();
    await page.getByRole('status').filter({ hasText: 'The refund of 45.50 USD is SUCCEEDED' }).waitFor();

    const timeline = page.getByRole('region', { name: 'Payment timeline' });
    expect(await timeline.innerText()).toMatch(/CAPTURE_SUCCEEDED[\s\S]*REFUND_SUCCEEDED/);
    const balance = await page.getByRole('region', { name: 'Balance' }).innerText();
    expect(balance).toContain('PARTIALLY_REFUNDED');
    expect(balance).toMatch(/= Remaining\s+950\.00 USD/);
    expect(balance).toMatch(/Captured − refunded = net\s+254\.50 USD/);
    const trail = page.getByRole('region', { name: 'Money trail' });
    expect(await trail.locator('tbody tr').count()).toBe(2);
    await trail.getByRole('link', { name: /^attempt / }).first().click();
    await expect.poll(() => page.url()).toMatch(/#attempt-[0-9a-f-]+$/);
    expect(await page.getByRole('region', { name: 'Payment attempts' }).innerText()).toMatch(/ch_syn_[0-9a-f]{24}/);
    expect(await page.getByRole('region', { name: 'Refunds' }).innerText()).toContain('late delivery');
    await expectAccessible('invoice');
    await screenshot('invoice');
  });

  it('queues a webhook for an unknown payment intent, marks its group fixed once the invoice exists, dry-runs it, then replays it', async () => {
    const paymentIntentId = `pi_${randomBytes(12).toString('hex')}`;
    const payment = { ...newPayment('', 7_500, 'eur'), paymentIntentId };
    const event = stripeEvent('charge.captured', { ...charge(payment, 7_500), metadata: {} });
    expect((await deliverEvent(service.url, event)).body).toEqual({ status: 'queued' });

    await page.getByRole('link', { name: 'Replay queue' }).click();
    const group = page.locator('section.group').filter({ hasText: event.id });
    expect(await group.getByRole('heading').innerText()).toContain('no invoice found for payment intent pi_…');
    expect(await group.locator('.badge.fixed').count()).toBe(0);

    const created = await graphql(
      service.url,
      'mutation ($input: CreateInvoiceInput!) { createInvoice(input: $input) { id } }',
      { input: { workspaceId: DEMO_WORKSPACES[0].id, number: 'ACME-1099', currency: 'EUR', amountDue: 7_500, paymentIntentId } },
      token,
    );
    expect(created.errors).toBeUndefined();
    await page.reload();
    await group.locator('.badge.fixed').waitFor();
    await expectAccessible('replays');
    await screenshot('replays');

    await group.getByRole('link', { name: 'Dry run' }).click();
    await page.getByRole('heading', { name: 'Dry run of a replay' }).waitFor();
    const dryRun = await page.locator('main').innerText();
    expect(dryRun).toContain('OPEN → CAPTURED');
    expect(dryRun).toContain('75.00 EUR');
    expect(dryRun).toContain('CAPTURE_SUCCEEDED');
    await expectAccessible('dry-run');
    await screenshot('dry-run');

    await page.getByRole('button', { name: 'Schedule this replay' }).click();
    await page.getByRole('status').filter({ hasText: `Replay of ${event.id} scheduled.` }).waitFor();
    worker = spawnWorker(service.database.url);
    // The replay worker applies it: the event leaves the queue and the invoice is captured.
    await expect.poll(async () => (await page.reload(), await page.locator('main').innerText()), { timeout: 20_000 }).toContain(
      `Replay of ${event.id} scheduled, then done: PROCESSED.`,
    );
    expect(await page.locator('section.group').filter({ hasText: event.id }).count()).toBe(0);
    await page.goto(`${service.url}/dashboard/invoices/${created.data.createInvoice.id}`);
    const balance = await page.getByRole('region', { name: 'Balance' }).innerText();
    expect(balance).toContain('status CAPTURED');
    expect(balance).toMatch(/Ledger net\s+75\.00 EUR/);
    expect(await page.getByRole('region', { name: 'Processor events' }).innerText()).toContain(event.id);
  });

  it('shows reconciliation with an open mismatch, re-checks it, and changes the rollout stage, accessibly', async () => {
    // The ledger holds 5.00 USD on ACME-1001 that the processor never captured (a mistaken source).
    const acme = DEMO_INVOICES[0];
    await service.deps.db.transaction(async (tx) => {
      const [locked] = await tx.select().from(invoices).where(eq(invoices.id, acme.id)).for('update');
      await recordCapturedTotal({ tx, jobs: service.deps.jobs, source: 'SYSTEM' }, locked!, {
        paymentIntentId: locked!.paymentIntentId!,
        chargeId: 'ch_mistaken',
        capturedTotal: locked!.amountCaptured + 500,
        currency: 'USD',
        capturedAt: null,
      });
    });
    await page.getByRole('link', { name: 'Reconciliation' }).click();
    await page.getByRole('button', { name: 'Run a reconciliation now' }).click();
    await page.getByRole('status').filter({ hasText: 'SUCCEEDED' }).waitFor();
    const mismatch = page.locator('tbody tr').filter({ hasText: 'ACME-1001' });
    expect(await mismatch.innerText()).toMatch(/the ledger holds captured money the processor does not|the processor does not know this payment intent/);
    await mismatch.getByRole('button', { name: 'Re-check now' }).click();
    await page.getByRole('status').filter({ hasText: 'still differs from the processor' }).waitFor();
    await expectAccessible('reconciliation');
    await screenshot('reconciliation');
    await page.getByRole('link', { name: 'Rollout stage' }).click();
    await page.getByLabel(/^GENERAL/).check();
    await page.getByRole('button', { name: 'Change the stage' }).click();
    await page.getByRole('status').filter({ hasText: 'Rollout stage changed from PILOT to GENERAL.' }).waitFor();
    await expectAccessible('rollout');
    await screenshot('rollout');
  });

  it('made no request to any other host, and nothing was blocked or failed in the pages', () => {
    expect(consoleErrors).toEqual([]);
    const origin = new URL(service.url).origin;
    expect(requested.length).toBeGreaterThan(10);
    expect(requested.filter((url) => new URL(url).origin !== origin)).toEqual([]);
  });
});
