import type { NextFunction, Request, Response } from 'express';
import { ZodError } from 'zod';
import { HTTP_STATUS, isDomainError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

export type RestErrorBody = { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

/** The REST twin of GraphQL's formatError: one code list, one status per code (src/errors.ts). */
export function restErrorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction): void => {
    const { status, body } = toRestError(error, logger);
    res.status(status).json(body);
  };
}

export function toRestError(error: unknown, logger: Logger): { status: number; body: RestErrorBody } {
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
  // body-parser: malformed JSON (400) or a body over the limit (413).
  const httpError = error as { type?: string; status?: number };
  if (httpError?.type === 'entity.too.large') {
    return { status: 413, body: { error: { code: 'BAD_USER_INPUT', message: 'Request body too large' } } };
  }
  if (httpError?.type === 'entity.parse.failed') {
    return { status: 400, body: { error: { code: 'BAD_USER_INPUT', message: 'Request body is not valid JSON' } } };
  }
  logger.error({ err: error }, 'unexpected error in REST request');
  return { status: 500, body: { error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' } } };
}
