import express, { Router, type Request, type Response } from 'express';
import Stripe from 'stripe';
import type { Deps } from '../domain/deps.js';
import { ingestStripeEvent } from '../domain/processor-events/ingest-stripe-event.js';
import { stripeEventEnvelope } from '../domain/processor-events/stripe-event.js';

/** Stripe's default: a signature older than five minutes is refused (replayed requests). */
const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * POST /webhooks/stripe. Trusts nothing but a valid Stripe-Signature over the exact raw bytes (so the
 * raw body parser runs here, before any JSON parser). Answers 2xx only once the event is committed;
 * a database failure is a 503 so Stripe delivers again.
 */
export function stripeWebhookRoutes(deps: Deps): Router {
  const router = Router();
  router.post('/webhooks/stripe', express.raw({ type: () => true, limit: '1mb' }), async (req: Request, res: Response) => {
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
      res.json({ status: await ingestStripeEvent(deps, envelope.data) });
    } catch (error) {
      deps.logger.error({ err: error, eventId: envelope.data.id }, 'webhook not stored or not applied; asking Stripe to retry');
      res.status(503).json({ status: 'unavailable', error: 'temporarily unable to store the event; retry later' });
    }
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
    try {
      return { event: Stripe.webhooks.constructEvent(req.body, signature, secret, SIGNATURE_TOLERANCE_SECONDS) };
    } catch (error) {
      if (error instanceof SyntaxError) return { error: 'body is not valid JSON' };
    }
  }
  return { error: 'invalid signature' };
}
