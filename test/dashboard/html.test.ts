import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMajorUnits } from '../../src/domain/ledger/major-units.js';
import { DomainError } from '../../src/errors.js';
import { html } from '../../src/http/dashboard/html.js';

describe('html, escaped by construction', () => {
  it('escapes every interpolated string, in text and in attributes', () => {
    const hostile = `<script>alert('x')</script>" onmouseover="x` + '`';
    expect(html`<p title="${hostile}">${hostile}</p>`.toString()).toBe(
      '<p title="&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot; onmouseover=&quot;x&#96;">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot; onmouseover=&quot;x&#96;</p>',
    );
  });

  it('keeps fragments and lists of fragments as they are, and renders nothing for null, undefined and false', () => {
    const item = (text: string) => html`<li>${text}</li>`;
    expect(html`<ul>${['a<', 'b&'].map(item)}</ul>${null}${undefined}${false}${0}`.toString()).toBe('<ul><li>a&lt;</li><li>b&amp;</li></ul>0');
  });

  it('never lets a string produce a tag, whatever it holds', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const out = html`<td>${text}</td>`.toString();
        expect(out.slice(4, -5)).not.toMatch(/[<>"'`]/);
      }),
    );
  });
});

describe('amounts typed in major units', () => {
  it.each([
    ['12.50', 'USD', 1_250],
    ['12.5', 'USD', 1_250],
    ['12', 'USD', 1_200],
    ['0.01', 'USD', 1],
    ['1500', 'JPY', 1_500],
    ['1.250', 'KWD', 1_250],
    ['0.001', 'KWD', 1],
    ['  7 ', 'EUR', 700],
  ])('%s %s is %i minor units', (text, currency, minor) => {
    expect(parseMajorUnits(text, currency)).toBe(minor);
  });

  it('means "all of it" when empty', () => {
    expect(parseMajorUnits('', 'USD')).toBeUndefined();
    expect(parseMajorUnits(undefined, 'USD')).toBeUndefined();
  });

  it.each([
    ['1.234', 'USD'],
    ['1.5', 'JPY'],
    ['12,50', 'USD'],
    ['-1', 'USD'],
    ['1e3', 'USD'],
    ['0', 'USD'],
    ['0.00', 'USD'],
    ['99999999999999999', 'JPY'],
  ])('refuses %s %s', (text, currency) => {
    expect(() => parseMajorUnits(text, currency)).toThrow(DomainError);
  });
});
