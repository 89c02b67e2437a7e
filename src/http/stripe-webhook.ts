import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import Stripe from 'stripe';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Deps } from '../domain/deps.js';
import { ingestStripeEvent } from '../domain/processor-events/ingest-stripe-event.js';
import { stripeEventEnvelope } from '../domain/processor-events/stripe-event.js';
import { jsonBodyRefusal } from './require-json.js';
import { toRestError, unreadableRequest } from './rest-errors.js';
import { writeJson } from './write-json.js';

/**
 * Stripe's default: a signature older than five minutes is refused (replayed requests). The SDK checks
 * only the past; a signature dated as far in the future is refused here too.
 */
const SIGNATURE_TOLERANCE_SECONDS = 300;

export const STRIPE_WEBHOOK_PATH = '/webhooks/stripe';

type Handler = (req: IncomingMessage, res: ServerResponse, next?: (error: unknown) => void) => void;

/**
 * POST /webhooks/stripe. Trusts nothing but a valid Stripe-Signature over the exact raw bytes (so the
 * raw body parser runs here, before any JSON parser). Answers 2xx only once the event is committed;
 * a database failure is a 503 so Stripe delivers again. A poison event (one no retry could store as
 * JSON) is kept byte for byte and answered 200 `parked`, so Stripe stops retrying it.
 *
 * A plain node:http handler (the Content-Type check, the raw body parser, the answer written as is),
 * so that the server can hand it `POST /webhooks/stripe` before Express routes anything
 * (`createHttpListener`, src/http/app.ts); the Express route below serves every other spelling of
 * the path (a trailing slash, a query string, another case) with the same handler.
 */
export function stripeWebhookHandler(deps: Deps): Handler {
  const readRaw = express.raw({ type: () => true, limit: '1mb' }) as unknown as (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;
  const refuseUnreadable = (error: unknown, res: ServerResponse, next: ((error: unknown) => void) | undefined) => {
    const unreadable = unreadableRequest(error);
    if (unreadable) return writeJson(res, unreadable.status, { status: 'rejected', error: unreadable.message });
    if (next) return next(error);
    const { status, body } = toRestError(error, deps.logger);
    writeJson(res, status, body);
  };
  return (req, res, next) => {
    const refusal = jsonBodyRefusal(req.headers['content-type']);
    if (refusal) return refuseUnreadable(refusal, res, next);
    readRaw(req, res, (error) => {
      if (error) return refuseUnreadable(error, res, next);
      void handle(deps, req, (req as IncomingMessage & { body?: unknown }).body, res);
    });
  };
}

async function handle(deps: Deps, req: IncomingMessage, body: unknown, res: ServerResponse): Promise<void> {
  const verified = verify(req, body, deps);
  if ('error' in verified) return writeJson(res, 400, { status: 'rejected', error: verified.error });
  const parsed = stripeEventEnvelope.safeParse(verified.event);
  if (!parsed.success) return writeJson(res, 400, { status: 'rejected', error: 'not a Stripe event' });
  const envelope = parsed.data;
  try {
    writeJson(res, 200, { status: await ingestStripeEvent(deps, envelope, body as Buffer) });
  } catch (error) {
    // Nothing was acknowledged: whatever went wrong, Stripe delivers again.
    if (isDatabaseUnavailable(error)) deps.logger.warn({ err: error, eventId: envelope.id }, 'database unavailable: webhook answered 503');
    else deps.logger.error({ err: error, eventId: envelope.id }, 'webhook not stored or not applied; asking Stripe to retry');
    writeJson(res, 503, { status: 'unavailable', error: 'temporarily unable to store the event; retry later' });
  }
}


export function stripeWebhookRoutes(deps: Deps, handler: Handler = stripeWebhookHandler(deps)): Router {
  const router = Router();
  router.post(STRIPE_WEBHOOK_PATH, (req: Request, res: Response, next: NextFunction) => handler(req, res, next));
  // A request that could not be routed (an undecodable path): refused as the client's fault, in the
  // webhook's own answer shape.
  router.use(STRIPE_WEBHOOK_PATH, (error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const unreadable = unreadableRequest(error);
    if (!unreadable) return next(error);
    res.status(unreadable.status).json({ status: 'rejected', error: unreadable.message });
  });
  return router;
}

function verify(req: IncomingMessage, body: unknown, deps: Deps): { event: unknown } | { error: string } {
  const secrets = deps.config.stripeWebhookSecrets;
  if (secrets.length === 0) {
    deps.logger.error('STRIPE_WEBHOOK_SECRET is not set: every webhook is refused');
    return { error: 'webhook endpoint not configured' };
  }
  const signature = req.headers['stripe-signature'];
  if (typeof signature !== 'string' || !signature) return { error: 'missing Stripe-Signature header' };
  if (!Buffer.isBuffer(body)) return { error: 'missing body' };
  // During a secret rotation both the old and the new secret are accepted.
  for (const secret of secrets) {
    let event: unknown;
    try {
      event = Stripe.webhooks.constructEvent(body, signature, secret, SIGNATURE_TOLERANCE_SECONDS);
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
