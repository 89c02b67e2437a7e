import { z } from 'zod';
import { ProcessorEventError } from './processor-event-error.js';

/**
 * The parts of Stripe's objects we act on, checked before use: a payload that does not match is a
 * malformed event and stays queued, it never half-applies. Unknown fields are kept (passthrough).
 */
const amount = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const metadata = z.record(z.string(), z.string()).nullish().transform((value) => value ?? {});
const idOf = z.union([z.string(), z.object({ id: z.string() }).passthrough()]).nullish().transform((value) => (typeof value === 'object' && value ? value.id : value ?? null));

export const stripeRefund = z
  .object({
    id: z.string().startsWith('re_'),
    object: z.literal('refund'),
    amount,
    currency: z.string().length(3),
    charge: idOf,
    payment_intent: idOf,
    status: z.string().nullish(),
    reason: z.string().nullish(),
    failure_reason: z.string().nullish(),
    created: z.number().int(),
    metadata,
  })
  .passthrough();

export const stripeCharge = z
  .object({
    id: z.string().startsWith('ch_'),
    object: z.literal('charge'),
    amount,
    amount_captured: amount,
    amount_refunded: amount,
    captured: z.boolean(),
    currency: z.string().length(3),
    payment_intent: idOf,
    created: z.number().int(),
    metadata,
    refunds: z.object({ data: z.array(stripeRefund) }).passthrough().nullish(),
  })
  .passthrough();

export const stripePaymentIntent = z
  .object({
    id: z.string().startsWith('pi_'),
    object: z.literal('payment_intent'),
    amount,
    amount_received: amount,
    currency: z.string().length(3),
    latest_charge: idOf,
    status: z.string(),
    created: z.number().int(),
    metadata,
    last_payment_error: z.object({ code: z.string().nullish(), message: z.string().nullish() }).passthrough().nullish(),
    cancellation_reason: z.string().nullish(),
  })
  .passthrough();

export const stripeDispute = z
  .object({
    id: z.string().startsWith('dp_'),
    object: z.literal('dispute'),
    amount,
    currency: z.string().length(3),
    charge: idOf,
    payment_intent: idOf,
    reason: z.string().nullish(),
    status: z.string().nullish(),
    created: z.number().int(),
    metadata,
  })
  .passthrough();

export type StripeRefund = z.infer<typeof stripeRefund>;
export type StripeCharge = z.infer<typeof stripeCharge>;
export type StripePaymentIntent = z.infer<typeof stripePaymentIntent>;
export type StripeDispute = z.infer<typeof stripeDispute>;

export function parseStripeObject<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  // The live webhooks' usual object, checked by hand (zod rebuilds it key by key); anything the
  // hand check does not pass goes through zod, for zod's verdict and its messages.
  if (schema === (stripePaymentIntent as unknown)) {
    const intent = readPaymentIntent(value);
    if (intent) return intent as T;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || what}: ${issue.message}`).join('; ');
    throw new ProcessorEventError(`malformed ${what} object: ${problems}`);
  }
  return parsed.data;
}

/** Stripe's lower-case currency codes, as ours. */
export const currencyOf = (object: { currency: string }): string => object.currency.toUpperCase();

export const fromUnixSeconds = (seconds: number): Date => new Date(seconds * 1000);

/**
 * What `stripePaymentIntent` gives for a payment intent it accepts, or undefined when this hand check
 * does not accept it (zod then decides). test/webhooks/envelope.test.ts holds the two to the same output.
 */
export function readPaymentIntent(value: unknown): StripePaymentIntent | undefined {
  if (!isPlainObject(value)) return undefined;
  const { id, amount: total, amount_received: received, currency, status, created, metadata: tags, last_payment_error: error, cancellation_reason: reason } = value;
  if (typeof id !== 'string' || !id.startsWith('pi_') || value.object !== 'payment_intent') return undefined;
  if (!isAmount(total) || !isAmount(received) || typeof currency !== 'string' || currency.length !== 3) return undefined;
  if (typeof status !== 'string' || typeof created !== 'number' || !Number.isSafeInteger(created)) return undefined;
  if (!isNullishText(reason)) return undefined;
  if (error !== null && error !== undefined && !(isPlainObject(error) && isNullishText(error.code) && isNullishText(error.message))) return undefined;
  if (tags !== null && tags !== undefined && !(isPlainObject(tags) && Object.values(tags).every((tag) => typeof tag === 'string'))) return undefined;
  const charge = value.latest_charge;
  let latestCharge: string | null;
  if (charge === null || charge === undefined) latestCharge = null;
  else if (typeof charge === 'string') latestCharge = charge;
  else if (isPlainObject(charge) && typeof charge.id === 'string') latestCharge = charge.id;
  else return undefined;
  return { ...value, metadata: (tags ?? {}) as Record<string, string>, latest_charge: latestCharge } as StripePaymentIntent;
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
};
const isAmount = (value: unknown): boolean => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isNullishText = (value: unknown): boolean => value === null || value === undefined || typeof value === 'string';
