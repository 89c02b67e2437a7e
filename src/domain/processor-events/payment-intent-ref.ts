/**
 * The payment intent a stored event's object belongs to, read once when the event is recorded: a
 * payment intent's own id, or the `payment_intent` of a charge, refund or dispute (an id, or an
 * expanded object). Kept on the row so an event parked for want of its invoice is found, by an index,
 * when an invoice with that payment intent appears. Null when the object names none.
 */
export function paymentIntentReferenced(event: { provider: string; payload: Record<string, unknown> }): string | null {
  if (event.provider !== 'stripe') return null;
  const object = (event.payload.data as { object?: Record<string, unknown> } | undefined)?.object;
  if (!object) return null;
  if (object.object === 'payment_intent') return idOf(object.id);
  const intent = object.payment_intent;
  return typeof intent === 'object' && intent !== null ? idOf((intent as { id?: unknown }).id) : idOf(intent);
}

const idOf = (value: unknown): string | null => (typeof value === 'string' && value.startsWith('pi_') ? value : null);
