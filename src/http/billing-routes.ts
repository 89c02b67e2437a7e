import express, { Router } from 'express';
import { z } from 'zod';
import type { Deps } from '../domain/deps.js';
import { captureInvoice } from '../domain/ledger/capture-invoice.js';
import type { AttemptResult } from '../domain/ledger/payment-attempts.js';
import { refundInvoice } from '../domain/ledger/refund-invoice.js';
import { requireBearerToken, viewerOf } from './authenticate.js';
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

function mountPaymentRoutes(router: Router, deps: Deps): void {
  router.post('/invoices/:invoiceId/capture', async (req, res) => {
    const body = captureBody.parse(req.body ?? {});
    const result = await captureInvoice(deps, viewerOf(res), {
      invoiceId: invoiceId.parse(req.params.invoiceId),
      amount: body.amount,
      idempotencyKey: req.get('idempotency-key') ?? body.idempotencyKey,
    });
    res.json(toJson(result));
  });

  router.post('/invoices/:invoiceId/refund', async (req, res) => {
    const body = refundBody.parse(req.body ?? {});
    const result = await refundInvoice(deps, viewerOf(res), {
      invoiceId: invoiceId.parse(req.params.invoiceId),
      amount: body.amount,
      reason: body.reason,
      note: body.note,
      idempotencyKey: req.get('idempotency-key') ?? body.idempotencyKey,
    });
    res.json(toJson(result));
  });
}

function toJson(result: AttemptResult) {
  const { invoice } = result;
  return {
    invoice: { ...invoice, amountRemaining: invoice.amountDue - invoice.amountCaptured },
    attempt: result.attempt,
    adjustment: result.adjustment,
    ...(result.refund ? { refund: result.refund } : {}),
  };
}
