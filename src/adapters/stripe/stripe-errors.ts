import Stripe from 'stripe';
import { GatewayConfigurationError, GatewayDeclinedError, GatewayUnavailableError } from '../../domain/gateway/billing-gateway-client.js';

/**
 * Translates what the Stripe SDK throws into the facade's two outcomes. The test is "could Stripe have
 * processed this request?": a definite refusal (4xx, card errors) is a decline; anything that leaves the
 * outcome unknown is unavailable, and the caller looks the outcome up later:
 * - a timeout, a refused or dropped connection (the work may be done, only the answer lost);
 * - a 5xx, including a 500 that Stripe saved for the key after doing the work and replays to re-sends;
 * - a 409 `idempotency_key_in_use`: another request with the key is still executing;
 * - a 429 rate limit.
 * A 400 `idempotency_error` (the key was used with other parameters) is a decline with that code: this
 * request was not executed, whatever the first one did. Errors that are not Stripe's (our own bugs)
 * pass through unchanged.
 *
 * Stripe's own messages are not passed on: a 401's message can quote part of the key.
 */
export function toGatewayError(error: unknown, action: string): unknown {
  if (!(error instanceof Stripe.errors.StripeError)) return error;
  const { StripeAuthenticationError, StripePermissionError, StripeConnectionError, StripeRateLimitError, StripeAPIError } =
    Stripe.errors;

  if (error instanceof StripeAuthenticationError || error instanceof StripePermissionError) {
    return new GatewayConfigurationError(
      'gateway_authentication_failed',
      `Stripe refused our credentials while trying to ${action} (HTTP ${error.statusCode ?? '?'}): check STRIPE_SECRET_KEY`,
    );
  }
  if (
    error instanceof StripeConnectionError ||
    error instanceof StripeRateLimitError ||
    error instanceof StripeAPIError ||
    error.statusCode === undefined ||
    error.statusCode === 409 ||
    error.statusCode >= 500
  ) {
    return new GatewayUnavailableError(`Stripe did not answer while trying to ${action}: ${error.message}`, { cause: error });
  }
  if (error instanceof Stripe.errors.StripeIdempotencyError) {
    return new GatewayDeclinedError('idempotency_error', `Stripe refused to ${action}: the idempotency key was used with other parameters`);
  }
  // `type` is the SDK's class name; `rawType` is Stripe's (`invalid_request_error`, `card_error`).
  const code = error.decline_code ?? error.code ?? error.rawType ?? 'stripe_declined';
  return new GatewayDeclinedError(code, `Stripe declined to ${action}: ${error.message} (${code})`);
}

/** Stripe's 404 for an object it does not know (a missing payment intent, for instance). */
export function isResourceMissing(error: unknown): boolean {
  return error instanceof Stripe.errors.StripeInvalidRequestError && error.code === 'resource_missing';
}
