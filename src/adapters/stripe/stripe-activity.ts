import type Stripe from 'stripe';
import { expanded, idOf, toUnix } from './stripe-objects.js';

const PAGE = 100;

/**
 * The payment intents on which anything happened since `since`, each once, from three list endpoints
 * filtered by `created` and paged 100 at a time, so the number of calls follows the activity in the
 * window and never the size of the account:
 * - balance transactions (their `source` expanded): captures (charges), refunds and refund failures,
 *   each dated when the money moved, which catches a refund that failed days after it was made;
 * - refunds: also those that moved no money yet (pending) or failed on the spot;
 * - payment intents: new ones, with nothing captured yet.
 */
export async function listActivity(stripe: Stripe, since: Date): Promise<string[]> {
  const created = { gte: toUnix(since) };
  const intents = new Set<string>();
  const add = (id: string | null) => {
    if (id) intents.add(id);
  };

  for await (const transaction of stripe.balanceTransactions.list({ created, expand: ['data.source'], limit: PAGE })) {
    add(paymentIntentOfSource(transaction.source));
  }
  for await (const refund of stripe.refunds.list({ created, limit: PAGE })) add(idOf(refund.payment_intent));
  for await (const intent of stripe.paymentIntents.list({ created, limit: PAGE })) add(intent.id);
  return [...intents];
}

/** Charges and refunds name their payment intent; payouts, fees and other lines have none. */
function paymentIntentOfSource(source: Stripe.BalanceTransaction['source']): string | null {
  if (source === null) return null;
  const object = expanded(source, 'source');
  if (object.object === 'charge' || object.object === 'refund') return idOf(object.payment_intent);
  return null;
}
