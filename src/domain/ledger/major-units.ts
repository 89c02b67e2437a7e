import { DomainError } from '../../errors.js';
import { currencyExponent, parseAmount } from './money.js';

/**
 * An amount typed by a person in major units ("12.50" USD, "1500" JPY, "1.250" KWD) as minor units,
 * by string arithmetic with the currency's exponent from the server's table: no floats. More decimals
 * than the currency has are refused, not rounded. Empty means "all of it" (undefined).
 */
export function parseMajorUnits(text: string | undefined, currency: string, field = 'amount'): number | undefined {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return undefined;
  const exponent = currencyExponent(currency);
  const match = /^(\d+)(?:\.(\d*))?$/.exec(trimmed);
  if (!match) throw new DomainError('BAD_USER_INPUT', `${field} must be a number like ${example(exponent)}`, { field });
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) {
    throw new DomainError('BAD_USER_INPUT', `${currency} has ${exponent} decimal places; ${field} has ${fraction.length}`, { field });
  }
  const digits = (match[1]! + fraction.padEnd(exponent, '0')).replace(/^0+(?=\d)/, '');
  if (digits.length > 16) throw new DomainError('BAD_USER_INPUT', `${field} is too large`, { field });
  return parseAmount(Number(digits), field);
}

const example = (exponent: number) => (exponent === 0 ? '1500' : `12.${'5'.padEnd(exponent, '0')}`);
