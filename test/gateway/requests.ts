import { randomUUID } from 'node:crypto';
import type { CaptureRequest, RefundRequest } from '../../src/domain/gateway/billing-gateway-client.js';

/** A capture as the domain sends it: a fresh attempt id as the key, the whole amount, final. */
export function captureRequest(overrides: Partial<CaptureRequest> = {}): CaptureRequest {
  return {
    idempotencyKey: randomUUID(),
    invoiceId: randomUUID(),
    paymentIntentId: null,
    amount: 10_000,
    currency: 'USD',
    finalCapture: true,
    ...overrides,
  };
}

export function refundRequest(overrides: Partial<RefundRequest> & Pick<RefundRequest, 'paymentIntentId' | 'invoiceId'>): RefundRequest {
  return {
    idempotencyKey: randomUUID(),
    amount: 1_000,
    currency: 'USD',
    reason: 'REQUESTED_BY_CUSTOMER',
    ...overrides,
  };
}
