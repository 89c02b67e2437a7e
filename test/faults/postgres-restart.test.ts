import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.js';
import { invoices, processorEvents } from '../../src/db/schema/index.js';
import { verifyLedger } from '../../src/domain/ledger/verify-ledger.js';
import { runEntryPoint, stopIfRunning, type EntryPointProcess } from '../support/entry-point.js';
import { makeOperatorToken, makeWorkspace } from '../support/factories.js';
import { freePort } from '../support/ports.js';
import { charge, deliver, newPayment, sign, stripeEvent, WEBHOOK_SECRET, type Payment } from '../support/stripe-events.js';

/**
 * The real service (`node dist/src/main.js start`) on a Postgres of its own, under a steady stream of
 * signed webhooks, while that Postgres is restarted, has every connection of the service killed
 * (`pg_terminate_backend`, three times), and is then stopped for 30 seconds. The process must stay up,
 * answer 503 while the database is gone, never acknowledge an event it did not store, store each event
 * once, serve the whole offered rate again within 10 s of the last kill and within 30 s of Postgres's
 * return, and run jobs again.
 */

const RATE_PER_SECOND = 30;
const BASELINE_EVENTS = 60;
const RESTART_EVENTS = 90;
/** Events the three kills a second apart may take: 3 s on a quiet machine, more on a loaded one. */
const KILLS_BUDGET = 10 * RATE_PER_SECOND;
/** After the last kill: this many 200s in a row (a second of the full rate), within 10 s of events. */
const REPLACED_STREAK = 30;
const REPLACED_BUDGET = 10 * RATE_PER_SECOND;
const OUTAGE_EVENTS = 30 * RATE_PER_SECOND;
/** After Postgres is back: this many 200s in a row (over three seconds of the full rate), within 30 s of events. */
const RECOVERED_STREAK = 100;
const RECOVERY_BUDGET = 30 * RATE_PER_SECOND;
const AMOUNT = 2_500;

let dataDir: string;
let postgresPort: number;
let postgres: EmbeddedDatabase;
let database: Database;
let service: EntryPointProcess | undefined;
let baseUrl: string;

const startPostgres = () => startEmbeddedPostgres({ dataDir, port: postgresPort, database: 'billing' });

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'billing-ledger-pg-fault-'));
  await chmod(dataDir, 0o755); // as root, Postgres runs as the `postgres` user and must reach its folder
  postgresPort = await freePort();
  postgres = await startPostgres();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  service = runEntryPoint(['start'], {
    DATABASE_URL: postgres.url,
    BILLING_GATEWAY: 'synthetic',
    PORT: String(port),
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    LOG_LEVEL: 'warn',
    DEMO_SEED: 'false',
    DEV_OPERATOR_TOKEN: 'false',
  });
  await service.waitFor(/is running/); // migrated, pg-boss started, listening
  database = connectDatabase(postgres.url, { max: 2 });
}, 60_000);

afterAll(async () => {
  await stopIfRunning(service);
  await database?.close();
  await postgres?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** What an operator does with `pg_terminate_backend`: every client connection to the database but this one (the service's pools, pg-boss's, the test's other). */
async function killServiceConnections(): Promise<void> {
  const killed = await database.db.execute(
    sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
  );
  expect(killed.length).toBeGreaterThan(0);
}

type Delivery = { eventId: string; phase: string; sentAt: number; answeredAt: number; status: number | string };

/** One invoice per event, so each acknowledged capture must show up exactly once in its invoice. */
async function openInvoices(count: number): Promise<Payment[]> {
  const workspace = await makeWorkspace(database.db);
  const payments = Array.from({ length: count }, () => newPayment(randomUUID(), AMOUNT));
  for (let start = 0; start < payments.length; start += 500) {
    await database.db.insert(invoices).values(
      payments.slice(start, start + 500).map((payment) => ({
        id: payment.invoiceId,
        workspaceId: workspace.id,
        number: `INV-${payment.invoiceId.slice(0, 8)}`,
        currency: 'USD',
        amountDue: AMOUNT,
        paymentIntentId: payment.paymentIntentId,
      })),
    );
  }
  return payments;
}

/** Signed `charge.captured` webhooks, one new event every 1/RATE s, each answered or failed on its own. */
function startLoad(payments: Payment[]) {
  const events = payments.map((payment) => stripeEvent('charge.captured', charge(payment, AMOUNT)));
  const deliveries: Delivery[] = [];
  const inFlight: Promise<void>[] = [];
  const watchers = new Set<() => void>();
  let phase = 'baseline';
  let stopped = false;

  const send = (event: (typeof events)[number], label: string) => {
    const delivery: Delivery = { eventId: event.id, phase: label, sentAt: Date.now(), answeredAt: 0, status: 'pending' };
    deliveries.push(delivery);
    return deliver(baseUrl, sign(event))
      .then(
        (response) => (delivery.status = response.status),
        (error: Error) => (delivery.status = `request failed: ${error.message}`),
      )
      .then(() => {
        delivery.answeredAt = Date.now();
        for (const watcher of watchers) watcher();
      });
  };

  const pacing = (async () => {
    for (const event of events) {
      if (stopped) return;
      inFlight.push(send(event, phase));
      for (const watcher of watchers) watcher();
      await delay(1000 / RATE_PER_SECOND);
    }
    throw new Error(`ran out of events (${events.length}) before the load was stopped`);
  })();

  /** Resolves once `condition` holds over the deliveries; checked after every send and every answer. */
  const until = (condition: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        watchers.delete(check);
        resolve();
      };
      watchers.add(check);
      pacing.catch(reject);
      check();
    });

  return {
    deliveries,
    events,
    set phase(next: string) {
      phase = next;
    },
    sentIn: (label: string) => deliveries.filter((delivery) => delivery.phase === label).length,
    until,
    async stop() {
      stopped = true;
      await pacing.catch(() => {});
      await Promise.all(inFlight);
    },
    resend: (eventId: string) => send(events.find((event) => event.id === eventId)!, 'redelivery'),
  };
}

/** The answers of one phase in the order its events were sent: the first of a run of `length` 200s. */
function streakStart(deliveries: Delivery[], label: string, length: number): Delivery | undefined {
  const phase = deliveries.filter((candidate) => candidate.phase === label);
  let streak = 0;
  for (const [index, delivery] of phase.entries()) {
    if (delivery.status === 'pending') return undefined;
    streak = delivery.status === 200 ? streak + 1 : 0;
    if (streak >= length) return phase[index - length + 1];
  }
  return undefined;
}

/** A phase's answers in the order sent, for a failure message: where the 503s fell. */
const statusesOf = (deliveries: Delivery[], label: string) =>
  deliveries
    .filter((delivery) => delivery.phase === label)
    .map((delivery) => delivery.status)
    .join(' ');

const hasStreak = (deliveries: Delivery[], label: string, length: number) => streakStart(deliveries, label, length) !== undefined;

describe('Postgres restarted and stopped under webhook load', () => {
  it('the service stays up, answers 503 while the database is gone, stores every acknowledged event once, and recovers', async () => {
    const budget = BASELINE_EVENTS + RESTART_EVENTS + KILLS_BUDGET + REPLACED_BUDGET + OUTAGE_EVENTS + RECOVERY_BUDGET;
    const load = startLoad(await openInvoices(budget + 50));

    const acknowledgedCount = () => load.deliveries.filter((delivery) => delivery.status === 200).length;
    await load.until(() => acknowledgedCount() >= BASELINE_EVENTS);

    load.phase = 'restart';
    const restartAt = Date.now();
    await postgres.stop();
    postgres = await startPostgres();
    await load.until(() => load.sentIn('restart') >= RESTART_EVENTS);

    load.phase = 'terminate';
    for (let kill = 0; kill < 3; kill++) {
      await killServiceConnections();
      await delay(1000);
    }
    // Measured from the last kill, so that how long the kills took on a loaded machine does not count.
    load.phase = 'after-terminate';
    await load.until(() => hasStreak(load.deliveries, 'after-terminate', REPLACED_STREAK) || load.sentIn('after-terminate') >= REPLACED_BUDGET);

    load.phase = 'outage';
    await postgres.stop();
    const downAt = Date.now();
    await load.until(() => load.sentIn('outage') >= OUTAGE_EVENTS);
    const restartingAt = Date.now();
    load.phase = 'recovery';
    postgres = await startPostgres();

    await load.until(() => hasStreak(load.deliveries, 'recovery', RECOVERED_STREAK) || load.sentIn('recovery') >= RECOVERY_BUDGET);
    await load.stop();
    expect(service!.child.exitCode, service!.output()).toBeNull();
    expect(service!.child.signalCode).toBeNull();

    const { deliveries } = load;
    const statuses = new Set(deliveries.map((delivery) => delivery.status));
    expect([...statuses].filter((status) => status !== 200 && status !== 503), 'every request answered, 200 or 503').toEqual([]);
    const beforeFaults = deliveries.filter((delivery) => delivery.answeredAt > 0 && delivery.answeredAt <= restartAt);
    expect(beforeFaults.length).toBeGreaterThanOrEqual(BASELINE_EVENTS);
    expect(beforeFaults.filter((delivery) => delivery.status !== 200)).toEqual([]);
    // Sent and answered while Postgres was down: refused, so Stripe delivers them again.
    const duringOutage = deliveries.filter((delivery) => delivery.sentAt > downAt && delivery.answeredAt < restartingAt);
    expect(duringOutage.length).toBeGreaterThan(OUTAGE_EVENTS / 2);
    expect(duringOutage.filter((delivery) => delivery.status !== 503)).toEqual([]);
    expect(hasStreak(deliveries, 'recovery', RECOVERED_STREAK), `no ${RECOVERED_STREAK} 200s in a row within ${RECOVERY_BUDGET} events after Postgres returned`).toBe(true);
    const recovered = streakStart(deliveries, 'recovery', RECOVERED_STREAK)!;
    console.log(`serving the full rate again ${((recovered.sentAt - restartingAt) / 1000).toFixed(1)} s after Postgres was started again (${((restartingAt - downAt) / 1000).toFixed(1)} s down)`);
    // Killed connections are replaced: the service was serving again before the outage began.
    expect(hasStreak(deliveries, 'after-terminate', REPLACED_STREAK), `no ${REPLACED_STREAK} 200s in a row within ${REPLACED_BUDGET} events after the connections were killed: ${statusesOf(deliveries, 'after-terminate')}`).toBe(true);

    // Every acknowledged event is stored, once.
    const acknowledged = [...new Set(deliveries.filter((delivery) => delivery.status === 200).map((delivery) => delivery.eventId))];
    const storedCounts = async (externalIds: string[]) => {
      const rows = await database.db
        .select({ externalId: processorEvents.externalId, n: sql<number>`count(*)::int` })
        .from(processorEvents)
        .where(inArray(processorEvents.externalId, externalIds))
        .groupBy(processorEvents.externalId);
      return new Map(rows.map((row) => [row.externalId, row.n]));
    };
    const storedAcknowledged = await storedCounts(acknowledged);
    expect(acknowledged.filter((eventId) => storedAcknowledged.get(eventId) !== 1)).toEqual([]);

    // Stripe delivers the refused ones again: each is then stored, and applied, exactly once.
    const refused = [...new Set(deliveries.map((delivery) => delivery.eventId))].filter((eventId) => !acknowledged.includes(eventId));
    expect(refused.length).toBeGreaterThan(0);
    for (let start = 0; start < refused.length; start += 10) await Promise.all(refused.slice(start, start + 10).map((eventId) => load.resend(eventId)));
    const redelivered = deliveries.filter((delivery) => delivery.phase === 'redelivery');
    expect(redelivered.filter((delivery) => delivery.status !== 200)).toEqual([]);

    const sent = [...new Set(deliveries.map((delivery) => delivery.eventId))];
    const stored = await storedCounts(sent);
    expect(sent.filter((eventId) => stored.get(eventId) !== 1)).toEqual([]);
    const invoiceIds = load.events.filter((event) => sent.includes(event.id)).map((event) => (event.data.object.metadata as { invoice_id: string }).invoice_id);
    const captured = await database.db.select({ id: invoices.id, amountCaptured: invoices.amountCaptured }).from(invoices).where(inArray(invoices.id, invoiceIds));
    expect(captured).toHaveLength(sent.length);
    expect(captured.filter((invoice) => invoice.amountCaptured !== AMOUNT)).toEqual([]);
    expect(await verifyLedger(database.db)).toEqual([]);

    // pg-boss's workers came back with the database: an operator's replay, accepted now (202, a job), runs.
    const [row] = await database.db.select({ id: processorEvents.id }).from(processorEvents).where(eq(processorEvents.externalId, acknowledged[0]!));
    const operator = await makeOperatorToken(database.db);
    const accepted = await fetch(`${baseUrl}/api/v1/billing/replays/${row!.id}/trigger`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(accepted.status, await accepted.text()).toBe(202);
    await expect.poll(async () => (await database.db.select().from(processorEvents).where(eq(processorEvents.id, row!.id)))[0]!.lastReplayedAt, { timeout: 30_000, interval: 200 }).not.toBeNull();
    expect(await verifyLedger(database.db)).toEqual([]);
    expect(service!.child.exitCode).toBeNull();
  }, 180_000);
});
