import postgres from 'postgres';
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeInvoice, makeWorkspace } from '../support/factories.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliver, newPayment, sign, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

let service: TestService;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET });
});
afterAll(() => service.close());

describe('the database is down', () => {
  it('answers 503 and acknowledges nothing; Stripe’s retry is processed once it is back', async () => {
    const invoice = await makeInvoice(service.deps.db, (await makeWorkspace(service.deps.db)).id, { amountDue: 900 });
    const delivery = sign(stripeEvent('charge.captured', charge(newPayment(invoice.id, 900), 900)));
    const admin = postgres(inject('adminUrl'), { max: 1, onnotice: () => {} });
    const name = service.database.name;
    try {
      await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name} AND pid <> pg_backend_pid()`;
      const down = await deliver(service.url, delivery);
      expect(down.status).toBe(503);
      expect(down.body).toMatchObject({ status: 'unavailable' });
    } finally {
      await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    expect(await deliver(service.url, delivery)).toEqual({ status: 200, body: { status: 'processed' } });
  });
});
