import { and, inArray, isNotNull } from 'drizzle-orm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paymentAttempts } from '../../src/db/schema/index.js';
import { settleUnresolvedAttempt } from '../../src/domain/ledger/settle-unresolved-attempt.js';
import { verifyLedger } from '../../src/domain/ledger/verify-ledger.js';
import { runReconciliation } from '../../src/domain/reconciliation/reconcile.js';
import type { FakeEvent } from '../support/fake-stripe/objects.js';
import { capture, refund } from '../support/payments.js';
import { aDayPasses, authorisedInvoice, deliverEvents, ledgerSide, processorSide, startStripeWorld, type StripeWorld } from '../support/stripe-world.js';

/**
 * Model-based: random mixes of API captures and refunds, processor faults of every kind, webhooks in
 * any order with duplicates and drops, refunds made in the Stripe dashboard, refund failures, days
 * passing (Stripe forgets keys) and reconciliation runs. After every step the ledger's invariants hold;
 * at rest — settle jobs have asked, the events Stripe sends have arrived (or one reconciliation run
 * has read what was lost) — the ledger equals Stripe for every payment. Each run has a world of its
 * own (database, service, fake Stripe), so one run's payments are not the next run's reconciliation work.
 */
type Payment = { invoiceId: string; paymentIntentId: string; amountDue: number };
type Real = {
  world: StripeWorld;
  payments: Payment[];
  undelivered: FakeEvent[];
  /** Whether any event Stripe sent was lost for good: until then, webhooks alone must make the ledger right. */
  lost: boolean;
  /** The event types the webhook endpoint is subscribed to; Stripe sends it no others. */
  subscribed: (type: string) => boolean;
  lastRequest: (() => Promise<unknown>) | null;
};
type Model = { steps: number };

const FAULTS = ['none', 'fail-before', 'fail-after', 'drop-before', 'drop-after', 'decline', 'in-use'] as const;
type Fault = (typeof FAULTS)[number];

function injectFault(stripe: StripeWorld['stripe'], fault: Fault): void {
  const post = { method: 'POST' as const };
  switch (fault) {
    case 'none':
      return;
    case 'fail-before':
      return stripe.failNext(500, { ...post, times: 2 });
    case 'fail-after':
      return stripe.failNext(500, { ...post, after: true });
    case 'drop-before':
      return stripe.dropNext({ ...post, times: 2 });
    case 'drop-after':
      return stripe.dropNext({ ...post, after: true, times: 2 });
    case 'decline':
      return stripe.declineNext(post);
    case 'in-use':
      return stripe.failNext(409, { ...post, times: 2 });
  }
}

/**
 * A step that never finishes is a failure of its own (a wedged request or lock), not a reason for the
 * whole property to hang: it fails with the step's name, and fast-check shrinks it like any other.
 */
const STEP_TIME_LIMIT_MS = 30_000;
async function withinTimeLimit<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${STEP_TIME_LIMIT_MS / 1000} s`)), STEP_TIME_LIMIT_MS);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Takes whatever Stripe has sent since the last step into the outbox (nothing is delivered yet). */
const collect = (real: Real) => real.undelivered.push(...real.world.stripe.newEvents().filter((event) => real.subscribed(event.type)));

/**
 * Endpoints are subscribed to all events, or — as many integrations are — to charges and payment
 * intents only: no `refund.*` events, so refunds reach the ledger through `charge.refunded` and
 * `charge.updated`, which carry no refunds list today.
 */
const SUBSCRIPTIONS = {
  'every event': () => true,
  'charge.* and payment_intent.* only': (type: string) => type.startsWith('charge.') || type.startsWith('payment_intent.'),
} as const;
const subscription = fc.constantFrom(...(Object.keys(SUBSCRIPTIONS) as (keyof typeof SUBSCRIPTIONS)[]));

abstract class Step implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  abstract act(real: Real): Promise<void>;
  async run(model: Model, real: Real): Promise<void> {
    model.steps++;
    await withinTimeLimit(this.act(real), `${this}`);
    collect(real);
    expect(await verifyLedger(real.world.service.deps.db)).toEqual([]);
  }
  abstract toString(): string;
}

class Capture extends Step {
  constructor(readonly payment: number, readonly amount: number | null, readonly fault: Fault, readonly key: string) {
    super();
  }
  async act(real: Real) {
    const payment = real.payments[this.payment % real.payments.length]!;
    injectFault(real.world.stripe, this.fault);
    const request = () => capture(real.world.service, real.world.token, { invoiceId: payment.invoiceId, amount: this.amount, idempotencyKey: this.key });
    real.lastRequest = request;
    await request();
    real.world.stripe.clearFaults();
  }
  toString = () => `capture(#${this.payment}, ${this.amount ?? 'all'}, ${this.fault})`;
}

class Refund extends Step {
  constructor(readonly payment: number, readonly amount: number | null, readonly fault: Fault, readonly key: string) {
    super();
  }
  async act(real: Real) {
    const payment = real.payments[this.payment % real.payments.length]!;
    injectFault(real.world.stripe, this.fault);
    const request = () => refund(real.world.service, real.world.token, { invoiceId: payment.invoiceId, amount: this.amount, reason: 'OTHER', idempotencyKey: this.key });
    real.lastRequest = request;
    await request();
    real.world.stripe.clearFaults();
  }
  toString = () => `refund(#${this.payment}, ${this.amount ?? 'all'}, ${this.fault})`;
}

class RetryLastRequest extends Step {
  async act(real: Real) {
    await real.lastRequest?.();
  }
  toString = () => 'retry the last request with its key';
}

class DashboardRefund extends Step {
  constructor(readonly payment: number, readonly amount: number) {
    super();
  }
  async act(real: Real) {
    const payment = real.payments[this.payment % real.payments.length]!;
    const { captured, refunded } = processorSide(real.world, payment.paymentIntentId);
    const amount = Math.min(this.amount, captured - refunded);
    if (amount > 0) real.world.stripe.state.refundFromDashboard({ paymentIntentId: payment.paymentIntentId, amount });
  }
  toString = () => `dashboard refund(#${this.payment}, ${this.amount})`;
}

class RefundFailsLater extends Step {
  constructor(readonly pick: number) {
    super();
  }
  async act(real: Real) {
    const candidates = [...real.world.stripe.state.refunds.values()].filter(
      (candidate) => candidate.status !== 'failed' && real.payments.some((payment) => payment.paymentIntentId === candidate.payment_intent),
    );
    const chosen = candidates[this.pick % Math.max(candidates.length, 1)];
    if (chosen) real.world.stripe.state.failRefund(chosen.id);
  }
  toString = () => `a refund fails later (${this.pick})`;
}

/** Stripe delivers some of what it sent, in any order and some twice; the rest is lost for good. */
class DeliverWebhooks extends Step {
  constructor(readonly order: number[], readonly kept: boolean[], readonly duplicate: boolean) {
    super();
  }
  async act(real: Real) {
    const pending = real.undelivered.splice(0);
    const ordered = [...new Set([...this.order.map((index) => pending[index % Math.max(pending.length, 1)]), ...pending])].filter((event): event is FakeEvent => !!event);
    const delivered = ordered.filter((_, index) => this.kept[index % Math.max(this.kept.length, 1)] ?? true);
    if (delivered.length < ordered.length) real.lost = true;
    await deliverEvents(real.world, this.duplicate ? [...delivered, ...delivered.slice(0, 2)] : delivered);
  }
  toString = () => `deliver webhooks (order ${this.order.join(',')}, kept ${this.kept.map((keep) => (keep ? 1 : 0)).join('')}${this.duplicate ? ', duplicates' : ''})`;
}

/**
 * The shape of most bugs this test was written for, as one step so that runs meet it often: a request
 * whose answer is lost after the processor acted, its webhooks lost too, a day in which the processor
 * forgets the key, then the client's retry with the same key.
 */
class LostAnswerThenADay extends Step {
  constructor(readonly request: Capture | Refund) {
    super();
  }
  async act(real: Real) {
    await this.request.act(real);
    collect(real);
    if (real.undelivered.length > 0) real.lost = true;
    real.undelivered.length = 0;
    await aDayPasses(real.world);
    await real.lastRequest?.();
  }
  toString = () => `${this.request} with its answer and webhooks lost, a day, the retry`;
}

class DayPasses extends Step {
  async act(real: Real) {
    await aDayPasses(real.world);
  }
  toString = () => 'a day passes';
}

class Reconcile extends Step {
  async act(real: Real) {
    expect((await runReconciliation(real.world.service.deps, { trigger: 'COMMAND' })).error).toBeNull();
  }
  toString = () => 'reconcile';
}

class SettleJobsRun extends Step {
  async act(real: Real) {
    await settleAll(real);
  }
  toString = () => 'settle jobs run';
}

async function settleAll(real: Real): Promise<void> {
  const db = real.world.service.deps.db;
  const open = await db
    .select({ id: paymentAttempts.id })
    .from(paymentAttempts)
    .where(and(inArray(paymentAttempts.status, ['PENDING', 'UNKNOWN']), isNotNull(paymentAttempts.id), inArray(paymentAttempts.invoiceId, real.payments.map((payment) => payment.invoiceId))));
  // Faults are cleared between steps: the processor answers every lookup here.
  for (const { id } of open) await settleUnresolvedAttempt(real.world.service.deps, id, 'SYSTEM');
}

const key = fc.uuid();
const payment = fc.nat({ max: 2 });
const amount = fc.option(fc.integer({ min: 1, max: 4_000 }), { nil: null });
const fault = fc.constantFrom(...FAULTS);
const captureStep = fc.tuple(payment, amount, fault, key).map(([p, a, f, k]) => new Capture(p, a, f, k));
const refundStep = fc.tuple(payment, amount, fault, key).map(([p, a, f, k]) => new Refund(p, a, f, k));
const afterFault = fc.constantFrom<Fault>('fail-after', 'drop-after');
// Mostly every event arrives (so that runs often check the webhooks alone), sometimes some are lost.
const kept = fc.oneof({ weight: 3, arbitrary: fc.constant<boolean[]>([true]) }, { weight: 1, arbitrary: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }) });
const lostAnswerStep = fc
  .tuple(fc.boolean(), payment, amount, afterFault, key)
  .map(([isCapture, p, a, f, k]) => new LostAnswerThenADay(isCapture ? new Capture(p, a, f, k) : new Refund(p, a, f, k)));
const steps = [
  lostAnswerStep,
  captureStep,
  captureStep,
  refundStep,
  refundStep,
  fc.constant(new RetryLastRequest()),
  fc.tuple(payment, fc.integer({ min: 1, max: 3_000 })).map(([p, a]) => new DashboardRefund(p, a)),
  fc.nat().map((pick) => new RefundFailsLater(pick)),
  fc.tuple(fc.array(fc.nat({ max: 20 }), { maxLength: 20 }), kept, fc.boolean()).map(([o, k, d]) => new DeliverWebhooks(o, k, d)),
  fc.constant(new DayPasses()),
  fc.constant(new Reconcile()),
  fc.constant(new SettleJobsRun()),
];

/**
 * At rest: a day has passed and the settle jobs have asked; the events Stripe sent since the last
 * delivery arrive (those lost stay lost). If none was lost, the webhooks alone have made the ledger
 * equal to Stripe; either way, so has one reconciliation run after them.
 */
async function atRest(real: Real): Promise<void> {
  await aDayPasses(real.world);
  await settleAll(real);
  collect(real);
  await deliverEvents(real.world, real.undelivered.splice(0));
  const ledgerEqualsStripe = async (when: string) => {
    for (const payment of real.payments) {
      expect(await ledgerSide(real.world, payment.invoiceId), `payment ${payment.paymentIntentId}, ${when}`).toEqual(processorSide(real.world, payment.paymentIntentId));
    }
  };
  if (!real.lost) await ledgerEqualsStripe('every event delivered, before reconciliation');
  expect((await runReconciliation(real.world.service.deps, { trigger: 'COMMAND' })).error).toBeNull();
  await ledgerEqualsStripe('after reconciliation');
  // Every attempt says what the processor did with it, and nothing moved twice for one attempt.
  const attempts = await real.world.service.deps.db
    .select()
    .from(paymentAttempts)
    .where(inArray(paymentAttempts.invoiceId, real.payments.map((payment) => payment.invoiceId)));
  for (const payment of real.payments) {
    const intent = real.world.stripe.state.paymentIntents.get(payment.paymentIntentId)!;
    const ours = attempts.filter((attempt) => attempt.invoiceId === payment.invoiceId);
    const captured = ours.filter((attempt) => attempt.kind === 'CAPTURE' && attempt.status === 'SUCCEEDED');
    // No capture is made outside the service in this model: the processor's total is our succeeded captures.
    expect(intent.amount_received, `captures of ${payment.paymentIntentId}`).toBe(captured.reduce((total, attempt) => total + attempt.amount, 0));
    for (const attempt of ours.filter((candidate) => candidate.kind === 'CAPTURE')) {
      expect(attempt.status === 'SUCCEEDED', `capture attempt ${attempt.id}`).toBe(Object.keys(intent.metadata).includes(`cap_${attempt.id.replaceAll('-', '')}`));
    }
    const stripeRefunds = real.world.stripe.state.refundsOf({ paymentIntentId: payment.paymentIntentId });
    for (const attempt of ours.filter((candidate) => candidate.kind === 'REFUND')) {
      const made = stripeRefunds.filter((candidate) => candidate.metadata.payment_attempt_id === attempt.id);
      expect(made.length, `refunds made for attempt ${attempt.id}`).toBeLessThanOrEqual(1);
      const moved = made.some((candidate) => candidate.status === 'succeeded' || candidate.status === 'pending');
      // An attempt says what its request did when the service learned of it: a refund that moved money
      // is a succeeded attempt; a succeeded attempt's refund was made, though it may have failed since
      // (a reversal line gives it back); a failed attempt moved nothing.
      if (moved) expect(attempt.status, `refund attempt ${attempt.id} (its refund moved money)`).toBe('SUCCEEDED');
      if (attempt.status === 'SUCCEEDED') expect(made, `refund attempt ${attempt.id} succeeded`).toHaveLength(1);
    }
  }
  const unsettled = await real.world.service.deps.db
    .select()
    .from(paymentAttempts)
    .where(and(inArray(paymentAttempts.invoiceId, real.payments.map((payment) => payment.invoiceId)), inArray(paymentAttempts.status, ['PENDING', 'UNKNOWN'])));
  expect(unsettled).toEqual([]);
}

// 150 runs: the size at which the test found each bug put back by hand (the slowest at run 76, seed 7); about 2 min.
const PROPERTY_RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
// A fixed seed by default: `npm test` is the gate every change must pass, so it runs the same 150 runs
// each time, and a failure is a regression, never a draw. PROPERTY_SEED=random explores new ground (a
// random seed found the charge.updated bug of scenarios.test.ts in CI); any failure it finds is
// repeated with the seed it prints first, and becomes an example test of its own.
const PROPERTY_SEED = process.env.PROPERTY_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.PROPERTY_SEED ?? 7);
// With the seed, replays one reported counterexample straight away: PROPERTY_PATH=<path> and
// PROPERTY_REPLAY_PATH=<replayPath> from the report.
const PROPERTY_PATH = process.env.PROPERTY_PATH;
const PROPERTY_REPLAY_PATH = process.env.PROPERTY_REPLAY_PATH;

describe('ledger = processor under any interleaving of requests, faults, webhooks and reconciliation', () => {
  it('holds after every step, and at rest for every payment', { timeout: 900_000 }, async () => {
    console.log(`property seed ${PROPERTY_SEED} (${PROPERTY_RUNS} runs)`);
    await fc.assert(
      fc.asyncProperty(subscription, fc.commands(steps, { maxCommands: 10, ...(PROPERTY_REPLAY_PATH ? { replayPath: PROPERTY_REPLAY_PATH } : {}) }), async (subscribedTo, commands) => {
        const started = Date.now();
        const { world, close } = await startStripeWorld();
        try {
          const payments: Payment[] = [];
          for (const amountDue of [5_000, 8_000, 3_000]) {
            const invoice = await authorisedInvoice(world, amountDue);
            payments.push({ invoiceId: invoice.id, paymentIntentId: invoice.paymentIntentId!, amountDue });
          }
          const real: Real = { world, payments, undelivered: [], lost: false, subscribed: SUBSCRIPTIONS[subscribedTo], lastRequest: null };
          await fc.asyncModelRun(() => ({ model: { steps: 0 }, real }), commands);
          await withinTimeLimit(atRest(real), 'coming to rest');
        } catch (error) {
          if (process.env.PROPERTY_TRACE) console.log(`failed after ${Date.now() - started} ms (${subscribedTo}): ${[...commands].join('; ')}\n  ${String(error).slice(0, 300)}`);
          throw error;
        } finally {
          await withinTimeLimit(close(), "closing the run's world");
        }
        if (process.env.PROPERTY_TRACE) console.log(`${Date.now() - started} ms (${subscribedTo}): ${[...commands].join('; ')}`);
      }),
      // Shrinking a failure re-runs it many times over; past ten minutes fast-check stops and reports the
      // smallest counterexample so far (and an unfinished clean run counts as a failure too).
      { numRuns: PROPERTY_RUNS, seed: PROPERTY_SEED, ...(PROPERTY_PATH ? { path: PROPERTY_PATH, endOnFailure: true } : {}), plugins: [fc.interruptAfterTimeLimit(600_000, { failOnInterrupt: true })] },
    );
  });
});
