import Stripe from 'stripe';
import {
  GatewayDeclinedError,
  GatewayUnavailableError,
  type BillingGatewayClient,
  type CaptureRequest,
  type CaptureResult,
  type PaymentState,
  type RefundReason,
  type RefundRequest,
  type RefundResult,
  type SettlementRecord,
} from '../../domain/gateway/billing-gateway-client.js';
import { isResourceMissing, toGatewayError } from './stripe-errors.js';

export type StripeGatewayOptions = {
  secretKey: string;
  /** Tests point these at the fake Stripe server; unset means api.stripe.com. */
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  /** Per request; past it the outcome is unknown (GatewayUnavailableError). */
  timeoutMs?: number;
  /** The SDK's own retries of network errors, 409 and 5xx, always with the same idempotency key. */
  maxNetworkRetries?: number;
};

/** Stripe knows three reasons; ours without an equivalent go as requested_by_customer, our code in metadata. */
const STRIPE_REFUND_REASON: Record<RefundReason, Stripe.RefundCreateParams.Reason> = {
  DUPLICATE: 'duplicate',
  FRAUDULENT: 'fraudulent',
  REQUESTED_BY_CUSTOMER: 'requested_by_customer',
  SERVICE_NOT_PROVIDED: 'requested_by_customer',
  GOODWILL: 'requested_by_customer',
  OTHER: 'requested_by_customer',
};

const PAGE = { limit: 100 } as const;
const PAGE_CEILING = { limit: 10_000 } as const;

export class StripeGateway implements BillingGatewayClient {
  readonly name = 'stripe' as const;
  readonly #stripe: Stripe;

  constructor(options: StripeGatewayOptions) {
    this.#stripe = new Stripe(options.secretKey, {
      host: options.host,
      port: options.port,
      protocol: options.protocol,
      timeout: options.timeoutMs ?? 20_000,
      maxNetworkRetries: options.maxNetworkRetries ?? 2,
      telemetry: false,
      appInfo: { name: 'billing-ledger' },
    });
  }

  async capture(request: CaptureRequest): Promise<CaptureResult> {
    const paymentIntentId = request.paymentIntentId;
    if (!paymentIntentId) {
      throw new GatewayDeclinedError('payment_intent_missing', `Invoice ${request.invoiceId} has no Stripe payment intent to capture`);
    }
    return this.#call('capture a payment', async () => {
      // The currency never changes on an intent, so checking it first is race-free, and it stops an
      // amount in one currency's minor units being captured as another's.
      const before = await this.#stripe.paymentIntents.retrieve(paymentIntentId);
      if (before.currency.toUpperCase() !== request.currency) {
        throw new GatewayDeclinedError(
          'currency_mismatch',
          `Payment intent ${paymentIntentId} is in ${before.currency.toUpperCase()}, not ${request.currency}`,
        );
      }
      const intent = await this.#stripe.paymentIntents.capture(
        paymentIntentId,
        { amount_to_capture: request.amount, final_capture: request.finalCapture, expand: ['latest_charge.balance_transaction'] },
        { idempotencyKey: request.idempotencyKey },
      );
      const charge = expanded(intent.latest_charge, 'latest_charge');
      const transaction = chargeTransaction(charge);
      return {
        status: 'succeeded',
        paymentIntentId: intent.id,
        chargeId: charge.id,
        amountCaptured: request.amount,
        // Stripe's own timestamp: a replay after a lost answer reports the original capture time.
        capturedAt: transaction ? fromUnix(transaction.created) : new Date(),
        settledAt: settledAt(transaction),
      };
    });
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    const refund = await this.#call('refund a payment', () =>
      this.#stripe.refunds.create(
        {
          payment_intent: request.paymentIntentId,
          amount: request.amount,
          reason: STRIPE_REFUND_REASON[request.reason],
          // payment_attempt_id lets the refund's webhook settle our attempt instead of counting the money twice.
          metadata: { invoice_id: request.invoiceId, reason_code: request.reason, payment_attempt_id: request.idempotencyKey },
        },
        { idempotencyKey: request.idempotencyKey },
      ),
    );
    const result = { refundId: refund.id, amount: refund.amount, createdAt: fromUnix(refund.created) };
    switch (refund.status) {
      case 'succeeded':
        return { status: 'succeeded', ...result };
      case 'pending':
      case 'requires_action':
        return { status: 'pending', ...result };
      default:
        throw new GatewayDeclinedError(
          refund.failure_reason ?? `refund_${refund.status ?? 'failed'}`,
          `Stripe refund ${refund.id} ended ${refund.status ?? 'without a status'}`,
        );
    }
  }

  async getPayment(paymentIntentId: string): Promise<PaymentState | null> {
    return this.#call('look up a payment', async () => {
      let intent: Stripe.PaymentIntent;
      try {
        intent = await this.#stripe.paymentIntents.retrieve(paymentIntentId, { expand: ['latest_charge.balance_transaction'] });
      } catch (error) {
        if (isResourceMissing(error)) return null;
        throw error;
      }
      const charge = intent.latest_charge === null ? null : expanded(intent.latest_charge, 'latest_charge');
      const transaction = chargeTransaction(charge);
      return {
        paymentIntentId: intent.id,
        status: paymentStatus(intent),
        chargeId: charge?.id ?? null,
        amountCaptured: intent.amount_received,
        amountRefunded: charge?.amount_refunded ?? 0,
        currency: intent.currency.toUpperCase(),
        settledAt: settledAt(transaction),
      };
    });
  }

  /**
   * Settled lines only (balance transactions whose funds are `available`). A charge's lines are found by
   * `source`, not through `charge.balance_transaction`, because each capture of a multi-captured intent
   * has its own balance transaction. Failed or canceled refunds are left out: their debit is reversed by
   * a `refund_failure` transaction, so together they moved nothing. Intents are read one after another
   * to stay well inside Stripe's rate limit; an intent Stripe does not know contributes no lines.
   */
  async listSettlements(paymentIntentIds: readonly string[]): Promise<SettlementRecord[]> {
    return this.#call('list settlements', async () => {
      const records: SettlementRecord[] = [];
      for (const paymentIntentId of new Set(paymentIntentIds)) {
        const transactions = await this.#settlementTransactions(paymentIntentId);
        for (const transaction of transactions) {
          const type = settlementType(transaction.type);
          if (!type || transaction.status !== 'available') continue;
          records.push({
            paymentIntentId,
            id: transaction.id,
            type,
            amount: transaction.amount,
            currency: transaction.currency.toUpperCase(),
            availableOn: fromUnix(transaction.available_on),
          });
        }
      }
      return records;
    });
  }

  async #settlementTransactions(paymentIntentId: string): Promise<Stripe.BalanceTransaction[]> {
    const byId = new Map<string, Stripe.BalanceTransaction>();
    try {
      const charges = await this.#stripe.charges.list({ payment_intent: paymentIntentId, ...PAGE }).autoPagingToArray(PAGE_CEILING);
      for (const charge of charges.filter((candidate) => candidate.amount_captured > 0)) {
        const lines = await this.#stripe.balanceTransactions.list({ source: charge.id, ...PAGE }).autoPagingToArray(PAGE_CEILING);
        for (const line of lines) byId.set(line.id, line);
      }
      const refunds = await this.#stripe.refunds
        .list({ payment_intent: paymentIntentId, expand: ['data.balance_transaction'], ...PAGE })
        .autoPagingToArray(PAGE_CEILING);
      for (const refund of refunds) {
        if (refund.status === 'failed' || refund.status === 'canceled' || refund.balance_transaction === null) continue;
        const line = expanded(refund.balance_transaction, 'balance_transaction');
        byId.set(line.id, line);
      }
    } catch (error) {
      if (isResourceMissing(error)) return [];
      throw error;
    }
    return [...byId.values()];
  }

  async #call<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw toGatewayError(error, action);
    }
  }
}

/**
 * We always ask Stripe to expand these; an id here means the response is not what we asked for. The
 * request may well have succeeded, so the outcome is unknown rather than declined.
 */
function expanded<T extends { id: string }>(value: string | T | null, field: string): T {
  if (value === null || typeof value === 'string') {
    throw new GatewayUnavailableError(`Stripe's answer did not include an expanded ${field}`);
  }
  return value;
}

function chargeTransaction(charge: Stripe.Charge | null): Stripe.BalanceTransaction | null {
  if (charge === null || charge.balance_transaction === null) return null;
  return expanded(charge.balance_transaction, 'balance_transaction');
}

function settledAt(transaction: Stripe.BalanceTransaction | null): Date | null {
  return transaction?.status === 'available' ? fromUnix(transaction.available_on) : null;
}

function fromUnix(seconds: number): Date {
  return new Date(seconds * 1000);
}

/**
 * Our statuses are the processor's view as reconciliation needs it. Intents still waiting for the
 * customer (payment method, confirmation, action) have captured nothing yet: `processing`, unless the
 * last attempt failed.
 */
function paymentStatus(intent: Stripe.PaymentIntent): PaymentState['status'] {
  switch (intent.status) {
    case 'requires_capture':
      return 'requires_capture';
    case 'succeeded':
      return 'succeeded';
    case 'canceled':
      return 'canceled';
    case 'processing':
      return 'processing';
    default:
      return intent.last_payment_error ? 'failed' : 'processing';
  }
}

function settlementType(type: Stripe.BalanceTransaction.Type): SettlementRecord['type'] | null {
  if (type === 'charge' || type === 'payment') return 'charge';
  if (type === 'refund' || type === 'payment_refund') return 'refund';
  return null;
}
