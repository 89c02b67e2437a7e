import { createHmac, randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';
import { charge, newPayment, stripeEvent } from '../test/support/stripe-events.js';
import { recordAnswers } from './support/answers.js';

/**
 * autocannon in its own thread for the soak's requests that must differ each time (bench/support's
 * autocannon worker sends one fixed body): `webhook`, a fresh signed `charge.captured` for the next open
 * invoice (captured whole); `capture`, a captureInvoice of 1 minor unit with a fresh idempotency key, on
 * the invoices in turn. Paced to `rate` requests/s over `connections`.
 */
export type SoakLoadSpec = {
  kind: 'webhook' | 'capture';
  baseUrl: string;
  token: string;
  webhookSecret: string;
  invoiceIds: string[];
  amount: number;
  connections: number;
  seconds: number;
  rate: number;
};

const spec = workerData as SoakLoadSpec;
const MUTATION = `mutation Capture($input: CaptureInvoiceInput!) { captureInvoice(input: $input) { invoice { id amountCaptured } attempt { id status } } }`;

let next = 0;
function webhookRequest(request: autocannon.Request): autocannon.Request {
  const invoiceId = spec.invoiceIds[next++ % spec.invoiceIds.length]!;
  const body = JSON.stringify(stripeEvent('charge.captured', charge(newPayment(invoiceId, spec.amount), spec.amount)));
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', spec.webhookSecret).update(`${timestamp}.${body}`).digest('hex');
  return { ...request, body, headers: { 'content-type': 'application/json', 'stripe-signature': `t=${timestamp},v1=${signature}` } };
}

function captureRequest(request: autocannon.Request): autocannon.Request {
  const invoiceId = spec.invoiceIds[next++ % spec.invoiceIds.length]!;
  const body = JSON.stringify({ query: MUTATION, variables: { input: { invoiceId, amount: spec.amount, idempotencyKey: randomUUID() } } });
  return { ...request, body, headers: { 'content-type': 'application/json', authorization: `Bearer ${spec.token}` } };
}

let finish!: (result: autocannon.Result) => void;
let fail!: (error: unknown) => void;
const finished = new Promise<autocannon.Result>((resolve, reject) => ((finish = resolve), (fail = reject)));
const instance = autocannon(
  {
    url: spec.baseUrl,
    connections: spec.connections,
    duration: spec.seconds,
    overallRate: spec.rate,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: spec.kind === 'webhook' ? '/webhooks/stripe' : '/graphql',
        setupRequest: spec.kind === 'webhook' ? webhookRequest : captureRequest,
      },
    ],
  },
  (error, result) => (error ? fail(error) : finish(result)),
);
const answers = recordAnswers(instance);
parentPort!.postMessage(answers.report(await finished));
