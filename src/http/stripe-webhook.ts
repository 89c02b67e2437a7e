import express, { Router, type NextFunction, type Request, type Response } from 'express';
import Stripe from 'stripe';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Deps } from '../domain/deps.js';
import { ingestStripeEvent } from '../domain/processor-events/ingest-stripe-event.js';
import { stripeEventEnvelope } from '../domain/processor-events/stripe-event.js';
import { requireJsonBody } from './require-json.js';
import { unreadableRequest } from './rest-errors.js';

/**
 * Stripe's default: a signature older than five minutes is refused (replayed requests). The SDK checks
 * only the past; a signature dated as far in the future is refused here too.
 */
const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * POST /webhooks/stripe. Trusts nothing but a valid Stripe-Signature over the exact raw bytes (so the
 * raw body parser runs here, before any JSON parser). Answers 2xx only once the event is committed;
 * a database failure is a 503 so Stripe delivers again. A poison event (one no retry could store as
 * JSON) is kept byte for byte and answered 200 `parked`, so Stripe stops retrying it.
 */
export function stripeWebhookRoutes(deps: Deps): Router {
  const router = Router();
  router.post('/webhooks/stripe', requireJsonBody, express.raw({ type: () => true, limit: '1mb' }), async (req: Request, res: Response) => {
    const verified = verify(req, deps);
    if ('error' in verified) {
      res.status(400).json({ status: 'rejected', error: verified.error });
      return;
    }
    const envelope = stripeEventEnvelope.safeParse(verified.event);
    if (!envelope.success) {
      res.status(400).json({ status: 'rejected', error: 'not a Stripe event' });
      return;
    }
    try {
      res.json({ status: await ingestStripeEvent(deps, envelope.data, req.body as Buffer) });
    } catch (error) {
      // Nothing was acknowledged: whatever went wrong, Stripe delivers again.
      if (isDatabaseUnavailable(error)) deps.logger.warn({ err: error, eventId: envelope.data.id }, 'database unavailable: webhook answered 503');
      else deps.logger.error({ err: error, eventId: envelope.data.id }, 'webhook not stored or not applied; asking Stripe to retry');
      res.status(503).json({ status: 'unavailable', error: 'temporarily unable to store the event; retry later' });
    }
  });
  // A body that could not be read (a wrong Content-Type or charset, an unknown or broken encoding,
  // too large): refused as the client's fault, in the webhook's own answer shape.
  router.use('/webhooks/stripe', (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const unreadable = unreadableRequest(error);
    if (!unreadable) return next(error);
    res.status(unreadable.status).json({ status: 'rejected', error: unreadable.message });
  });
  return router;
}

function verify(req: Request, deps: Deps): { event: unknown } | { error: string } {
  const secrets = deps.config.stripeWebhookSecrets;
  if (secrets.length === 0) {
    deps.logger.error('STRIPE_WEBHOOK_SECRET is not set: every webhook is refused');
    return { error: 'webhook endpoint not configured' };
  }
  const signature = req.get('stripe-signature');
  if (!signature) return { error: 'missing Stripe-Signature header' };
  if (!Buffer.isBuffer(req.body)) return { error: 'missing body' };
  // During a secret rotation both the old and the new secret are accepted.
  for (const secret of secrets) {
    let event: unknown;
    try {
      event = Stripe.webhooks.constructEvent(req.body, signature, secret, SIGNATURE_TOLERANCE_SECONDS);
    } catch (error) {
      if (error instanceof SyntaxError) return { error: 'body is not valid JSON' };
      continue;
    }
    if (signedAt(signature) > Date.now() / 1000 + SIGNATURE_TOLERANCE_SECONDS) return { error: 'signature timestamp is in the future' };
    return { event };
  }
  return { error: 'invalid signature' };
}

/** The `t=` of a Stripe-Signature header (the SDK has verified it is there and signed). */
function signedAt(signature: string): number {
  return Number(/(?:^|,)\s*t=(\d+)/.exec(signature)?.[1] ?? Number.NaN);
}
