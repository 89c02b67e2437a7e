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
