import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';

/**
 * Bodies shaped like the events Stripe sends (API version 2025+ field names), built from one payment's
 * facts so tests can deliver any subset in any order.
 */
export const WEBHOOK_SECRET = 'whsec_test_primary';

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;
const CREATED = 1_790_000_000;

export type Payment = {
  invoiceId: string;
  paymentIntentId: string;
  chargeId: string;
  currency: string;
  amount: number;
};

export function newPayment(invoiceId: string, amount: number, currency = 'usd'): Payment {
  return { invoiceId, paymentIntentId: id('pi'), chargeId: id('ch'), currency: currency.toLowerCase(), amount };
}

export function stripeEvent(type: string, object: Record<string, unknown>, overrides: Record<string, unknown> = {}) {
  return {
    id: id('evt'),
    object: 'event',
    api_version: '2025-09-30.clover',
    created: CREATED + 60,
    livemode: false,
    pending_webhooks: 1,
    request: { id: id('req'), idempotency_key: null },
    type,
    data: { object },
    ...overrides,
  };
}

export function paymentIntent(payment: Payment, amountReceived: number, status = amountReceived > 0 ? 'succeeded' : 'requires_capture') {
  return {
    id: payment.paymentIntentId,
    object: 'payment_intent',
    amount: payment.amount,
    amount_capturable: payment.amount - amountReceived,
    amount_received: amountReceived,
    currency: payment.currency,
    latest_charge: payment.chargeId,
    status,
    created: CREATED,
    livemode: false,
    metadata: { invoice_id: payment.invoiceId },
    last_payment_error: null,
    cancellation_reason: null,
  };
}

export type RefundFacts = {
  id: string;
  amount: number;
  status?: string;
  reason?: string | null;
  failure_reason?: string;
  created?: number;
  metadata?: Record<string, string>;
};

export function refundObject(payment: Payment, refund: RefundFacts) {
  return {
    id: refund.id,
    object: 'refund',
    amount: refund.amount,
    currency: payment.currency,
    charge: payment.chargeId,
    payment_intent: payment.paymentIntentId,
    status: refund.status ?? 'succeeded',
    reason: refund.reason ?? 'requested_by_customer',
    ...(refund.failure_reason ? { failure_reason: refund.failure_reason } : {}),
    created: refund.created ?? CREATED + 120,
    metadata: refund.metadata ?? {},
    balance_transaction: id('txn'),
  };
}

export function charge(payment: Payment, amountCaptured: number, refunds: RefundFacts[] = []) {
  return {
    id: payment.chargeId,
    object: 'charge',
    amount: payment.amount,
    amount_captured: amountCaptured,
    amount_refunded: refunds.reduce((sum, refund) => sum + refund.amount, 0),
    captured: amountCaptured > 0,
    refunded: refunds.length > 0 && refunds.reduce((sum, refund) => sum + refund.amount, 0) === amountCaptured,
    currency: payment.currency,
    payment_intent: payment.paymentIntentId,
    created: CREATED,
    livemode: false,
    paid: true,
    status: 'succeeded',
    metadata: { invoice_id: payment.invoiceId },
    refunds: { object: 'list', data: refunds.map((refund) => refundObject(payment, refund)), has_more: false },
  };
}

export function dispute(payment: Payment, amount: number) {
  return {
    id: id('dp'),
    object: 'dispute',
    amount,
    currency: payment.currency,
    charge: payment.chargeId,
    payment_intent: payment.paymentIntentId,
    reason: 'fraudulent',
    status: 'needs_response',
    created: CREATED + 300,
    metadata: {},
  };
}

export type SignedDelivery = { body: string; signature: string };

/** Signs a body as Stripe does, with the real SDK. */
export function sign(event: unknown, options: { secret?: string; timestamp?: number } = {}): SignedDelivery {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const signature = Stripe.webhooks.generateTestHeaderString({
    payload: body,
    secret: options.secret ?? WEBHOOK_SECRET,
    timestamp: options.timestamp ?? Math.floor(Date.now() / 1000),
  });
  return { body, signature };
}

export async function deliver(
  baseUrl: string,
  delivery: SignedDelivery | { body: string; signature?: string },
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${baseUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(delivery.signature ? { 'stripe-signature': delivery.signature } : {}) },
    body: delivery.body,
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. a proxy error page): keep the text
  }
  return { status: response.status, body };
}

/** Signs and delivers in one go. */
export const deliverEvent = (baseUrl: string, event: unknown) => deliver(baseUrl, sign(event));

export const newRefundId = () => id('re');
