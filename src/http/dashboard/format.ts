import { formatAmount } from '../../domain/ledger/money.js';
import { html, type Html } from './html.js';

/** Money in the currency's minor unit from the server's table (JPY 0, USD 2, KWD 3 decimals). */
export function money(amount: number, currency: string): Html {
  return html`<span class="money">${formatAmount(amount, currency)}</span>`;
}

/** UTC as the server knows it; `local-time.js` shows it in the viewer's zone and keeps UTC on hover. */
export function time(date: Date | null | undefined): Html {
  if (!date) return html`<span class="none">—</span>`;
  const iso = date.toISOString();
  const utc = `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
  return html`<time datetime="${iso}" title="${utc}">${utc}</time>`;
}

/** How long ago, in whole units: for ages in queues, computed on the server at render time. */
export function age(since: Date, now = new Date()): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - since.getTime()) / 1000));
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} days`;
}
