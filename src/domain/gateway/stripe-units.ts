import { GatewayDeclinedError } from './billing-gateway-client.js';

/**
 * Where Stripe's amounts differ from ISO 4217 minor units, the ledger's unit (Stripe's "Supported
 * currencies" page, its zero-decimal list and "special cases"). Only the differences are here; every
 * other currency goes to Stripe as it is.
 *
 * - ISK: ISO 4217 has no minor unit (0 decimals) and neither do card networks since April 2023, but
 *   Stripe's API keeps two decimals for backwards compatibility (100 = 1 króna) and refuses amounts not
 *   divisible by 100: the ledger's krónur are multiplied by 100 on the way out, divided on the way in.
 * - BHD, JOD, KWD, OMR, TND: three decimals in both, but Stripe's partners take two, so Stripe wants the
 *   last digit to be 0: a fils amount not ending in 0 is refused here, before Stripe is called.
 *
 * Checked and deliberately absent: HUF and TWD are zero-decimal at Stripe for payouts only (charges and
 * refunds take two decimals, as in ISO 4217), and UGX is zero-decimal at Stripe as in ISO 4217.
 */
type UnitRule = { factor: number; multipleOf: number };

export const STRIPE_UNIT_RULES: Readonly<Record<string, UnitRule>> = {
  ISK: { factor: 100, multipleOf: 1 },
  BHD: { factor: 1, multipleOf: 10 },
  JOD: { factor: 1, multipleOf: 10 },
  KWD: { factor: 1, multipleOf: 10 },
  OMR: { factor: 1, multipleOf: 10 },
  TND: { factor: 1, multipleOf: 10 },
};

const NO_RULE: UnitRule = { factor: 1, multipleOf: 1 };
const ruleFor = (currency: string) => STRIPE_UNIT_RULES[currency.toUpperCase()] ?? NO_RULE;

/** Ledger minor units → Stripe's amount; an amount Stripe cannot take is a decline, nothing is sent. */
export function toStripeAmount(currency: string, amount: number): number {
  const { factor, multipleOf } = ruleFor(currency);
  const code = currency.toUpperCase();
  if (amount % multipleOf !== 0) {
    throw new GatewayDeclinedError(
      'amount_precision_unsupported',
      `Stripe takes ${code} amounts in multiples of ${multipleOf} minor units; ${amount} is not one`,
    );
  }
  const stripeAmount = amount * factor;
  if (!Number.isSafeInteger(stripeAmount)) {
    throw new GatewayDeclinedError('amount_too_large', `${amount} ${code} is too large to send to Stripe`);
  }
  return stripeAmount;
}

/**
 * Stripe's amount → ledger minor units. Stripe refuses ISK amounts not divisible by 100 since 2023, so
 * one here is an older fractional-króna charge the ledger cannot represent: it is reported, not rounded.
 */
export function fromStripeAmount(currency: string, stripeAmount: number): number {
  const { factor } = ruleFor(currency);
  if (stripeAmount % factor !== 0) {
    throw new Error(`Stripe reported ${stripeAmount} ${currency.toUpperCase()}, which is not a whole number of ledger minor units`);
  }
  return stripeAmount / factor;
}
