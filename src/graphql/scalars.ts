import { CurrencyResolver, DateTimeResolver, JSONResolver, SafeIntResolver, UUIDResolver } from 'graphql-scalars';

/** The scalars of the API, all from graphql-scalars. */
export const UUID = UUIDResolver;
export const DateTime = DateTimeResolver;
export const SafeInt = SafeIntResolver;
export const Currency = CurrencyResolver;
export const JSON = JSONResolver;
