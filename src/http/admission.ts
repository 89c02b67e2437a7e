import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RestErrorBody } from './rest-errors.js';

export type Admission = {
  readonly limit: number;
  inFlight(): number;
  /** Every slot taken: a new request would be refused (and /readyz says so). */
  saturated(): boolean;
  /** Express middleware, and also called as is on node:http's request and response (createHttpListener). */
  middleware(req: IncomingMessage, res: ServerResponse, next: () => void): void;
  /** Answers the refusal (503 SERVICE_UNAVAILABLE, Retry-After) without taking a slot. */
  refuse(res: ServerResponse): void;
};

/** Seconds a refused client is asked to wait: in-flight work turns over in milliseconds. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Bounded in-flight work per process. Past `limit`, a request is refused at once with 503
 * SERVICE_UNAVAILABLE and `Retry-After` instead of queueing for a pool connection until it times out:
 * the requests already admitted keep their latency, and a load balancer or client retries elsewhere.
 * Mounted after /healthz, /readyz and /metrics, which are never refused.
 */
export function createAdmission(limit: number): Admission {
  let inFlight = 0;
  // Written once: under overload most requests are refused, so refusing must cost next to nothing (no
  // error object, no trip through the error handlers), or it takes the CPU the admitted ones need.
  const refusal: RestErrorBody = {
    error: {
      code: 'SERVICE_UNAVAILABLE',
      message: `Too many requests in flight (${limit}); retry after ${RETRY_AFTER_SECONDS} s`,
      details: { retryAfterSeconds: RETRY_AFTER_SECONDS },
    },
  };
  const body = JSON.stringify(refusal);
  const headers = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'retry-after': String(RETRY_AFTER_SECONDS),
  };
  const refuse = (res: ServerResponse): void => {
    res.writeHead(503, headers).end(body);
  };
  return {
    limit,
    inFlight: () => inFlight,
    saturated: () => inFlight >= limit,
    refuse,
    middleware(_req, res, next) {
      if (inFlight >= limit) return refuse(res);
      inFlight += 1;
      // 'close' comes once: after the response is sent, or when the client goes away first.
      res.once('close', () => {
        inFlight -= 1;
      });
      next();
    },
  };
}
