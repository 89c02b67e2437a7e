import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Deps } from '../domain/deps.js';
import type { AttemptResult } from '../domain/ledger/attempt-result.js';
import { invoiceAmountRemaining } from '../domain/ledger/balance.js';
import { captureInvoice } from '../domain/ledger/capture-invoice.js';
import { refundInvoice } from '../domain/ledger/refund-invoice.js';
import { requireBearerToken, viewerOf } from './authenticate.js';
import { attemptResultJson } from './billing-json.js';
import { mountReplayRoutes } from './replay-routes.js';

/**
 * The runbook's REST routes for scripts: the same domain functions and tokens as GraphQL.
 * An `Idempotency-Key` header, as Stripe takes it, is accepted in place of `idempotencyKey`.
 */
const invoiceId = z.uuid({ message: 'invoiceId must be a UUID' });
const amount = z.number().nullish();
const idempotencyKey = z.string().nullish();
const captureBody = z.object({ amount, idempotencyKey }).strict();
const refundBody = z.object({ amount, idempotencyKey, reason: z.string(), note: z.string().nullish() }).strict();

/** Everything under /api/v1/billing: one JSON parser, one token check, then the routes. */
export function billingRoutes(deps: Deps): Router {
  const router = Router();
  router.use(express.json({ limit: '64kb' }), requireBearerToken(deps));
  mountPaymentRoutes(router, deps);
  mountReplayRoutes(router, deps);
  return router;
}

/**
 * Money moves only when asked: the money routes take `application/json` only (415 otherwise), and a
 * body that is missing or not a JSON object is refused — it never means "capture everything".
 */
function requireJsonObject(req: Request, res: Response, next: NextFunction): void {
  if (!req.is('application/json')) {
    res.status(415).json({ error: { code: 'BAD_USER_INPUT', message: 'Send the request body as application/json' } });
    return;
  }
  // The JSON parser turns an empty body into {}: "no amount" must be said, not implied by nothing.
  const empty = Number(req.get('content-length') ?? 0) === 0 && !req.get('transfer-encoding');
  if (empty || req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
    res.status(400).json({ error: { code: 'BAD_USER_INPUT', message: 'The request body must be a JSON object' } });
    return;
  }
  next();
}

function mountPaymentRoutes(router: Router, deps: Deps): void {
  router.post('/invoices/:invoiceId/capture', requireJsonObject, async (req, res) => {
    const body = captureBody.parse(req.body);
    const result = await captureInvoice(deps, viewerOf(res), {
      invoiceId: invoiceId.parse(req.params.invoiceId),
      amount: body.amount,
      idempotencyKey: req.get('idempotency-key') ?? body.idempotencyKey,
    });
    res.json(await toJson(deps, result));
  });

  router.post('/invoices/:invoiceId/refund', requireJsonObject, async (req, res) => {
    const body = refundBody.parse(req.body);
    const result = await refundInvoice(deps, viewerOf(res), {
      invoiceId: invoiceId.parse(req.params.invoiceId),
      amount: body.amount,
      reason: body.reason,
      note: body.note,
      idempotencyKey: req.get('idempotency-key') ?? body.idempotencyKey,
    });
    res.json(await toJson(deps, result));
  });
}

async function toJson(deps: Deps, result: AttemptResult) {
  return attemptResultJson(result, await invoiceAmountRemaining(deps.db, result.invoice));
}
