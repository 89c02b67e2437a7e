import { randomUUID } from 'node:crypto';
import { runAB, type Case } from './support/ab.js';
import { authenticateToken } from '../src/domain/auth/tokens.js';
import { captureInvoice } from '../src/domain/ledger/capture-invoice.js';
import { createInvoices, parseWriteOptions, printTrace, startWriteRig, WRITE_USAGE, writePhases } from './support/writes.js';

export const description = 'captureInvoice (GraphQL over HTTP) vs a bare node:http + postgres.js server sending the same SQL, A/B';

const USAGE = `npm run bench -- capture [options]
Each request captures a whole invoice of its own (reserve → synthetic processor, no latency → settle).
${WRITE_USAGE}`;

const MUTATION = `mutation Capture($input: CaptureInvoiceInput!) {
  captureInvoice(input: $input) { invoice { id status amountCaptured } attempt { id status } adjustment { id amount } }
}`;

export async function run(argv: string[]): Promise<number> {
  const options = parseWriteOptions(argv, USAGE);
  if (!options) return 0;
  const rig = await startWriteRig(options);
  try {
    if (options.trace) {
      const [invoice] = await createInvoices(rig, 'TRACE', 1);
      const viewer = (await authenticateToken(rig.deps.db, rig.token))!;
      return await printTrace(rig, (deps) => captureInvoice(deps, viewer, { invoiceId: invoice!.id, idempotencyKey: randomUUID() }));
    }
    const side = (clients: number, url: string, body: (invoiceId: string, key: string) => string) =>
      writePhases(rig, options, clients, {
        url,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${rig.token}` },
        requests: (_tag, invoices) => invoices.map((invoice) => ({ body: body(invoice.id, randomUUID()) })),
        countDone: async (tag) => {
          const [row] = await rig.setup<{ n: string }[]>`
            SELECT count(*) AS n FROM payment_attempts a JOIN invoices i ON i.id = a.invoice_id
            WHERE i.number LIKE ${`${tag}-%`} AND a.status = 'SUCCEEDED' AND i.amount_captured = i.amount_due`;
          return Number(row!.n);
        },
      });
    const cases: Case[] = options.clients.map((clients) => ({
      label: `capture, ${clients} clients`,
      service: side(clients, `${rig.serviceUrl}/graphql`, (invoiceId, idempotencyKey) =>
        JSON.stringify({ query: MUTATION, variables: { input: { invoiceId, idempotencyKey } } }),
      ),
      baseline: side(clients, `${rig.bare.url}/capture`, (invoiceId, idempotencyKey) => JSON.stringify({ invoiceId, idempotencyKey })),
    }));
    return await runAB('capture: captureInvoice vs bare baseline (same SQL)', 'captures', cases, options.repetitions, options.profile);
  } finally {
    await rig.stop();
  }
}
