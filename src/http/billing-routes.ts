import express, { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../domain/deps.js';
import type { AttemptResult } from '../domain/ledger/attempt-result.js';
import { invoiceAmountRemaining } from '../domain/ledger/balance.js';
import { captureInvoice } from '../domain/ledger/capture-invoice.js';
import { refundInvoice } from '../domain/ledger/refund-invoice.js';
import { requireBearerToken, viewerOf } from './authenticate.js';
import { attemptResultJson } from './billing-json.js';
import { mountReplayRoutes } from './replay-routes.js';
import { jsonBody, requireJsonBody } from './require-json.js';
import { storableText } from './storable-text.js';

/**
 * The runbook's REST routes for scripts: the same domain functions and tokens as GraphQL.
 * An `Idempotency-Key` header, as Stripe takes it, is accepted in place of `idempotencyKey`.
 */
const invoiceId = z.uuid({ message: 'invoiceId must be a UUID' });
const amount = z.number().nullish();
const idempotencyKey = storableText.nullish();
// A body is required, `{}` at least: an absent one never means "capture all that remains".
const captureBody = z.object({ amount, idempotencyKey }, { message: 'a JSON object is required' }).strict();
const refundBody = z
  .object({ amount, idempotencyKey, reason: storableText, note: storableText.nullish() }, { message: 'a JSON object is required' })
  .strict();

/** Everything under /api/v1/billing: JSON bodies only, one JSON parser, one token check, then the routes. */
export function billingRoutes(deps: Deps): Router {
  const router = Router();
  router.use(requireJsonBody, jsonBody('64kb'), requireBearerToken(deps));
  mountPaymentRoutes(router, deps);
  mountReplayRoutes(router, deps);
  return router;
}

function mountPaymentRoutes(router: Router, deps: Deps): void {
  router.post('/invoices/:invoiceId/capture', async (req, res) => {
    const body = captureBody.parse(req.body);
    const result = await captureInvoice(deps, viewerOf(res), {
      invoiceId: invoiceId.parse(req.params.invoiceId),
      amount: body.amount,
      idempotencyKey: idempotencyHeader(req) ?? body.idempotencyKey,
    });
    res.json(await toJson(deps, result));
  });

  router.post('/invoices/:invoiceId/refund', async (req, res) => {
    const body = refundBody.parse(req.body);
    const result = await refundInvoice(deps, viewerOf(res), {
      invoiceId: invoiceId.parse(req.params.invoiceId),
      amount: body.amount,
      reason: body.reason,
      note: body.note,
      idempotencyKey: idempotencyHeader(req) ?? body.idempotencyKey,
    });
    res.json(await toJson(deps, result));
  });
}

const idempotencyHeader = (req: express.Request) => storableText.optional().parse(req.get('idempotency-key'));

async function toJson(deps: Deps, result: AttemptResult) {
  return attemptResultJson(result, await invoiceAmountRemaining(deps.db, result.invoice));
}
