import { DomainError } from '../../errors.js';

/**
 * Amounts are integers in the currency's minor unit. The exponent (how many minor units make a major
 * one) comes from this table, after ISO 4217 and the processors' own lists; a currency missing here
 * is refused rather than guessed.
 */
const ZERO_DECIMAL = ['BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF'];
const THREE_DECIMAL = ['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'];
const TWO_DECIMAL = [
  'AED', 'ARS', 'AUD', 'BGN', 'BRL', 'CAD', 'CHF', 'CNY', 'COP', 'CZK', 'DKK', 'EGP', 'EUR', 'GBP',
  'HKD', 'HUF', 'IDR', 'ILS', 'INR', 'MAD', 'MXN', 'MYR', 'NGN', 'NOK', 'NZD', 'PEN', 'PHP', 'PKR',
  'PLN', 'QAR', 'RON', 'RSD', 'SAR', 'SEK', 'SGD', 'THB', 'TRY', 'TWD', 'UAH', 'USD', 'ZAR',
];

export const CURRENCY_EXPONENTS: ReadonlyMap<string, number> = new Map([
  ...ZERO_DECIMAL.map((code) => [code, 0] as const),
  ...TWO_DECIMAL.map((code) => [code, 2] as const),
  ...THREE_DECIMAL.map((code) => [code, 3] as const),
]);

/** Larger amounts cannot be represented exactly in JavaScript or GraphQL's SafeInt. */
export const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;

export function parseCurrency(input: string): string {
  const code = input.trim().toUpperCase();
  if (!CURRENCY_EXPONENTS.has(code)) {
    throw new DomainError('BAD_USER_INPUT', `Unsupported currency "${input}"`, { field: 'currency' });
  }
  return code;
}

export function currencyExponent(code: string): number {
  const exponent = CURRENCY_EXPONENTS.get(code);
  if (exponent === undefined) throw new DomainError('BAD_USER_INPUT', `Unsupported currency "${code}"`);
  return exponent;
}

/** A positive whole number of minor units, exactly representable; anything else is refused. */
export function parseAmount(value: unknown, field = 'amount'): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new DomainError('BAD_USER_INPUT', `${field} must be a whole number of minor units`, { field });
  }
  if (value <= 0) throw new DomainError('BAD_USER_INPUT', `${field} must be greater than zero`, { field });
  if (value > MAX_AMOUNT) {
    throw new DomainError('BAD_USER_INPUT', `${field} must not exceed ${MAX_AMOUNT}`, { field });
  }
  return value;
}

/** For people, never for arithmetic: `123456, 'USD'` → `"1234.56 USD"`, `500, 'JPY'` → `"500 JPY"`. */
export function formatAmount(amount: number, currency: string): string {
  const exponent = currencyExponent(currency);
  const sign = amount < 0 ? '-' : '';
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  const major = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return `${sign}${major} ${currency}`;
}
