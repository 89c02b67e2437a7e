import type { NextFunction, Request, Response } from 'express';
import { DomainError } from '../errors.js';

export type Admission = {
  readonly limit: number;
  inFlight(): number;
  /** Every slot taken: a new request would be refused (and /readyz says so). */
  saturated(): boolean;
  middleware(req: Request, res: Response, next: NextFunction): void;
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
  return {
    limit,
    inFlight: () => inFlight,
    saturated: () => inFlight >= limit,
    middleware(_req, res, next) {
      if (inFlight >= limit) {
        res.set('Retry-After', String(RETRY_AFTER_SECONDS));
        return next(new DomainError('SERVICE_UNAVAILABLE', `Too many requests in flight (${limit}); retry after ${RETRY_AFTER_SECONDS} s`, { retryAfterSeconds: RETRY_AFTER_SECONDS }));
      }
      inFlight += 1;
      // 'close' comes once: after the response is sent, or when the client goes away first.
      res.once('close', () => {
        inFlight -= 1;
      });
      next();
    },
  };
}
