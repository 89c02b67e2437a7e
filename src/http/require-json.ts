import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

/**
 * POST bodies here are JSON in UTF-8 (RFC 8259) or nothing is done: any other Content-Type, or none,
 * is a 415 before any parser runs, so an unreadable body can never be taken for an empty one (for a
 * capture, "take all that remains"). Answered by the route's error handler (`unreadableRequest`).
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (req.method !== 'POST') return next();
  if (!isJson(req.get('content-type'))) return next(unsupported('content.type.unsupported', 'Content-Type must be application/json'));
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.get('content-type') ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return next(unsupported('charset.unsupported', `unsupported charset "${charset}"`));
  next();
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

/**
 * `jsonBody(limit)` for the common case, at a fraction of its cost (body-parser's content-type and
 * charset parsing, iconv-lite and raw-body were a twentieth of a small GraphQL query's CPU): a POST
 * with a Content-Length of 1 to `limitBytes`, no Content-Encoding (or identity) and no
 * Transfer-Encoding, already vouched UTF-8 JSON by `requireJsonBody`, is read here, with body-parser's
 * rules — a BOM dropped, only an object or an array at the top (strict), an early end
 * `request.aborted`, a wrong length `request.size.invalid`, bad JSON `entity.parse.failed`. Every
 * other request (empty, compressed, chunked, too large, GET) goes to `jsonBody(limit)` as before.
 */
export function fastJsonBody(limitBytes: number): RequestHandler {
  const fallback = jsonBody(String(limitBytes));
  return (req, res, next) => {
    const { headers } = req;
    const declared = headers['content-length'];
    const length = declared !== undefined && /^\d{1,9}$/.test(declared) ? Number(declared) : 0;
    const encoding = headers['content-encoding'];
    if (
      req.method !== 'POST' ||
      length === 0 ||
      length > limitBytes ||
      headers['transfer-encoding'] !== undefined ||
      (encoding !== undefined && encoding.toLowerCase() !== 'identity')
    ) {
      return fallback(req, res, next);
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (error: Error | null, body?: unknown) => {
      if (settled) return;
      settled = true;
      req.off('data', onData).off('end', onEnd).off('aborted', onAborted).off('close', onClose).off('error', onError);
      if (error) {
        req.resume();
        return next(error);
      }
      req.body = body;
      next();
    };
    const readError = (status: number, type: string, message: string) => Object.assign(new Error(message), { status, statusCode: status, expose: true, type });
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limitBytes) finish(readError(413, 'entity.too.large', 'request entity too large'));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      if (received !== length) return finish(readError(400, 'request.size.invalid', 'request size did not match content length'));
      let text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)).toString('utf8');
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      const first = /^[\x20\x09\x0a\x0d]*(.|$)/s.exec(text)?.[1];
      if (first !== '{' && first !== '[') return finish(readError(400, 'entity.parse.failed', 'the body is not a JSON object or array'));
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        return finish(Object.assign(error as Error, { status: 400, statusCode: 400, expose: true, type: 'entity.parse.failed' }));
      }
      finish(null, body);
    };
    const onAborted = () => finish(readError(400, 'request.aborted', 'request aborted'));
    const onClose = () => {
      if (!req.complete) onAborted();
    };
    const onError = (error: Error) => finish(error);
    req.on('data', onData).on('end', onEnd).on('aborted', onAborted).on('close', onClose).on('error', onError);
  };
}
