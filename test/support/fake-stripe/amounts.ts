import { invalidRequest } from './errors.js';

/**
 * Stripe's currency rules for amounts (docs "Supported currencies", special cases), so that an adapter
 * that forgets them is refused here as it would be by Stripe:
 * - ISK is two-decimal in the API but whole krónur only since 2023: amounts must be divisible by 100;
 * - three-decimal currencies must have a last digit of 0 (Stripe's partners take two decimals).
 */
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

export function assertStripeAmount(currency: string, amount: number, param: string): void {
  const code = currency.toLowerCase();
  if (code === 'isk' && amount % 100 !== 0) {
    throw invalidRequest(
      'Invalid amount. Currency ISK has become effectively zero-decimal and charged amounts must be evenly divisible by 100.',
      'invalid_charge_amount_no_decimal_compatible',
      param,
    );
  }
  if (THREE_DECIMAL.has(code) && amount % 10 !== 0) {
    throw invalidRequest(`Invalid amount. ${code.toUpperCase()} amounts must end in 0: round to the nearest ten.`, 'invalid_amount', param);
  }
}
