import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import postgres from 'postgres';
import Stripe from 'stripe';
import type { BillingGatewayClient } from '../../src/domain/gateway/billing-gateway-client.js';
import { jobInsert } from './job-insert.js';

/**
 * The baseline for the two write paths: `node:http` and postgres.js, no framework, no ORM, sending the
 * statements the service sends (bench/README: traced from the service), in the same transactions, on
 * a pool of the same size with the same session settings and prepared statements. What it leaves out
 * is what the service adds around the SQL: Express, Apollo/GraphQL, Drizzle, zod, logging and metrics.
 * It trusts its input (the bench's own requests) beyond what the SQL itself checks.
 *
 *   POST /webhooks/stripe   the Stripe SDK's signature check, store the event once, apply a
 *                           payment_intent.succeeded to its invoice (the only kind the bench sends)
 *   POST /capture           {"invoiceId", "idempotencyKey"}: reserve → processor → settle
 */
export type BareServer = { url: string; close(): Promise<void> };

export type BareOptions = {
  databaseUrl: string;
  poolSize: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  webhookSecret: string;
  gateway: BillingGatewayClient;
  settleDelaySeconds: number;
  /** As the service's AUTH_CACHE_TTL_MS: a token's viewer is remembered this long (0: looked up every time). */
  authCacheTtlMs: number;
};

const INVOICE = `"id", "workspace_id", "number", "currency", "amount_due", "amount_captured", "amount_refunded", "status", "payment_intent_id", "external_processor_id", "captured_at", "settled_at", "voided_at", "reconciled_at", "created_at", "updated_at"`;
const INVOICE_Q = INVOICE.split(', ').map((column) => `"invoices".${column}`).join(', ');
const WORKSPACE_Q = `"workspaces"."id", "workspaces"."name", "workspaces"."slug", "workspaces"."billing_pilot", "workspaces"."created_at"`;
const ATTEMPT = `"id", "invoice_id", "workspace_id", "kind", "status", "amount", "currency", "reason", "note", "idempotency_key", "request_hash", "processor_object_id", "error_code", "error_message", "requested_by", "created_at", "completed_at", "metadata"`;
const ADJUSTMENT = `"id", "invoice_id", "kind", "amount", "currency", "reason_code", "note", "source", "payment_attempt_id", "processor_event_id", "processor_object_id", "processor_movement_id", "created_at"`;
const EVENT = `"id", "provider", "external_id", "event_type", "payload", "payload_raw", "payload_hash", "correlation_id", "workspace_hint", "invoice_id", "received_at", "processed_at", "outcome", "replay_requested", "replay_attempts", "last_replay_error", "last_replayed_at", "payment_intent_ref", "replay_due_at", "automatic_retries"`;

const SQL = {
  token: `select "id", "role", "workspace_id", "expires_at", "last_used_at" IS NULL OR "last_used_at" < now() - interval '1 minute' from "api_tokens" where ("api_tokens"."token_hash" = $1 and "api_tokens"."revoked_at" is null and ("api_tokens"."expires_at" is null or "api_tokens"."expires_at" > now()))`,
  tokenUse: `update "api_tokens" set "last_used_at" = date_trunc('second', now()) where ("api_tokens"."id" = $1 and ("api_tokens"."last_used_at" is null or "api_tokens"."last_used_at" < now() - interval '1 minute'))`,
  lockInvoice: `select ${INVOICE_Q}, ${WORKSPACE_Q} from "invoices" inner join "workspaces" on "workspaces"."id" = "invoices"."workspace_id" where "invoices"."id" = $1 for update of "invoices"`,
  attemptByKey: `select ${ATTEMPT} from "payment_attempts" where ("payment_attempts"."workspace_id" = $1 and "payment_attempts"."idempotency_key" = $2) for update`,
  rollout: `select "value" from "settings" where "settings"."key" = $1`,
  reserved: `select "kind", sum("amount") from "payment_attempts" where ("payment_attempts"."invoice_id" = $1 and "payment_attempts"."status" IN ('PENDING', 'UNKNOWN')) group by "payment_attempts"."kind"`,
  insertAttempt: `insert into "payment_attempts" ("id", "invoice_id", "workspace_id", "kind", "status", "amount", "currency", "reason", "note", "idempotency_key", "request_hash", "processor_object_id", "error_code", "error_message", "requested_by", "created_at", "completed_at", "metadata") values (default, $1, $2, $3, default, $4, $5, $6, $7, $8, $9, default, default, default, $10, default, default, $11) returning ${ATTEMPT}`,
  timeline: `insert into "invoice_timeline_events" ("id", "invoice_id", "type", "source", "occurred_at", "data", "adjustment_id", "payment_attempt_id", "processor_event_id", "dedupe_key") values (default, $1, $2, $3, coalesce($4::timestamptz, now()), $5, $6, $7, $8, $9) on conflict ("dedupe_key") do nothing returning "id"`,
  lockAttempt: `select ${ATTEMPT} from "payment_attempts" where "payment_attempts"."id" = $1 for update`,
  insertAdjustment: `insert into "invoice_adjustments" (${ADJUSTMENT}) values ($1, $2, $3, $4, $5, default, default, $6, $7, $8, $9, $10, default) returning ${ADJUSTMENT}`,
  captureInvoice: `update "invoices" set "amount_captured" = $1, "payment_intent_id" = $2, "external_processor_id" = $3, "captured_at" = $4, "settled_at" = $5, "updated_at" = $6 where "invoices"."id" = $7 returning ${INVOICE}`,
  attemptSucceeded: `update "payment_attempts" set "status" = $1, "processor_object_id" = $2, "error_code" = $3, "error_message" = $4, "completed_at" = $5 where "payment_attempts"."id" = $6 returning ${ATTEMPT}`,
  insertEvent: `insert into "processor_events" (${EVENT}) values (default, $1, $2, $3, $4, default, $5, $6, $7, default, default, default, $8, $9, default, default, default, $10, default, default) on conflict do nothing returning "id"`,
  duplicateOf: `select ${EVENT} from "processor_events" where ("processor_events"."provider" = $1 and ("processor_events"."external_id" = $2 or "processor_events"."payload_hash" = $3)) limit $4`,
  lockEvent: `select ${EVENT} from "processor_events" where "processor_events"."id" = $1 for update`,
  lockInvoiceById: `select ${INVOICE} from "invoices" where "invoices"."id" = $1 for update`,
  eventDone: `update "processor_events" set "invoice_id" = $1, "processed_at" = $2, "outcome" = $3, "replay_requested" = $4, "last_replay_error" = $5, "replay_due_at" = $6 where "processor_events"."id" = $7`,
};

type Row = Record<string, unknown>;
type Q = (text: string, parameters: unknown[]) => Promise<Row[]>;
const on = (sql: postgres.Sql | postgres.TransactionSql): Q => (text, parameters) =>
  sql.unsafe(text, parameters as postgres.ParameterOrJSON<never>[], { prepare: true }) as unknown as Promise<Row[]>;
const json = (value: unknown) => JSON.stringify(value);

export async function startBareServer(options: BareOptions): Promise<BareServer> {
  const sql = postgres(options.databaseUrl, {
    max: options.poolSize,
    onnotice: () => {},
    connection: { application_name: 'billing-ledger-bare', statement_timeout: options.statementTimeoutMs, lock_timeout: options.lockTimeoutMs },
  });
  const query = on(sql);

  async function lookUp(tokenHash: string): Promise<{ id: string; expiresAt: Date | null } | undefined> {
    const [record] = await query(SQL.token, [tokenHash]);
    if (record?.['?column?']) await query(SQL.tokenUse, [record.id]);
    return record ? { id: record.id as string, expiresAt: record.expires_at ? new Date(record.expires_at as string) : null } : undefined;
  }

  // The service's ViewerCache, as far as the bench's one token needs it: a token that authenticates is
  // remembered for authCacheTtlMs (never past its expiry), concurrent requests share one look-up.
  const viewers = new Map<string, { viewer: Promise<{ id: string } | undefined>; until: number }>();
  async function viewer(authorization: string | undefined): Promise<{ id: string } | undefined> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) return undefined;
    const tokenHash = createHash('sha256').update(token).digest('hex');
    if (options.authCacheTtlMs <= 0) return lookUp(tokenHash);
    const now = Date.now();
    const cached = viewers.get(tokenHash);
    if (cached && cached.until > now) return cached.viewer;
    const entry = { viewer: Promise.resolve<{ id: string } | undefined>(undefined), until: now + options.authCacheTtlMs };
    const forget = () => {
      if (viewers.get(tokenHash) === entry) viewers.delete(tokenHash);
    };
    entry.viewer = lookUp(tokenHash).then(
      (found) => {
        if (!found) forget();
        else if (found.expiresAt) entry.until = Math.min(entry.until, found.expiresAt.getTime());
        return found;
      },
      (error: unknown) => {
        forget();
        throw error;
      },
    );
    viewers.set(tokenHash, entry);
    return entry.viewer;
  }

  async function capture(tokenId: string, invoiceId: string, idempotencyKey: string): Promise<Row> {
    const requestHash = createHash('sha256').update(json([['amount', null], ['invoiceId', invoiceId], ['operation', 'capture']])).digest('hex');
    const reserved = await sql.begin(async (tx) => {
      const q = on(tx);
      const [[invoice], [stage]] = await Promise.all([q(SQL.lockInvoice, [invoiceId]), q(SQL.rollout, ['billing_rollout_stage'])]);
      if (!invoice) throw new Error('not found');
      if ((await q(SQL.attemptByKey, [invoice.workspace_id, idempotencyKey])).length) throw new Error('key known');
      if (stage && stage.value === 'OFF') throw new Error('rollout');
      const pending = (await q(SQL.reserved, [invoiceId])).reduce((sum, row) => sum + (row.kind === 'CAPTURE' ? Number(row.sum) : 0), 0);
      const amount = Number(invoice.amount_due) - Number(invoice.amount_captured) - pending;
      if (amount <= 0) throw new Error('nothing to capture');
      const [attempt] = await q(SQL.insertAttempt, [invoiceId, invoice.workspace_id, 'CAPTURE', amount, invoice.currency, null, null, idempotencyKey, requestHash, tokenId, json({ finalCapture: true })]);
      const startAfter = new Date(Date.now() + options.settleDelaySeconds * 1000).toISOString();
      await Promise.all([
        q(SQL.timeline, [invoiceId, 'CAPTURE_REQUESTED', 'API', null, json({ amount, currency: invoice.currency }), null, attempt!.id, null, `attempt:${attempt!.id}:requested`]),
        q(...jobInsert('settle-attempt', { attemptId: attempt!.id }, { singletonKey: attempt!.id as string, startAfter })),
      ]);
      return { attempt: attempt!, paymentIntentId: invoice.payment_intent_id as string };
    });
    const { attempt } = reserved;
    const result = await options.gateway.capture({
      idempotencyKey: attempt.id as string,
      invoiceId,
      paymentIntentId: reserved.paymentIntentId,
      amount: Number(attempt.amount),
      currency: attempt.currency as string,
      finalCapture: true,
    });
    return sql.begin(async (tx) => {
      const q = on(tx);
      const [[invoice]] = await Promise.all([q(SQL.lockInvoice, [invoiceId]), q(SQL.lockAttempt, [attempt.id])]);
      const missing = result.capturedTotal - Number(invoice!.amount_captured);
      const movement = `${result.chargeId}:captured:${result.capturedTotal}`;
      // As the service: the line's id chosen here, the line and what follows it sent together.
      const adjustmentId = randomUUID();
      const data = { amount: missing, currency: invoice!.currency, processorObjectId: result.chargeId, chargeId: result.chargeId, paymentIntentId: result.paymentIntentId, capturedTotal: result.capturedTotal };
      const [, [after]] = await Promise.all([
        q(SQL.insertAdjustment, [adjustmentId, invoiceId, 'CAPTURE', missing, invoice!.currency, 'API', attempt.id, null, result.chargeId, movement]),
        q(SQL.captureInvoice, [result.capturedTotal, result.paymentIntentId, result.chargeId, result.capturedAt, result.settledAt, new Date(), invoiceId]),
        q(SQL.timeline, [invoiceId, 'CAPTURE_SUCCEEDED', 'API', result.capturedAt, json(data), adjustmentId, attempt.id, null, `adjustment:${adjustmentId}`]),
        result.settledAt
          ? q(SQL.timeline, [invoiceId, 'PAYMENT_SETTLED', 'API', result.settledAt, json({ settledObjectId: result.chargeId }), null, null, null, `settlement:${invoiceId}:${result.chargeId}`])
          : undefined,
        q(...jobInsert('capture-notification', { invoiceId, adjustmentId })),
      ]);
      const [updated] = await q(SQL.attemptSucceeded, ['SUCCEEDED', result.chargeId, null, null, new Date(), attempt.id]);
      return { invoice: { id: invoiceId, status: after!.status, amountCaptured: Number(after!.amount_captured) }, attempt: { id: updated!.id, status: updated!.status }, adjustment: { id: adjustmentId, amount: missing } };
    });
  }

  async function webhook(raw: Buffer, signature: string): Promise<string> {
    const event = Stripe.webhooks.constructEvent(raw, signature, options.webhookSecret, 300) as unknown as {
      id: string;
      type: string;
      created: number;
      request?: { id?: string | null; idempotency_key?: string | null };
      data: { object: { id: string; amount_received: number; currency: string; latest_charge: string; metadata: { invoice_id: string } }; previous_attributes?: unknown };
    };
    const intent = event.data.object;
    const payloadHash = createHash('sha256').update(json({ type: event.type, object: intent, previous: event.data.previous_attributes ?? null })).digest('hex');
    const correlation = event.request?.idempotency_key ?? event.request?.id ?? null;
    const [stored] = await query(SQL.insertEvent, ['stripe', event.id, event.type, json(event), payloadHash, correlation, null, 'RECEIVED', true, intent.id]);
    if (!stored) {
      await query(SQL.duplicateOf, ['stripe', event.id, payloadHash, 1]);
      return 'duplicate';
    }
    await sql.begin(async (tx) => {
      await on(tx)(SQL.lockEvent, [stored.id]);
      const invoiceId = await tx.savepoint(async (savepoint) => {
        const q = on(savepoint);
        const [invoice] = await q(SQL.lockInvoiceById, [intent.metadata.invoice_id]);
        if (!invoice) throw new Error('no invoice');
        const missing = intent.amount_received - Number(invoice.amount_captured);
        if (missing <= 0) return invoice.id;
        const capturedAt = new Date(event.created * 1000);
        const movement = `${intent.latest_charge}:captured:${intent.amount_received}`;
        const adjustmentId = randomUUID();
        const data = { amount: missing, currency: invoice.currency, processorObjectId: intent.latest_charge, chargeId: intent.latest_charge, paymentIntentId: intent.id, capturedTotal: intent.amount_received };
        await Promise.all([
          q(SQL.insertAdjustment, [adjustmentId, invoice.id, 'CAPTURE', missing, invoice.currency, 'WEBHOOK', null, stored.id, intent.latest_charge, movement]),
          q(SQL.captureInvoice, [intent.amount_received, intent.id, intent.latest_charge, capturedAt, null, new Date(), invoice.id]),
          q(SQL.timeline, [invoice.id, 'CAPTURE_SUCCEEDED', 'WEBHOOK', capturedAt, json(data), adjustmentId, null, stored.id, `adjustment:${adjustmentId}`]),
          q(...jobInsert('capture-notification', { invoiceId: invoice.id as string, adjustmentId })),
        ]);
        return invoice.id;
      });
      await on(tx)(SQL.eventDone, [invoiceId, new Date(), 'PROCESSED', false, null, null, stored.id]);
    });
    return 'processed';
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const answer = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(json(value));
      };
      const work =
        req.url === '/webhooks/stripe'
          ? webhook(body, String(req.headers['stripe-signature'])).then((status) => ({ status }))
          : viewer(req.headers.authorization).then((found) => {
              if (!found) throw new Error('unauthenticated');
              const input = JSON.parse(body.toString('utf8')) as { invoiceId: string; idempotencyKey: string };
              return capture(found.id, input.invoiceId, input.idempotencyKey);
            });
      work.then(
        (value) => answer(200, value),
        (error: unknown) => answer(500, { error: String(error) }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await sql.end({ timeout: 5 });
    },
  };
}
