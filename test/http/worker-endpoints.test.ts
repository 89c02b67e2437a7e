import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

let worker: TestService;

beforeAll(async () => {
  worker = await startTestService({}, 'worker');
});
afterAll(() => worker.close());

describe('a worker process', () => {
  it('serves health and metrics, so its own counters are scraped, but no API', async () => {
    expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${worker.url}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready' });
    const metrics = await fetch(`${worker.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('billing_replay_backlog');
    expect((await fetch(`${worker.url}/graphql`, { method: 'POST' })).status).toBe(404);
    expect((await fetch(`${worker.url}/webhooks/stripe`, { method: 'POST' })).status).toBe(404);
  });
});
