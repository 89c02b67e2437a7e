import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isDatabaseUnavailable, isUnstorableValue } from '../db/errors.js';
import { isDomainError, SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * The one place errors become `extensions.code`. Domain errors keep their code and message;
 * Apollo's own request errors (parse, validation, bad variables) become BAD_USER_INPUT; a database
 * that cannot serve is SERVICE_UNAVAILABLE; a value Postgres refuses (a NUL character) is
 * BAD_USER_INPUT; anything else is logged in full and shown as a bare INTERNAL_SERVER_ERROR.
 */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

export function createFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = rootCause(error);
    const where = { locations: formatted.locations, path: formatted.path };
    if (isDomainError(original)) {
      const code: ErrorCode = original.code;
      return {
        message: original.message,
        ...where,
        extensions: { code, ...(original.details ? { details: original.details } : {}) },
      };
    }
    if (isDatabaseUnavailable(original)) {
      logger.warn({ err: original, path: formatted.path }, 'database unavailable: GraphQL request answered 503');
      return { message: 'The database is unavailable; nothing was recorded. Retry later.', ...where, extensions: { code: 'SERVICE_UNAVAILABLE' } };
    }
    if (isUnstorableValue(original)) {
      return { message: 'A value in the request cannot be stored (for example a NUL character in a string)', ...where, extensions: { code: 'BAD_USER_INPUT' } };
    }
    const apolloCode = formatted.extensions?.code;
    if (typeof apolloCode === 'string' && REQUEST_ERROR_CODES.has(apolloCode)) {
      return { message: formatted.message, ...where, extensions: { code: 'BAD_USER_INPUT' } };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in GraphQL request');
    return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

/** The error behind Apollo's wrappers: a resolver's, or the one a GraphQLError was made from (context creation). */
function rootCause(error: unknown): unknown {
  const unwrapped = unwrapResolverError(error);
  return unwrapped instanceof GraphQLError && unwrapped.originalError ? unwrapped.originalError : unwrapped;
}

/**
 * GraphQL answers 200 for errors raised while executing; but when the database was unavailable the
 * request did not happen, and a 503 with `Retry-After` tells clients and load balancers to try again.
 */
export function serviceUnavailableStatus(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          if (!errors?.some((error) => error.extensions?.code === 'SERVICE_UNAVAILABLE')) return;
          response.http.status = 503;
          response.http.headers.set('retry-after', String(SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS));
        },
      };
    },
  };
}
