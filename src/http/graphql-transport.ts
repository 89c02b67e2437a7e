import { HeaderMap, type ApolloServer, type HTTPGraphQLRequest } from '@apollo/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { isDatabaseUnavailable } from '../db/errors.js';
import { bearerToken } from '../domain/auth/tokens.js';
import { viewerCacheFor } from '../domain/auth/viewer-cache.js';
import type { Deps } from '../domain/deps.js';
import { SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../errors.js';
import { createContext, type GraphQLContext } from '../graphql/context.js';
import type { Logger } from '../logger.js';
import { jsonBody, jsonBodyRefusal } from './require-json.js';
import { toRestError } from './rest-errors.js';
import { writeJson } from './write-json.js';

export const GRAPHQL_PATH = '/graphql';

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;
type BodyReader = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * Every request for /graphql that Apollo answers: a POST's Content-Type checked (JSON in UTF-8 or a
 * 415) and its body read, then handed to Apollo through its own integration API
 * (`executeHTTPGraphQLRequest`) and its answer written as is. A plain node:http handler, so that the
 * server can hand it `POST /graphql` before Express routes anything (`createHttpListener`,
 * src/http/app.ts); Express serves every other method and spelling of the path with the same handler.
 */
export function graphqlHandler(deps: Deps, apollo: ApolloServer<GraphQLContext>): NodeHandler {
  const readJson = jsonBody('1mb') as unknown as BodyReader;
  const context = graphqlContext(deps);
  const refuse = (error: unknown, res: ServerResponse) => answerRefusal(res, error, deps.logger);
  return (req, res) => {
    const refusal = req.method === 'POST' ? jsonBodyRefusal(req.headers['content-type']) : undefined;
    if (refusal) return refuse(refusal, res);
    readJson(req, res, (error) => {
      if (error) return refuse(error, res);
      execute(apollo, context, req, res).catch((failure: unknown) => refuse(failure, res));
    });
  };
}

async function execute(
  apollo: ApolloServer<GraphQLContext>,
  context: (req: IncomingMessage) => Promise<GraphQLContext>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  const url = req.url ?? '';
  const query = url.indexOf('?');
  const request: HTTPGraphQLRequest = {
    method: (req.method ?? 'GET').toUpperCase(),
    headers,
    search: query === -1 ? '' : url.slice(query),
    body: (req as IncomingMessage & { body?: unknown }).body,
  };
  const answer = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest: request, context: () => context(req) });
  for (const [key, value] of answer.headers) res.setHeader(key, value);
  res.statusCode = answer.status ?? 200;
  if (answer.body.kind === 'complete') {
    res.setHeader('content-length', Buffer.byteLength(answer.body.string));
    res.end(answer.body.string);
    return;
  }
  for await (const chunk of answer.body.asyncIterator) res.write(chunk);
  res.end();
}

/**
 * The GraphQL context of a request: its viewer, from the bearer token. When the database cannot be
 * asked, the whole request is a 503 (Apollo would make it a 500): the status rides on the error's
 * `extensions.http`, and formatError gives it the code SERVICE_UNAVAILABLE.
 */
export function graphqlContext(deps: Deps): (req: IncomingMessage) => Promise<GraphQLContext> {
  const viewers = viewerCacheFor(deps.db, deps.config.authCacheTtlMs);
  return async (req) => {
    const token = bearerToken(req.headers.authorization);
    try {
      const viewer = token ? await viewers.authenticate(deps.db, token) : null;
      return createContext(deps, viewer);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      throw new GraphQLError('The database is unavailable; retry later', {
        originalError: error as Error,
        extensions: { http: { status: 503, headers: new HeaderMap([['retry-after', String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS)]]) } },
      });
    }
  };
}

/**
 * A request refused before Apollo reads it (a wrong Content-Type, an unreadable or oversized body), or
 * one Apollo could not answer, as GraphQL clients expect it: `{ errors: [{ message, extensions: { code } }] }`.
 * An answer already under way (a streamed one) can only be cut off.
 */
function answerRefusal(res: ServerResponse, error: unknown, logger: Logger): void {
  const { status, body, retryAfterSeconds } = toRestError(error, logger);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = retryAfterSeconds !== undefined ? { 'retry-after': String(retryAfterSeconds) } : {};
  writeJson(res, status, { errors: [{ message: body.error.message, extensions: { code: body.error.code } }] }, headers);
}
