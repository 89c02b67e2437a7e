import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createGateway } from '../../src/adapters/create-gateway.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe/server.js';
import { captureRequest } from './requests.js';

let fake: FakeStripe;
let database: TestDatabase;
beforeAll(async () => {
  fake = await startFakeStripe();
  database = await createTestDatabase();
});
afterAll(async () => {
  await fake.close();
  await database.drop();
});

describe('createGateway', () => {
  it('builds the synthetic gateway by default, with the configured settlement delay, its state in the database', async () => {
    const config = loadConfig({ SYNTHETIC_SETTLEMENT_DELAY_MS: '60000' }).gateway;
    const gateway = await createGateway(config, { databaseUrl: database.url, prepare: true });
    const request = captureRequest();
    let paymentIntentId: string;
    try {
      expect(gateway.client.name).toBe('synthetic');
      const capture = await gateway.client.capture(request);
      expect(capture.settledAt).toBeNull();
      paymentIntentId = capture.paymentIntentId;
    } finally {
      await gateway.close();
    }

    // A restarted process (here without prepared statements, as behind a pooler) sees the same processor.
    const restarted = await createGateway(config, { databaseUrl: database.url, prepare: false });
    try {
      expect(await restarted.client.getPayment(paymentIntentId)).toMatchObject({ amountCaptured: request.amount, captureAttemptIds: [request.idempotencyKey] });
    } finally {
      await restarted.close();
    }
    const [{ intents }] = await database.sql<[{ intents: number }]>`SELECT count(*)::int AS intents FROM synthetic_gateway.payment_intents`;
    expect(intents).toBe(1);
  });

  it('builds a Stripe gateway that talks to the configured host, port and protocol', async () => {
    const config = loadConfig({
      BILLING_GATEWAY: 'stripe',
      STRIPE_SECRET_KEY: fake.secretKey,
      STRIPE_API_HOST: fake.host,
      STRIPE_API_PORT: String(fake.port),
      STRIPE_API_PROTOCOL: 'http',
    });
    const paymentIntentId = fake.state.createPaymentIntent({ amount: 700, currency: 'gbp' });

    const gateway = await createGateway(config.gateway, { databaseUrl: database.url, prepare: true });

    expect(gateway.client.name).toBe('stripe');
    expect(await gateway.client.getPayment(paymentIntentId)).toMatchObject({ paymentIntentId, currency: 'GBP', amountCaptured: 0 });
    await gateway.close();
  });
});
