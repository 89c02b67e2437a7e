import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { isDomainError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * The one place errors become `extensions.code`. Domain errors keep their code and message;
 * Apollo's own request errors (parse, validation, bad variables) become BAD_USER_INPUT; anything
 * else is logged in full and shown as a bare INTERNAL_SERVER_ERROR.
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
    const original = unwrapResolverError(error);
    if (isDomainError(original)) {
      const code: ErrorCode = original.code;
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code, ...(original.details ? { details: original.details } : {}) },
      };
    }
    const apolloCode = formatted.extensions?.code;
    if (typeof apolloCode === 'string' && REQUEST_ERROR_CODES.has(apolloCode)) {
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code: 'BAD_USER_INPUT' } };
    }
    logger.error({ err: original, path: formatted.path }, 'unexpected error in GraphQL request');
    return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}
