import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import { isDatabaseUnavailable, isUnstorableValue } from '../db/errors.js';
import { HTTP_STATUS, isDomainError, SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

export type RestErrorBody = { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };
export type RestError = { status: number; body: RestErrorBody; retryAfterSeconds?: number };

/** The REST twin of GraphQL's formatError: one code list, one status per code (src/errors.ts). */
export function restErrorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const { status, body, retryAfterSeconds } = toRestError(error, logger);
    if (retryAfterSeconds !== undefined) res.set('Retry-After', String(retryAfterSeconds));
    res.status(status).json(body);
  };
}

export function toRestError(error: unknown, logger: Logger): RestError {
  if (isDomainError(error)) {
    return {
      status: HTTP_STATUS[error.code],
      body: { error: { code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } },
    };
  }
  if (error instanceof ZodError) {
    const message = error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
    return { status: 400, body: { error: { code: 'BAD_USER_INPUT', message } } };
  }
  const unreadable = unreadableRequest(error);
  if (unreadable) return { status: unreadable.status, body: { error: { code: 'BAD_USER_INPUT', message: unreadable.message } } };
  if (isDatabaseUnavailable(error)) {
    logger.warn({ err: error }, 'database unavailable: REST request answered 503');
    return {
      status: 503,
      body: { error: { code: 'SERVICE_UNAVAILABLE', message: 'The database is unavailable; nothing was recorded. Retry later.' } },
      retryAfterSeconds: SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS,
    };
  }
  if (isUnstorableValue(error)) {
    return { status: 400, body: { error: { code: 'BAD_USER_INPUT', message: UNSTORABLE_MESSAGE } } };
  }
  logger.error({ err: error }, 'unexpected error in REST request');
  return { status: 500, body: { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' } } };
}

/** Postgres refused a value of the request (class 22), e.g. a NUL character in a string, before anything committed. */
export const UNSTORABLE_MESSAGE = 'A value in the request cannot be stored (for example a NUL character in a string)';

/**
 * A request that could not be read, refused by body-parser or the router before any route ran: the
 * client's fault, so a 4xx with a fixed message (body-parser's errors quote the body).
 */
export function unreadableRequest(error: unknown): { status: number; message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const http = error as Error & { type?: unknown; status?: unknown; expose?: unknown };
  if (typeof http.status !== 'number' || http.status < 400 || http.status > 499) return undefined;
  // body-parser's errors (http-errors) say `expose`; the router's undecodable path is a URIError.
  if (http.expose !== true && !(error instanceof URIError)) return undefined;
  if (error instanceof URIError) return { status: 400, message: 'The URL could not be decoded' };
  return { status: http.status, message: UNREADABLE_MESSAGES[String(http.type)] ?? 'The request body could not be read or decoded' };
}

const UNREADABLE_MESSAGES: Record<string, string> = {
  'entity.too.large': 'Request body too large',
  'entity.parse.failed': 'Request body is not valid JSON',
  'entity.empty': 'Request body is empty: send a JSON object ({} for the defaults)',
  'encoding.unsupported': 'Unsupported Content-Encoding (gzip, deflate, br or identity)',
  'charset.unsupported': 'Unsupported charset: send UTF-8',
  'request.aborted': 'The request was aborted before its body arrived',
  'request.size.invalid': 'The body is not as long as its Content-Length says',
  'content.type.unsupported': 'Unsupported Content-Type: send application/json',
};
