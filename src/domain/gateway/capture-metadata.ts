/**
 * How a capture tells which payment attempt made it: each capture request adds one metadata key to the
 * payment, `cap_<attempt id without dashes>` (36 characters, inside Stripe's 40), whose value is the
 * amount. A capture that fails adds nothing, so the keys on the payment are exactly the attempts that
 * captured, and a lookup can settle an attempt whose answer was lost. (Stripe merges metadata sent
 * with a capture into the payment intent's; at most 50 keys, so a payment takes at most ~45 partial
 * captures through this service.)
 */
const PREFIX = 'cap_';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function captureMetadataKey(attemptId: string): string {
  const id = attemptId.toLowerCase();
  if (!UUID.test(id)) throw new RangeError(`A capture's idempotency key must be its payment attempt's uuid, got "${attemptId}"`);
  return PREFIX + id.replaceAll('-', '');
}

export function captureAttemptIds(metadata: Record<string, unknown> | null | undefined): string[] {
  const ids: string[] = [];
  for (const key of Object.keys(metadata ?? {})) {
    const hex = /^cap_([0-9a-f]{32})$/.exec(key)?.[1];
    if (hex) ids.push(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
  }
  return ids;
}
