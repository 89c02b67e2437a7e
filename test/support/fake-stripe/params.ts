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

/** Stripe's documented metadata limits: 50 keys, keys up to 40 characters, values up to 500. */
const METADATA_LIMITS = { keys: 50, keyLength: 40, valueLength: 500 } as const;

/** `metadata[key]=value`; an empty value means "unset this key" when merged into an object's metadata. */
export function metadataParam(params: Params): Metadata {
  const value = params.metadata;
  if (value === undefined || value === '') return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidParameter('Invalid metadata', 'metadata');
  const entries = Object.entries(value).map(([key, entry]) => [key, String(entry)] as const);
  for (const [key, entry] of entries) {
    if (key.length > METADATA_LIMITS.keyLength) {
      throw invalidParameter(`Metadata keys can have up to ${METADATA_LIMITS.keyLength} characters; "${key}" has ${key.length}.`, `metadata[${key}]`);
    }
    if (entry.length > METADATA_LIMITS.valueLength) {
      throw invalidParameter(`Metadata values can have up to ${METADATA_LIMITS.valueLength} characters.`, `metadata[${key}]`);
    }
  }
  if (entries.length > METADATA_LIMITS.keys) throw invalidParameter(`Metadata can have up to ${METADATA_LIMITS.keys} keys.`, 'metadata');
  return Object.fromEntries(entries);
}

/** Stripe merges metadata on update: new keys are added, existing ones replaced, empty values remove a key. */
export function mergeMetadata(target: Metadata, update: Metadata): void {
  for (const [key, value] of Object.entries(update)) {
    if (value === '') delete target[key];
    else target[key] = value;
  }
  if (Object.keys(target).length > METADATA_LIMITS.keys) throw invalidParameter(`Metadata can have up to ${METADATA_LIMITS.keys} keys.`, 'metadata');
}

/** What `created` (or `created[gte]`, `[gt]`, `[lte]`, `[lt]`) lets through, as a predicate on Unix seconds. */
export function createdParam(params: Params): (created: number) => boolean {
  const value = params.created;
  if (value === undefined) return () => true;
  const bound = (raw: unknown, name: string) => {
    if (typeof raw !== 'string' || !/^\d+$/.test(raw)) throw invalidParameter(`Invalid integer: ${String(raw)}`, name, 'parameter_invalid_integer');
    return Number(raw);
  };
  if (typeof value === 'string') {
    const exact = bound(value, 'created');
    return (created) => created === exact;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidParameter('Invalid created', 'created');
  const range = value as Record<string, unknown>;
  for (const name of Object.keys(range)) {
    if (!['gt', 'gte', 'lt', 'lte'].includes(name)) throw invalidParameter(`Received unknown parameter: created[${name}]`, `created[${name}]`, 'parameter_unknown');
  }
  const gt = range.gt === undefined ? undefined : bound(range.gt, 'created[gt]');
  const gte = range.gte === undefined ? undefined : bound(range.gte, 'created[gte]');
  const lt = range.lt === undefined ? undefined : bound(range.lt, 'created[lt]');
  const lte = range.lte === undefined ? undefined : bound(range.lte, 'created[lte]');
  return (created) =>
    (gt === undefined || created > gt) &&
    (gte === undefined || created >= gte) &&
    (lt === undefined || created < lt) &&
    (lte === undefined || created <= lte);
}

/** `expand[0]=a&expand[1]=b`; qs turns long arrays into objects keyed by index, hence `Object.values`. */
export function expandParam(params: Params): string[] {
  const value = params.expand;
  if (value === undefined) return [];
  const paths = typeof value === 'object' && value !== null ? Object.values(value) : [value];
  if (!paths.every((path): path is string => typeof path === 'string')) throw invalidParameter('Invalid expand', 'expand');
  return paths;
}
