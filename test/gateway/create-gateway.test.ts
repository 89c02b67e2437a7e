import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createGateway } from '../../src/adapters/create-gateway.js';
import { startFakeStripe, type FakeStripe } from '../support/fake-stripe/server.js';
import { captureRequest } from './requests.js';

let fake: FakeStripe;
beforeAll(async () => {
  fake = await startFakeStripe();
});
afterAll(() => fake.close());

describe('createGateway', () => {
  it('builds the synthetic gateway by default, with the configured settlement delay', async () => {
    const gateway = createGateway(loadConfig({ SYNTHETIC_SETTLEMENT_DELAY_MS: '60000' }).gateway);
    expect(gateway.name).toBe('synthetic');
    expect((await gateway.capture(captureRequest())).settledAt).toBeNull();
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

    const gateway = createGateway(config.gateway);

    expect(gateway.name).toBe('stripe');
    expect(await gateway.getPayment(paymentIntentId)).toMatchObject({ paymentIntentId, currency: 'GBP', amountCaptured: 0 });
  });
});
