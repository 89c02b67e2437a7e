import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
let service: TestService;
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
    res.statusCode = nextStatuses.shift() ?? 200;
    res.end();
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const { port } = receiver.address() as AddressInfo;
  service = await startTestService({
    BILLING_ROLLOUT_STAGE: 'GENERAL',
    NOTIFICATION_URL: `http://127.0.0.1:${port}/hooks/billing`,
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
});
