import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { useBillingService } from '../support/billing-fixture.js';
import { invoiceAdjustments } from '../../src/db/schema/index.js';
import { makeInvoice } from '../support/factories.js';
import { errorCodes } from '../support/graphql.js';
import { capture, refund, syntheticGateway } from '../support/payments.js';

const billing = useBillingService({ BILLING_ROLLOUT_STAGE: 'GENERAL' });

const linesOf = (invoiceId: string) =>
  billing.service.deps.db.select().from(invoiceAdjustments).where(eq(invoiceAdjustments.invoiceId, invoiceId));

describe('idempotency keys', () => {
  it('the same key and request again returns the first result and moves money once', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 1_000 });
    const idempotencyKey = randomUUID();
    const first = await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 300, idempotencyKey });
    const second = await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 300, idempotencyKey });
    expect(first.errors).toBeUndefined();
    expect(second.data.captureInvoice.attempt).toEqual(first.data.captureInvoice.attempt);
    expect(second.data.captureInvoice.adjustment).toEqual(first.data.captureInvoice.adjustment);
    expect(second.data.captureInvoice.invoice.amountCaptured).toBe(300);
    expect(await linesOf(invoice.id)).toHaveLength(1);
  });

  it('the same key with a different request → IDEMPOTENCY_KEY_REUSED', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 1_000 });
    const idempotencyKey = randomUUID();
    expect((await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 300, idempotencyKey })).errors).toBeUndefined();
    expect(errorCodes(await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 400, idempotencyKey }))).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(errorCodes(await capture(billing.service, billing.token, { invoiceId: invoice.id, idempotencyKey }))).toEqual(['IDEMPOTENCY_KEY_REUSED']);
    expect(await linesOf(invoice.id)).toHaveLength(1);
  });

  it('twenty concurrent requests with one key capture once', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 5_000 });
    const idempotencyKey = randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 1_000, idempotencyKey })),
    );
    const succeeded = responses.filter((response) => !response.errors);
    // Requests that arrive while the first is at the gateway are told to retry; none captures again.
    for (const response of responses.filter((response) => response.errors)) {
      expect(errorCodes(response)).toEqual(['IDEMPOTENCY_KEY_IN_USE']);
    }
    expect(succeeded.length).toBeGreaterThan(0);
    expect(new Set(succeeded.map((response) => response.data.captureInvoice.attempt.id)).size).toBe(1);
    expect(await linesOf(invoice.id)).toHaveLength(1);
    const retried = await capture(billing.service, billing.token, { invoiceId: invoice.id, amount: 1_000, idempotencyKey });
    expect(retried.data.captureInvoice.invoice.amountCaptured).toBe(1_000);
  });

  it('a declined request repeated with its key gets the same decline, and the gateway is not asked again', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 1_000 });
    syntheticGateway(billing.service).injectFailure({ invoiceId: invoice.id, operation: 'capture', mode: 'decline' });
    const idempotencyKey = randomUUID();
    const first = await capture(billing.service, billing.token, { invoiceId: invoice.id, idempotencyKey });
    const second = await capture(billing.service, billing.token, { invoiceId: invoice.id, idempotencyKey });
    expect(errorCodes(first)).toEqual(['GATEWAY_DECLINED']);
    expect(second.errors).toEqual(first.errors);
    // A new key is a new request: this one goes through.
    expect((await capture(billing.service, billing.token, { invoiceId: invoice.id })).errors).toBeUndefined();
  });

  it('refund keys work the same way', async () => {
    const invoice = await makeInvoice(billing.service.deps.db, billing.workspaceId, { amountDue: 1_000 });
    expect((await capture(billing.service, billing.token, { invoiceId: invoice.id })).errors).toBeUndefined();
    const idempotencyKey = randomUUID();
    const input = { invoiceId: invoice.id, amount: 250, reason: 'DUPLICATE', idempotencyKey };
    const first = await refund(billing.service, billing.token, input);
    const second = await refund(billing.service, billing.token, input);
    expect(second.data.refundInvoice.refund).toEqual(first.data.refundInvoice.refund);
    expect(second.data.refundInvoice.invoice.amountRefunded).toBe(250);
    expect(errorCodes(await refund(billing.service, billing.token, { ...input, reason: 'OTHER' }))).toEqual(['IDEMPOTENCY_KEY_REUSED']);
  });
});
