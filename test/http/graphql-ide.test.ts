import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.js';
import { makeOperatorToken } from '../support/factories.js';
import { startTestService, type TestService } from '../support/service.js';

let service: TestService;
let browser: Browser;
let context: BrowserContext;
const requested: string[] = [];

beforeAll(async () => {
  service = await startTestService({ DEMO_SEED: 'true' });
  browser = await launchChromium();
  context = await browser.newContext();
  // Every request of the page, its workers included.
  context.on('request', (request) => requested.push(request.url()));
});
afterAll(async () => {
  await browser?.close();
  await service?.close();
});

it('serves the Ruru IDE at /graphql from the service alone, and it queries the demo data with a token', async () => {
  const token = await makeOperatorToken(service.deps.db);
  // The IDE keeps its headers in localStorage; this is what pasting the printed token does.
  const headers = JSON.stringify({ Authorization: `Bearer ${token}` });
  await context.addInitScript(`localStorage.setItem('graphiql:headers', ${JSON.stringify(headers)})`);
  const page = await context.newPage();

  const response = await page.goto(`${service.url}/graphql`, { waitUntil: 'load' });
  expect(response?.status()).toBe(200);
  await page.locator('.graphiql-query-editor .monaco-editor').waitFor({ timeout: 20_000 });

  const answer = page.waitForResponse((candidate) => candidate.request().method() === 'POST' && candidate.request().postData()?.includes('invoices') === true);
  await page.locator('.graphiql-execute-button').click();
  const body = await (await answer).json();
  expect(body.errors).toBeUndefined();
  expect(body.data.invoices.edges).toHaveLength(5);
  await expect.poll(() => page.locator('.graphiql-response').innerText()).toContain('"amountDue"');

  const origin = new URL(service.url).origin;
  expect(requested.length).toBeGreaterThan(3);
  expect(requested.filter((url) => new URL(url).origin !== origin)).toEqual([]);
});
