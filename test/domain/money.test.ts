import { describe, expect, it } from 'vitest';
import { currencyExponent, formatAmount, MAX_AMOUNT, parseAmount, parseCurrency } from '../../src/domain/ledger/money.js';
import { DomainError } from '../../src/errors.js';

function refusal(run: () => unknown): DomainError {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('parseAmount', () => {
  it.each([1, 100, 15_000, MAX_AMOUNT])('accepts %d minor units', (value) => {
    expect(parseAmount(value)).toBe(value);
  });

  it.each([
    ['zero', 0],
    ['a negative amount', -1],
    ['a fraction', 10.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['2^53', 2 ** 53],
    ['a numeric string', '100'],
    ['null', null],
  ])('refuses %s as BAD_USER_INPUT naming the field', (_label, value) => {
    const error = refusal(() => parseAmount(value, 'amountDue'));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.details).toEqual({ field: 'amountDue' });
    expect(error.message).toMatch(/^amountDue /);
  });
});

describe('parseCurrency', () => {
  it.each([
    ['USD', 'USD'],
    [' usd ', 'USD'],
    ['jpy', 'JPY'],
    ['KWD', 'KWD'],
  ])('reads %j as %s', (input, code) => {
    expect(parseCurrency(input)).toBe(code);
  });

  it.each(['XYZ', 'XAU', '', 'US', 'USDX'])('refuses %j', (input) => {
    const error = refusal(() => parseCurrency(input));
    expect(error.code).toBe('BAD_USER_INPUT');
    expect(error.details).toEqual({ field: 'currency' });
  });

  it('knows each currency’s minor unit', () => {
    expect([currencyExponent('JPY'), currencyExponent('USD'), currencyExponent('KWD')]).toEqual([0, 2, 3]);
  });
});

describe('formatAmount', () => {
  it.each([
    [500, 'JPY', '500 JPY'],
    [1, 'JPY', '1 JPY'],
    [123_456, 'USD', '1234.56 USD'],
    [5, 'USD', '0.05 USD'],
    [0, 'USD', '0.00 USD'],
    [12_345, 'KWD', '12.345 KWD'],
    [1, 'KWD', '0.001 KWD'],
    [-1_050, 'USD', '-10.50 USD'],
    [-7, 'KWD', '-0.007 KWD'],
    [-15_000, 'JPY', '-15000 JPY'],
  ])('formats %d %s as %j', (amount, currency, expected) => {
    expect(formatAmount(amount, currency)).toBe(expected);
  });

  it('refuses a currency it has no minor unit for', () => {
    expect(refusal(() => formatAmount(100, 'XAU')).code).toBe('BAD_USER_INPUT');
  });
});
