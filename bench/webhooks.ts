import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { runAB, type Case } from './support/ab.js';
import { ingestStripeEvent } from '../src/domain/processor-events/ingest-stripe-event.js';
import { stripeEventEnvelope } from '../src/domain/processor-events/stripe-event.js';
import { createInvoices, parseWriteOptions, printTrace, startWriteRig, WEBHOOK_SECRET, WRITE_USAGE, writePhases } from './support/writes.js';

export const description = 'signed Stripe webhooks (POST /webhooks/stripe) vs a bare node:http + postgres.js server sending the same SQL, A/B';

const USAGE = `npm run bench -- webhooks [options]
Each request is a fresh, signed payment_intent.succeeded for an invoice of its own: stored once, applied
(a capture line, the invoice's totals, a timeline event, a notification job).
${WRITE_USAGE}`;

export async function run(argv: string[]): Promise<number> {
  const options = parseWriteOptions(argv, USAGE);
  if (!options) return 0;
  const rig = await startWriteRig(options);
  try {
    if (options.trace) {
      const [invoice] = await createInvoices(rig, 'TRACE', 1);
      const event = stripeEventEnvelope.parse(succeeded('TRACE', invoice!.id, invoice!.pi));
      return await printTrace(rig, (deps) => ingestStripeEvent(deps, event));
    }
    const side = (clients: number, url: string) =>
      writePhases(rig, options, clients, {
        url,
        headers: { 'content-type': 'application/json' },
        requests: (tag, invoices) =>
          invoices.map((invoice) => {
            const payload = JSON.stringify(succeeded(tag, invoice.id, invoice.pi));
            return { body: payload, headers: { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET }) } };
          }),
        countDone: async (tag) => {
          const [row] = await rig.setup<{ n: string }[]>`
            SELECT count(*) AS n FROM processor_events e JOIN invoices i ON i.id = e.invoice_id
            WHERE e.external_id LIKE ${`evt_${tag}_%`} AND e.outcome = 'PROCESSED' AND i.amount_captured = i.amount_due`;
          return Number(row!.n);
        },
      });
    const cases: Case[] = options.clients.map((clients) => ({
      label: `webhooks, ${clients} clients`,
      service: side(clients, `${rig.serviceUrl}/webhooks/stripe`),
      baseline: side(clients, `${rig.bare.url}/webhooks/stripe`),
    }));
    return await runAB('webhooks: POST /webhooks/stripe vs bare baseline (same SQL)', 'events', cases, options.repetitions, options.profile);
  } finally {
    await rig.stop();
  }
}

/** A payment_intent.succeeded as Stripe sends it (API 2025+), capturing the invoice's whole 100.00 USD. */
function succeeded(tag: string, invoiceId: string, paymentIntentId: string) {
  const created = Math.floor(Date.now() / 1000);
  return {
    id: `evt_${tag}_${randomBytes(8).toString('hex')}`,
    object: 'event',
    api_version: '2025-09-30.clover',
    created,
    livemode: false,
    pending_webhooks: 1,
    request: { id: `req_${randomBytes(8).toString('hex')}`, idempotency_key: null },
    type: 'payment_intent.succeeded',
    data: {
      object: {
        id: paymentIntentId,
        object: 'payment_intent',
        amount: 10_000,
        amount_capturable: 0,
        amount_received: 10_000,
        currency: 'usd',
        latest_charge: `ch_${paymentIntentId.slice(3)}`,
        status: 'succeeded',
        created: created - 60,
        livemode: false,
        metadata: { invoice_id: invoiceId },
        last_payment_error: null,
        cancellation_reason: null,
      },
    },
  };
}
