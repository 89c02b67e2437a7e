import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService } from '../../src/service.js';
import { makeInvoice, makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { errorCodes } from '../support/graphql.js';
import { capture, syntheticGateway } from '../support/payments.js';
import { startTestService, type TestService } from '../support/service.js';

const SECRET = 'whsec_test_notifications';
type Delivery = { headers: IncomingMessage['headers']; body: string };

let receiver: Server;
let deliveries: Delivery[] = [];
let waiting: ((delivery: Delivery) => void)[] = [];
let nextStatuses: number[] = [];
/** Invoices whose next delivery the receiver refuses with a 500. */
const refuseOnce = new Set<string>();
let service: TestService;
let notificationUrl: string;
let token: string;
let workspaceId: string;

beforeAll(async () => {
  receiver = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const delivery = { headers: req.headers, body };
    deliveries.push(delivery);
    waiting.forEach((resolve) => resolve(delivery));
    waiting = [];
    const refused = [...refuseOnce].find((invoiceId) => body.includes(invoiceId));
    if (refused) refuseOnce.delete(refused);
    res.statusCode = refused ? 500 : (nextStatuses.shift() ?? 200);
    res.end();
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const { port } = receiver.address() as AddressInfo;
  notificationUrl = `http://127.0.0.1:${port}/hooks/billing`;
  service = await startTestService({
    BILLING_ROLLOUT_STAGE: 'GENERAL',
    NOTIFICATION_URL: notificationUrl,
    NOTIFICATION_SECRET: SECRET,
  });
  token = await makeOperatorToken(service.deps.db);
  workspaceId = (await makeWorkspace(service.deps.db)).id;
});
afterAll(async () => {
  await service.close();
  receiver.close();
});

/** Resolves with the next delivery for this invoice: tests wait on the outcome, not on a sleep. */
function nextDeliveryFor(invoiceId: string): Promise<Delivery> {
  const already = deliveries.find((delivery) => delivery.body.includes(invoiceId));
  if (already) return Promise.resolve(already);
  return new Promise((resolve) => {
    const check = (delivery: Delivery) => (delivery.body.includes(invoiceId) ? resolve(delivery) : waiting.push(check));
    waiting.push(check);
  });
}

const jobsFor = (invoiceId: string) =>
  service.deps.db.execute<{ state: string; retry_count: number }>(
    sql`SELECT state, retry_count FROM pgboss.job WHERE name = 'capture-notification' AND data->>'invoiceId' = ${invoiceId}`,
  );

describe('capture notifications', () => {
  it('a successful capture is delivered as a signed JSON POST', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId, { amountDue: 4_200, currency: 'EUR' });
    const response = await capture(service, token, { invoiceId: invoice.id });
    expect(response.errors).toBeUndefined();

    const delivery = await nextDeliveryFor(invoice.id);
    const payload = JSON.parse(delivery.body);
    expect(payload).toMatchObject({
      id: response.data.captureInvoice.adjustment.id,
      type: 'invoice.captured',
      data: { invoiceId: invoice.id, amount: 4_200, currency: 'EUR', status: 'CAPTURED', amountCaptured: 4_200 },
    });
    const signature = String(delivery.headers['x-billing-signature']);
    const [, timestamp, digest] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature) ?? [];
    expect(digest).toBe(createHmac('sha256', SECRET).update(`${timestamp}.${delivery.body}`).digest('hex'));
  });

  it('a declined capture enqueues nothing (the job shares the capture transaction)', async () => {
    const invoice = await makeInvoice(service.deps.db, workspaceId);
    syntheticGateway(service).injectFailure({ invoiceId: invoice.id, operation: 'capture', mode: 'decline' });
    expect(errorCodes(await capture(service, token, { invoiceId: invoice.id }))).toEqual(['GATEWAY_DECLINED']);
    expect([...(await jobsFor(invoice.id))]).toEqual([]);
  });

  it('a failed delivery is retried by pg-boss until the receiver accepts it', async () => {
    nextStatuses = [500];
    const invoice = await makeInvoice(service.deps.db, workspaceId);
    expect((await capture(service, token, { invoiceId: invoice.id })).errors).toBeUndefined();
    // The first POST is answered 500; pg-boss retries after its delay (5 s) and the second succeeds.
    await expect
      .poll(async () => [...(await jobsFor(invoice.id))], { timeout: 20_000, interval: 250 })
      .toEqual([{ state: 'completed', retry_count: 1 }]);
    expect(deliveries.filter((delivery) => delivery.body.includes(invoice.id))).toHaveLength(2);
  });

  it('jobs fetched together succeed or fail on their own: one refused delivery retries alone', async () => {
    // Captures through an API-only process; a worker started afterwards fetches the three jobs in one batch.
    const api = await startTestService({ BILLING_ROLLOUT_STAGE: 'GENERAL', NOTIFICATION_URL: notificationUrl }, 'api');
    const apiToken = await makeOperatorToken(api.deps.db);
    const apiWorkspace = (await makeWorkspace(api.deps.db)).id;
    const invoices: Awaited<ReturnType<typeof makeInvoice>>[] = [];
    for (let index = 0; index < 3; index++) {
      const invoice = await makeInvoice(api.deps.db, apiWorkspace, { amountDue: 1_000 });
      expect((await capture(api, apiToken, { invoiceId: invoice.id })).errors).toBeUndefined();
      invoices.push(invoice);
    }
    refuseOnce.add(invoices[1]!.id);
    const config = loadConfig({ DATABASE_URL: api.database.url, PORT: '0', LOG_LEVEL: 'silent', DEMO_SEED: 'false', BILLING_GATEWAY: 'synthetic', NOTIFICATION_URL: notificationUrl });
    const worker = await startService(config, createLogger('silent'), 'worker');
    try {
      const jobsOf = (invoiceId: string) =>
        api.deps.db.execute<{ state: string; retry_count: number }>(
          sql`SELECT state, retry_count FROM pgboss.job WHERE name = 'capture-notification' AND data->>'invoiceId' = ${invoiceId}`,
        );
      await expect
        .poll(async () => Promise.all(invoices.map(async (invoice) => [...(await jobsOf(invoice.id))])), { timeout: 20_000, interval: 250 })
        .toEqual([[{ state: 'completed', retry_count: 0 }], [{ state: 'completed', retry_count: 1 }], [{ state: 'completed', retry_count: 0 }]]);
    } finally {
      await worker.stop();
      await api.close();
    }
  });
});
