import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Request, Response } from 'express';
import { FakeStripeError, idempotencyKeyInUse, idempotencyKeyReused, serverFailure } from './errors.js';
import type { EventLog } from './events.js';
import type { Fault, FaultPlan } from './faults.js';
import type { Answer, IdempotencyStore } from './idempotency.js';
import type { Params } from './params.js';
import type { Route } from './routes.js';
import type { RecordedRequest } from './server.js';

type Deps = { faults: FaultPlan; idempotency: IdempotencyStore; events: EventLog; closing: AbortSignal };
type Outcome = { answer: Answer; executed: boolean };

/**
 * One request's way through the fake, in Stripe's order: faults in front of the API (`fail`/`drop`
 * before), the idempotency key (replay, mismatch, in use), the endpoint (with `hold`, `decline`,
 * `fail` after), then the response (with `hang`, `drop` after). The answer is kept for the key before
 * the response can be lost.
 */
export function requestPipeline({ faults, idempotency, events, closing }: Deps) {
  return async function serve(route: Route, req: Request, res: Response): Promise<void> {
    const recorded = res.locals.recorded as RecordedRequest;
    const params = route.method === 'GET' ? recorded.query : recorded.body;
    const fault = faults.take(req.method, req.path);
    if (fault?.kind === 'fail' && fault.when === 'before') return send(res, errorAnswer(serverFailure(fault.status), { 'Stripe-Should-Retry': 'true' }));
    if (fault?.kind === 'drop' && fault.when === 'before') return drop(res);

    const key = route.method === 'POST' ? recorded.idempotencyKey : undefined;
    let outcome: Outcome | null = null;
    if (key === undefined) {
      outcome = await run();
    } else {
      const found = idempotency.lookup(key, req.method, req.path, params);
      if (found.kind === 'mismatch') return send(res, errorAnswer(idempotencyKeyReused(key)));
      if (found.kind === 'in_use') return send(res, errorAnswer(idempotencyKeyInUse()));
      if (found.kind === 'replay') {
        recorded.replayed = true;
        outcome = { answer: { ...found.answer, headers: { ...found.answer.headers, 'Idempotent-Replayed': 'true' } }, executed: false };
      } else {
        idempotency.begin(key);
        try {
          outcome = await run();
        } finally {
          const answer = outcome?.executed ? outcome.answer : null;
          idempotency.finish(key, answer ? { method: req.method, path: req.path, params, answer } : null);
        }
      }
    }
    if (outcome === null) return; // the server closed while the request was held

    if (fault?.kind === 'hang') {
      try {
        await sleep(fault.ms, undefined, { signal: closing });
      } catch {
        return; // the server is closing
      }
    }
    if (res.destroyed || res.socket?.destroyed) return; // the client gave up (held, hung): the answer is lost
    if (fault?.kind === 'drop') return drop(res);
    send(res, outcome.answer, recorded.requestId);

    async function run(): Promise<Outcome | null> {
      if (fault?.kind === 'hold') {
        fault.gate.arrive();
        const closed = new Promise<'closed'>((resolve) => closing.addEventListener('abort', () => resolve('closed'), { once: true }));
        if ((await Promise.race([fault.gate.released, closed])) === 'closed') return null;
      }
      const outcome = execute(route, fault, params, req.params as Record<string, string>, { id: recorded.requestId, idempotencyKey: key ?? null });
      if (fault?.kind === 'fail' && fault.when === 'after' && outcome.executed) {
        // The work is done, and the 500 is what Stripe keeps for the key: re-sends get it too.
        return { answer: errorAnswer(serverFailure(fault.status), { 'Stripe-Should-Retry': 'false' }), executed: true };
      }
      return outcome;
    }
  };

  function execute(route: Route, fault: Fault | undefined, params: Params, pathParams: Record<string, string>, request: { id: string; idempotencyKey: string | null }): Outcome {
    if (fault?.kind === 'decline') {
      const error = { type: 'card_error', code: fault.code, decline_code: fault.declineCode, message: fault.message };
      return { answer: { status: 402, body: JSON.stringify({ error }) }, executed: true };
    }
    events.request = request;
    try {
      const { status = 200, body } = route.handle(params, pathParams);
      return { answer: { status, body: JSON.stringify(body) }, executed: true };
    } catch (error) {
      if (!(error instanceof FakeStripeError)) throw error;
      return { answer: errorAnswer(error), executed: error.executed };
    } finally {
      events.request = null;
    }
  }
}

export function newRequestId(): string {
  return `req_${randomBytes(7).toString('hex')}`;
}

function errorAnswer(error: FakeStripeError, headers?: Record<string, string>): Answer {
  return { status: error.status, body: JSON.stringify({ error: error.body }), headers };
}

function send(res: Response, answer: Answer, requestId?: string): void {
  res.status(answer.status).set(answer.headers ?? {});
  if (requestId) res.set('Request-Id', requestId);
  res.type('application/json').send(answer.body);
}

/** No answer at all: the client sees the connection reset. */
function drop(res: Response): void {
  res.socket?.destroy();
}
