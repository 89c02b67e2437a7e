import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeInvoice, makeOperatorToken, makeServiceToken, makeWorkspace } from '../support/factories.js';
import { expectLedgerConsistent } from '../support/ledger.js';
import { capture } from '../support/payments.js';
import { startTestService, type TestService } from '../support/service.js';
import { charge, deliver, newPayment, sign, stripeEvent, WEBHOOK_SECRET } from '../support/stripe-events.js';

/**
 * A corpus of hostile requests on every route. None may be answered 5xx (nor carry
 * INTERNAL_SERVER_ERROR in a 200), and none may write a row: the money tables and processor_events are
 * counted before and after each. The one documented write: a signed poison event, parked (one row).
 */
const METRICS_TOKEN = `metrics-${randomUUID()}`;
let service: TestService;
let operator: string;
let serviceToken: string;
let openInvoice: string;
let capturedInvoice: string;
let storedEventId: string;

beforeAll(async () => {
  service = await startTestService({ STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, BILLING_ROLLOUT_STAGE: 'GENERAL', METRICS_TOKEN });
  const workspace = await makeWorkspace(service.deps.db);
  operator = await makeOperatorToken(service.deps.db);
  serviceToken = await makeServiceToken(service.deps.db, workspace.id);
  openInvoice = (await makeInvoice(service.deps.db, workspace.id, { amountDue: 5_000 })).id;
  // Refunds of a captured invoice pass every check but the hostile one: they would write if it slipped through.
  capturedInvoice = (await makeInvoice(service.deps.db, workspace.id, { amountDue: 5_000 })).id;
  expect((await capture(service, operator, { invoiceId: capturedInvoice, amount: 5_000 })).errors).toBeUndefined();
  // A stored event that waits for its invoice: the target of the replay route.
  const queued = await deliver(service.url, sign(stripeEvent('charge.captured', charge(newPayment(randomUUID(), 100), 100))));
  expect(queued.body).toEqual({ status: 'queued' });
  storedEventId = (await service.deps.db.execute<{ id: string }>(sql`SELECT id FROM processor_events LIMIT 1`))[0]!.id;
});
afterAll(() => service.close());

type Reply = { status: number; text: string };

/** Raw HTTP: any method, path, header and byte, as a hostile client would send them. */
function send(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Reply> {
  const url = new URL(service.url);
  // Node sends a GET's body unframed unless told its length.
  const framed = body === undefined || 'content-length' in headers ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: framed }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const rowCounts = async () =>
  (
    await service.deps.db.execute<Record<string, number>>(sql`SELECT
      (SELECT count(*)::int FROM invoices) AS invoices,
      (SELECT count(*)::int FROM invoice_adjustments) AS invoice_adjustments,
      (SELECT count(*)::int FROM payment_attempts) AS payment_attempts,
      (SELECT count(*)::int FROM refunds) AS refunds,
      (SELECT count(*)::int FROM invoice_timeline_events) AS timeline_events,
      (SELECT count(*)::int FROM processor_events) AS processor_events`)
  )[0]!;

/** Sends, then checks: a 4xx (or the given status), no internal error, nothing written (but `written`). */
async function expectRefused(
  label: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | string,
  expected: { status?: number; written?: Partial<Record<string, number>> } = {},
): Promise<Reply> {
  const before = await rowCounts();
  const reply = await send(method, path, headers, body);
  const context = `${label}: ${method} ${path} → ${reply.status} ${reply.text.slice(0, 200)}`;
  expect(reply.status, context).toBeLessThan(500);
  if (expected.status !== undefined) expect(reply.status, context).toBe(expected.status);
  expect(reply.text, context).not.toContain('INTERNAL_SERVER_ERROR');
  const after = await rowCounts();
  const written = Object.fromEntries(Object.keys(before).map((table) => [table, after[table]! - before[table]!]));
  expect(written, context).toEqual({ ...Object.fromEntries(Object.keys(before).map((table) => [table, 0])), ...expected.written });
  return reply;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const nestedArrays = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

/** Bodies and body headers that no route can read: each with the status every JSON route must give. */
const UNREADABLE_BODIES: [string, Record<string, string>, Buffer | string, number][] = [
  ['Content-Encoding: bogus', { ...JSON_TYPE, 'content-encoding': 'bogus' }, '{}', 415],
  ['a broken gzip body', { ...JSON_TYPE, 'content-encoding': 'gzip' }, Buffer.from('this is not gzip'), 400],
  ['a truncated gzip body', { ...JSON_TYPE, 'content-encoding': 'gzip' }, gzipSync('{"amount": 1}').subarray(0, 12), 400],
  ['charset=bogus', { 'content-type': 'application/json; charset=bogus' }, '{}', 415],
  ['charset=latin1', { 'content-type': 'application/json; charset=latin1' }, '{}', 415],
  ['text/plain', { 'content-type': 'text/plain' }, '{}', 415],
  ['a form', { 'content-type': 'application/x-www-form-urlencoded' }, 'amount=1', 415],
  ['multipart', { 'content-type': 'multipart/form-data; boundary=x' }, '--x\r\n\r\n{}\r\n--x--', 415],
  ['no Content-Type', {}, '{}', 415],
  ['a malformed Content-Type', { 'content-type': ';;;/' }, '{}', 415],
  ['application/jsonp', { 'content-type': 'application/jsonp' }, '{}', 415],
  ['oversized (2 MiB)', JSON_TYPE, JSON.stringify({ padding: 'x'.repeat(2 * 1024 * 1024) }), 413],
];

/** Bodies that parse (or almost) but mean nothing good: 4xx, whatever the route. */
const HOSTILE_JSON: [string, Buffer | string][] = [
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x61, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
  ['raw NUL bytes', Buffer.from('{"amount":\u00001}')],
  ['a \\u0000 escape in a key', '{"a\\u0000":1}'],
  ['a lone surrogate', '{"idempotencyKey":"\\ud800"}'],
  ['5,000 nested arrays', nestedArrays(5_000)],
  ['5,000 nested objects', nestedObjects(5_000)],
  ['a huge number', '{"amount":1e400}'],
  ['a number past 2^53', '{"amount":9007199254740993}'],
  ['a negative huge number', '{"amount":-1e400}'],
  ['a 400-digit number', `{"amount":${'9'.repeat(400)}}`],
  ['malformed JSON', '{"amount": '],
  ['null', 'null'],
  ['a string', '"capture"'],
  ['an array', '[]'],
  ['an empty body', ''],
  ['__proto__', '{"__proto__":{"amount":1},"constructor":{"prototype":{"amount":1}}}'],
];

const BAD_TOKENS: [string, Record<string, string>][] = [
  ['no token', {}],
  ['an unknown token', { authorization: 'Bearer blt_not-a-real-token' }],
  ['a token of another format', { authorization: `Bearer ${randomUUID()}` }],
  ['Basic credentials', { authorization: `Basic ${Buffer.from('operator:secret').toString('base64')}` }],
  ['an empty Bearer', { authorization: 'Bearer ' }],
  ['a very long token', { authorization: `Bearer blt_${'x'.repeat(8_000)}` }],
  ['two tokens', { authorization: `Bearer ${'blt_a'} blt_b` }],
];

const WRONG_IDS = ['not-a-uuid', randomUUID(), '%00', '%E0%A4%A', `${randomUUID()}%00`, 'x'.repeat(3_000), '..%2F..%2Fhealthz', '%27%20OR%201%3D1--'];

describe('POST /webhooks/stripe', () => {
  const path = '/webhooks/stripe';
  const signed = () => sign(stripeEvent('charge.captured', charge(newPayment(openInvoice, 5_000), 5_000)));

  it.each(UNREADABLE_BODIES)('%s → refused with its 4xx, nothing stored', async (label, headers, body, status) => {
    await expectRefused(label, 'POST', path, { ...headers, 'stripe-signature': signed().signature }, body, { status });
  });

  it.each(HOSTILE_JSON)('unsigned %s → 400, nothing stored', async (label, body) => {
    await expectRefused(label, 'POST', path, JSON_TYPE, body, { status: 400 });
  });

  it.each(HOSTILE_JSON)('%s under a signature of other bytes → 400, nothing stored', async (label, body) => {
    await expectRefused(label, 'POST', path, { ...JSON_TYPE, 'stripe-signature': signed().signature }, body, { status: 400 });
  });

  it('signed hostile JSON that is not an event → 400, nothing stored', async () => {
    for (const [label, body] of HOSTILE_JSON) {
      if (Buffer.isBuffer(body) || body === '') continue;
      const delivery = sign(body);
      await expectRefused(`signed ${label}`, 'POST', path, { ...JSON_TYPE, 'stripe-signature': delivery.signature }, delivery.body, { status: 400 });
    }
  });

  it('signed poison events (a \\u0000, 5,000 levels): 200 parked, one row each, the invoice untouched', async () => {
    for (const poison of ['"\\u0000"', nestedObjects(5_000)]) {
      const event = stripeEvent('charge.captured', { ...charge(newPayment(openInvoice, 5_000), 5_000), description: 'POISON' });
      const delivery = sign(JSON.stringify(event).replace('"POISON"', poison));
      const headers = { ...JSON_TYPE, 'stripe-signature': delivery.signature };
      const reply = await expectRefused('poison', 'POST', path, headers, delivery.body, { status: 200, written: { processor_events: 1 } });
      expect(JSON.parse(reply.text)).toEqual({ status: 'parked' });
      expect(JSON.parse((await expectRefused('poison again', 'POST', path, headers, delivery.body, { status: 200 })).text)).toEqual({ status: 'duplicate' });
    }
  });

  it.each([
    ['a bogus signature', 't=1,v1=00'],
    ['an empty signature', ''],
    ['a signature dated a day ahead', sign('{}', { timestamp: Math.floor(Date.now() / 1000) + 86_400 }).signature],
    ['a huge timestamp', `t=${'9'.repeat(400)},v1=00`],
  ])('%s → 400, nothing stored', async (label, signature) => {
    await expectRefused(label, 'POST', path, { ...JSON_TYPE, 'stripe-signature': signature }, signed().body, { status: 400 });
  });

  it('a signed capture dated a day ahead → 400, nothing stored', async () => {
    const event = stripeEvent('charge.captured', charge(newPayment(openInvoice, 5_000), 5_000));
    const delivery = sign(event, { timestamp: Math.floor(Date.now() / 1000) + 86_400 });
    await expectRefused('future', 'POST', path, { ...JSON_TYPE, 'stripe-signature': delivery.signature }, delivery.body, { status: 400 });
  });
});

describe('the REST routes', () => {
  const auth = () => ({ authorization: `Bearer ${operator}` });
  const posts = () => [
    `/api/v1/billing/invoices/${openInvoice}/capture`,
    `/api/v1/billing/invoices/${capturedInvoice}/refund`,
    `/api/v1/billing/replays/${storedEventId}/trigger`,
  ];

  it.each(UNREADABLE_BODIES)('%s → refused with its 4xx on every POST, nothing written', async (label, headers, body, status) => {
    for (const path of posts()) await expectRefused(label, 'POST', path, { ...auth(), ...headers }, body, { status });
  });

  it.each(HOSTILE_JSON)('%s → 4xx on every POST, nothing written', async (label, body) => {
    for (const path of posts()) await expectRefused(label, 'POST', path, { ...auth(), ...JSON_TYPE }, body);
  });

  it.each([
    ['capture', () => `/api/v1/billing/invoices/${openInvoice}/capture`, { idempotencyKey: 'key\u0000' }],
    ['refund', () => `/api/v1/billing/invoices/${capturedInvoice}/refund`, { reason: 'OTHER', note: 'a NUL \u0000 here' }],
    ['refund', () => `/api/v1/billing/invoices/${capturedInvoice}/refund`, { reason: 'OTHER\u0000' }],
    ['refund', () => `/api/v1/billing/invoices/${capturedInvoice}/refund`, { reason: 'OTHER', idempotencyKey: 'k\u0000' }],
    ['refund', () => `/api/v1/billing/invoices/${capturedInvoice}/refund`, { reason: 'OTHER', note: 'n'.repeat(100_000) }],
    ['capture', () => `/api/v1/billing/invoices/${openInvoice}/capture`, { amount: 0 }],
    ['capture', () => `/api/v1/billing/invoices/${openInvoice}/capture`, { amount: Number.MAX_SAFE_INTEGER }],
    ['capture', () => `/api/v1/billing/invoices/${openInvoice}/capture`, { amount: 1, idempotencyKey: 'k'.repeat(60_000) }],
    ['trigger', () => `/api/v1/billing/replays/${storedEventId}/trigger`, { force: 'yes' }],
  ])('%s with a NUL or absurd value → 4xx, nothing written', async (label, path, body) => {
    await expectRefused(label, 'POST', path(), { ...auth(), ...JSON_TYPE }, JSON.stringify(body));
  });

  it('an Idempotency-Key header of 8,000 characters → 4xx, nothing written', async () => {
    await expectRefused('long key', 'POST', posts()[0]!, { ...auth(), ...JSON_TYPE, 'idempotency-key': 'k'.repeat(8_000) }, '{"amount":1}');
  });

  it.each(BAD_TOKENS)('%s → 401 on every route, nothing written', async (label, headers) => {
    for (const path of posts()) await expectRefused(label, 'POST', path, { ...headers, ...JSON_TYPE }, '{"reason":"OTHER"}', { status: 401 });
    await expectRefused(label, 'GET', '/api/v1/billing/replays', headers, undefined, { status: 401 });
  });

  it('a service token on the operators’ routes → 403, nothing written', async () => {
    const headers = { authorization: `Bearer ${serviceToken}`, ...JSON_TYPE };
    await expectRefused('service', 'POST', posts()[2]!, headers, '{"force":true}', { status: 403 });
    await expectRefused('service', 'GET', '/api/v1/billing/replays', headers, undefined, { status: 403 });
  });

  it.each(WRONG_IDS)('the id %s → 4xx on every POST, nothing written', async (id) => {
    for (const path of [`/api/v1/billing/invoices/${id}/capture`, `/api/v1/billing/invoices/${id}/refund`, `/api/v1/billing/replays/${id}/trigger`]) {
      await expectRefused(id, 'POST', path, { ...auth(), ...JSON_TYPE }, '{"reason":"OTHER"}');
    }
  });

  it.each([
    'requestedOnly=maybe',
    'requestedOnly=true&requestedOnly=false',
    'first=1e400',
    'first=-1',
    'first=99999999999999999999',
    'first=%00',
    'after=garbage',
    'after=%00',
    `after=${Buffer.from('processor-event:not-a-uuid').toString('base64url')}`,
    'provider=%00',
    `provider=${'p'.repeat(1_000)}`,
    'unknown=1',
    'provider[a][b]=1',
    '%E0%A4%A=1',
  ])('GET /replays?%s → 4xx, nothing written', async (query) => {
    await expectRefused(query, 'GET', `/api/v1/billing/replays?${query}`, auth());
  });

  it('GET with a body in a bogus encoding → 4xx, nothing written', async () => {
    await expectRefused('get with body', 'GET', '/api/v1/billing/replays', { ...auth(), 'content-encoding': 'bogus', ...JSON_TYPE }, '{}');
  });
});

describe('POST /graphql', () => {
  const auth = () => ({ authorization: `Bearer ${operator}` });
  const query = (document: string, variables: Record<string, unknown> = {}) => JSON.stringify({ query: document, variables });
  const REFUND = 'mutation ($input: RefundInvoiceInput!) { refundInvoice(input: $input) { attempt { id } } }';
  const CAPTURE = 'mutation ($input: CaptureInvoiceInput!) { captureInvoice(input: $input) { attempt { id } } }';

  it.each(UNREADABLE_BODIES)('%s → refused with its 4xx, nothing written', async (label, headers, body, status) => {
    const reply = await expectRefused(label, 'POST', '/graphql', { ...auth(), ...headers }, body, { status });
    // Answered as GraphQL clients expect.
    expect(JSON.parse(reply.text)).toMatchObject({ errors: [{ extensions: { code: 'BAD_USER_INPUT' } }] });
  });

  it.each(HOSTILE_JSON)('%s → 4xx, nothing written', async (label, body) => {
    await expectRefused(label, 'POST', '/graphql', { ...auth(), ...JSON_TYPE }, body);
  });

  it.each([
    ['a NUL in a refund note', () => query(REFUND, { input: { invoiceId: capturedInvoice, reason: 'OTHER', note: 'a NUL \u0000 here' } })],
    ['a NUL in an idempotency key', () => query(CAPTURE, { input: { invoiceId: openInvoice, amount: 1, idempotencyKey: 'k\u0000' } })],
    ['a lone surrogate in a note', () => query(REFUND, { input: { invoiceId: capturedInvoice, reason: 'OTHER', note: '\ud800', amount: 0 } })],
    ['a huge amount literal', () => query(`mutation { captureInvoice(input: { invoiceId: "${openInvoice}", amount: ${'9'.repeat(400)} }) { attempt { id } } }`)],
    ['an amount past 2^53', () => query(CAPTURE, { input: { invoiceId: openInvoice, amount: 2 ** 60 } })],
    ['a fractional amount', () => query(CAPTURE, { input: { invoiceId: openInvoice, amount: 0.5 } })],
    ['a wrong id', () => query(CAPTURE, { input: { invoiceId: 'not-a-uuid' } })],
    ['an unknown id', () => query(CAPTURE, { input: { invoiceId: randomUUID() } })],
    ['a NUL in an id', () => query(CAPTURE, { input: { invoiceId: `${randomUUID()}\u0000` } })],
    ['a NUL in a cursor', () => query('{ invoices(after: "\\u0000") { edges { node { id } } } }')],
    ['a NUL in a provider filter', () => query('{ processorEvents(provider: "\\u0000", requestedOnly: false) { edges { node { id } } } }')],
    ['a huge page', () => query('{ invoices(first: 2147483647) { edges { node { id } } } }')],
    ['an Int overflow', () => query(`{ invoices(first: ${'9'.repeat(40)}) { edges { node { id } } } }`)],
    ['5,000 nested selections', () => query(`{ ${'invoices { edges { node { '.repeat(1_000)} id ${'} } }'.repeat(1_000)} }`)],
    ['5,000 nested list literals', () => query(`{ invoices(status: ${nestedArrays(5_000)}) { edges { node { id } } } }`)],
    ['deeply nested variables', () => `{"query":"{ __typename }","variables":${nestedObjects(5_000)}}`],
    ['10,000 aliases', () => query(`{ ${Array.from({ length: 10_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`)],
    ['a syntax error', () => query('{ invoices(')],
    ['no query', () => '{}'],
    ['a batch', () => JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }])],
    ['a query that is a number', () => '{"query": 1e400}'],
    ['a NUL in the query', () => query('{ __typ\u0000ename }')],
    ['an operation name that is not there', () => JSON.stringify({ query: '{ __typename }', operationName: 'nope\u0000' })],
  ])('%s → no internal error, nothing written', async (label, body) => {
    await expectRefused(label, 'POST', '/graphql', { ...auth(), ...JSON_TYPE }, body());
  });

  it.each(BAD_TOKENS)('%s → no data, nothing written', async (label, headers) => {
    const reply = await expectRefused(label, 'POST', '/graphql', { ...headers, ...JSON_TYPE }, query(CAPTURE, { input: { invoiceId: openInvoice } }));
    expect(JSON.parse(reply.text)).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  it('GET /graphql with hostile query strings → 4xx, nothing written', async () => {
    for (const search of ['query=%00', 'query=%E0%A4%A', `query=${encodeURIComponent(`{ ${'invoices { edges { node { '.repeat(500)} id ${'} } }'.repeat(500)} }`)}`, 'variables=%7B', 'query=mutation%7BrunReconciliation%7Bid%7D%7D']) {
      await expectRefused(search, 'GET', `/graphql?${search}`, { ...auth(), accept: 'application/json', 'apollo-require-preflight': 'true' });
    }
  });
});

describe('/healthz, /readyz, /metrics', () => {
  it.each(['/healthz', '/readyz', '/metrics'])('%s with hostile headers, bodies and query strings: never 5xx, nothing written', async (path) => {
    const headers = { authorization: `Bearer ${METRICS_TOKEN}` };
    for (const [label, extra, body] of UNREADABLE_BODIES) await expectRefused(label, 'GET', path, { ...headers, ...extra }, body);
    for (const [label, body] of HOSTILE_JSON) await expectRefused(label, 'POST', path, { ...headers, ...JSON_TYPE }, body);
    for (const search of ['%00', '%E0%A4%A', 'a[b][c]=1', 'x'.repeat(5_000)]) await expectRefused(search, 'GET', `${path}?${search}`, headers);
  });

  it('other methods, and the IDE’s static files with hostile paths: never 5xx, nothing written', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      for (const path of ['/graphql', '/webhooks/stripe', `/api/v1/billing/invoices/${openInvoice}/capture`, '/healthz']) {
        await expectRefused(method, method, path, { authorization: `Bearer ${operator}`, ...JSON_TYPE, 'content-encoding': 'bogus' }, '{}');
      }
    }
    for (const path of ['/ruru-static/%E0%A4%A', '/ruru-static/..%2F..%2Fpackage.json', '/ruru-static/%00', `/ruru-static/${'x'.repeat(5_000)}`]) {
      await expectRefused(path, 'GET', path, {});
    }
  });

  it.each(BAD_TOKENS)('/metrics with %s → 401', async (label, headers) => {
    await expectRefused(label, 'GET', '/metrics', headers, undefined, { status: 401 });
  });
});

describe('afterwards', () => {
  it('the ledger is consistent', async () => {
    await expectLedgerConsistent(service.deps.db);
  });
});
