import { GraphQLScalarType } from 'graphql';
import { CurrencyResolver, DateTimeResolver, JSONResolver, SafeIntResolver, UUIDResolver } from 'graphql-scalars';

/**
 * The scalars of the API, all from graphql-scalars. Input is parsed and checked by graphql-scalars as
 * it is. Output values come from the database's own types (uuid, timestamptz, bigint bounded to
 * 2^53−1), so the ones already in their final form are answered as they are; graphql-scalars' checks
 * (a regular expression per UUID) ran for every value of every response. Anything else still goes
 * through graphql-scalars.
 */
function answeredAsIs(scalar: GraphQLScalarType, isFinal: (value: unknown) => boolean): GraphQLScalarType {
  const config = scalar.toConfig();
  const serialize = config.serialize!;
  return new GraphQLScalarType({ ...config, serialize: (value) => (isFinal(value) ? value : serialize(value)) });
}

// A 36-character string where a UUID is answered comes from a uuid column: Postgres's canonical text.
export const UUID = answeredAsIs(UUIDResolver, (value) => typeof value === 'string' && value.length === 36);
export const DateTime = answeredAsIs(DateTimeResolver, (value) => value instanceof Date && !Number.isNaN(value.getTime()));
export const SafeInt = answeredAsIs(SafeIntResolver, (value) => Number.isSafeInteger(value));
export const Currency = CurrencyResolver;
export const JSON = JSONResolver;
