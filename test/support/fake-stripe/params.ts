import { invalidParameter } from './errors.js';
import type { Metadata } from './objects.js';

/** A request's parameters as express's `qs` parser leaves them: strings, nested objects and arrays. */
export type Params = Record<string, unknown>;

/** Like Stripe, a parameter the endpoint does not know is an error rather than silently ignored. */
export function assertKnownParams(params: Params, known: readonly string[]): void {
  for (const name of Object.keys(params)) {
    if (!known.includes(name)) throw invalidParameter(`Received unknown parameter: ${name}`, name, 'parameter_unknown');
  }
}

export function stringParam(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidParameter(`Invalid string: ${name}`, name, 'parameter_invalid_string');
  return value;
}

export function integerParam(params: Params, name: string): number | undefined {
  const value = stringParam(params, name);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(parsed)) {
    throw invalidParameter(`Invalid integer: ${value}`, name, 'parameter_invalid_integer');
  }
  return parsed;
}

export function booleanParam(params: Params, name: string): boolean | undefined {
  const value = stringParam(params, name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw invalidParameter(`Invalid boolean: ${value}`, name);
  return value === 'true';
}

export function metadataParam(params: Params): Metadata {
  const value = params.metadata;
  if (value === undefined || value === '') return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidParameter('Invalid metadata', 'metadata');
  return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, String(entry)]));
}

/** `expand[0]=a&expand[1]=b`; qs turns long arrays into objects keyed by index, hence `Object.values`. */
export function expandParam(params: Params): string[] {
  const value = params.expand;
  if (value === undefined) return [];
  const paths = typeof value === 'object' && value !== null ? Object.values(value) : [value];
  if (!paths.every((path): path is string => typeof path === 'string')) throw invalidParameter('Invalid expand', 'expand');
  return paths;
}
