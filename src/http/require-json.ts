import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

/**
 * POST bodies here are JSON in UTF-8 (RFC 8259) or nothing is done: any other Content-Type, or none,
 * is a 415 before any parser runs, so an unreadable body can never be taken for an empty one (for a
 * capture, "take all that remains"). Answered by the route's error handler (`unreadableRequest`).
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (req.method !== 'POST') return next();
  next(jsonBodyRefusal(req.headers['content-type']));
}

/** requireJsonBody's check of a POST's Content-Type on its own (no Express needed): the 415 to answer, if any. */
export function jsonBodyRefusal(contentType: string | undefined): Error | undefined {
  if (!isJson(contentType)) return unsupported('content.type.unsupported', 'Content-Type must be application/json');
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return unsupported('charset.unsupported', `unsupported charset "${charset}"`);
  return undefined;
}

/** `application/json`, with or without parameters; no `+json` or wildcard look-alikes. */
const isJson = (contentType: string | undefined): boolean => /^\s*application\/json\s*(;|$)/i.test(contentType ?? '');

const unsupported = (type: string, message: string) => Object.assign(new Error(message), { status: 415, expose: true, type });

/**
 * express.json, but an empty body is refused (400) rather than read as `{}`: for a capture, an empty
 * body would otherwise mean "take all that remains".
 */
export function jsonBody(limit: string): RequestHandler {
  return express.json({
    limit,
    verify: (_req, _res, body) => {
      if (body.length === 0) throw Object.assign(new Error('empty body'), { status: 400, expose: true, type: 'entity.empty' });
    },
  });
}
