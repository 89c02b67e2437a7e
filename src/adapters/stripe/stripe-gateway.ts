import Stripe from 'stripe';
import {
  GatewayDeclinedError,
  type BillingGatewayClient,
  type CaptureRequest,
  type CaptureResult,
  type PaymentState,
  type ProcessorRefund,
  type RefundRequest,
  type RefundResult,
  type SettlementRecord,
} from '../../domain/gateway/billing-gateway-client.js';
import { listActivity } from './stripe-activity.js';
import { isResourceMissing, toGatewayError } from './stripe-errors.js';
import {
  STRIPE_REFUND_REASON,
  chargeTransaction,
  expanded,
  fromUnix,
  paymentStatus,
  processorRefund,
  settledAt,
} from './stripe-objects.js';
import { captureAttemptIds, captureMetadataKey } from '../../domain/gateway/capture-metadata.js';
import { fromStripeAmount, toStripeAmount } from '../../domain/gateway/stripe-units.js';

export type StripeGatewayOptions = {
  secretKey: string;
  /** Tests point these at the fake Stripe server; unset means api.stripe.com. */
  host?: string;
  port?: number;
  protocol?: 'http' | 'https';
  /** Per request; past it the outcome is unknown (GatewayUnavailableError). */
  timeoutMs?: number;
  /**
   * The SDK's own retries (network errors, 409, 5xx), seconds apart and always with the same idempotency
   * key, so never a second capture. Kept small: a 500 that Stripe saved for the key is replayed to every
   * retry anyway (Stripe then says `Stripe-Should-Retry: false`), and the domain's settle job looks the
   * outcome up instead. Note that the SDK retries a reset connection once even with 0.
   */
  maxNetworkRetries?: number;
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
      maxNetworkRetries: options.maxNetworkRetries ?? 1,
      telemetry: false,
      appInfo: { name: 'billing-ledger' },
    });
  }

  async capture(request: CaptureRequest): Promise<CaptureResult> {
    const paymentIntentId = request.paymentIntentId;
    if (!paymentIntentId) {
      throw new GatewayDeclinedError('payment_intent_missing', `Invoice ${request.invoiceId} has no Stripe payment intent to capture`);
    }
    const amountToCapture = toStripeAmount(request.currency, request.amount);
    const metadataKey = captureMetadataKey(request.idempotencyKey);
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
        {
          amount_to_capture: amountToCapture,
          final_capture: request.finalCapture,
          // Which of our attempts captured how much (in Stripe's units), for a lookup after a lost answer.
          metadata: { [metadataKey]: String(amountToCapture) },
          expand: ['latest_charge.balance_transaction'],
        },
        { idempotencyKey: request.idempotencyKey },
      );
      const charge = expanded(intent.latest_charge, 'latest_charge');
      const transaction = chargeTransaction(charge);
      return {
        status: 'succeeded',
        paymentIntentId: intent.id,
        chargeId: charge.id,
        amountCaptured: request.amount,
        capturedTotal: fromStripeAmount(intent.currency, intent.amount_received),
        // Stripe's own time: a replay after a lost answer reports the original capture's.
        capturedAt: fromUnix(transaction?.created ?? charge.created),
        settledAt: settledAt(transaction),
      };
    });
  }

  async refund(request: RefundRequest): Promise<RefundResult> {
    const amount = toStripeAmount(request.currency, request.amount);
    const created = await this.#call('refund a payment', () =>
      this.#stripe.refunds.create(
        {
          payment_intent: request.paymentIntentId,
          amount,
          reason: STRIPE_REFUND_REASON[request.reason],
          // payment_attempt_id lets the refund's webhook and lookups settle our attempt instead of counting the money twice.
          metadata: { invoice_id: request.invoiceId, reason_code: request.reason, payment_attempt_id: request.idempotencyKey },
        },
        { idempotencyKey: request.idempotencyKey },
      ),
    );
    const refund = processorRefund(created, request.paymentIntentId);
    if (refund.status === 'failed' || refund.status === 'canceled') {
      throw new GatewayDeclinedError(refund.failureReason ?? `refund_${refund.status}`, `Stripe refund ${refund.id} ended ${refund.status}`);
    }
    return { ...refund, status: refund.status };
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
      const captured = intent.amount_received > 0;
      return {
        paymentIntentId: intent.id,
        status: paymentStatus(intent),
        currency: intent.currency.toUpperCase(),
        invoiceId: intent.metadata.invoice_id ?? null,
        chargeId: charge?.id ?? null,
        amountCaptured: fromStripeAmount(intent.currency, intent.amount_received),
        capturedAt: captured && charge ? fromUnix(transaction?.created ?? charge.created) : null,
        captureAttemptIds: captureAttemptIds(intent.metadata),
        refunds: await this.#refundsOf(intent.id),
        settledAt: settledAt(transaction),
      };
    });
  }

  async listActivity(since: Date): Promise<string[]> {
    return this.#call('list recent activity', () => listActivity(this.#stripe, since));
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
            amount: fromStripeAmount(transaction.currency, transaction.amount),
            currency: transaction.currency.toUpperCase(),
            availableOn: fromUnix(transaction.available_on),
          });
        }
      }
      return records;
    });
  }

  /** Every refund of the intent, in any status, oldest first (Stripe lists newest first). */
  async #refundsOf(paymentIntentId: string): Promise<ProcessorRefund[]> {
    const refunds: ProcessorRefund[] = [];
    for await (const refund of this.#stripe.refunds.list({ payment_intent: paymentIntentId, ...PAGE })) {
      refunds.push(processorRefund(refund, paymentIntentId));
    }
    return refunds.reverse();
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

function settlementType(type: Stripe.BalanceTransaction.Type): SettlementRecord['type'] | null {
  if (type === 'charge' || type === 'payment') return 'charge';
  if (type === 'refund' || type === 'payment_refund') return 'refund';
  return null;
}
