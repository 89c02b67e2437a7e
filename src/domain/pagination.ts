import { DomainError } from '../errors.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

export type Page<T> = { nodes: T[]; hasNextPage: boolean };

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new DomainError('BAD_USER_INPUT', `first must be between 1 and ${MAX_PAGE_SIZE}`, { field: 'first' });
  }
  return first;
}

/** Opaque cursors: the row's id, tagged with what it points into so one list's cursor fails on another. */
export function encodeCursor(kind: string, id: string): string {
  return Buffer.from(`${kind}:${id}`).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function decodeCursor(kind: string, cursor: string | null | undefined): string | undefined {
  if (cursor === null || cursor === undefined) return undefined;
  const decoded = Buffer.from(cursor, 'base64url').toString();
  const [prefix, id] = decoded.split(':');
  if (prefix !== kind || !id || !UUID.test(id)) {
    throw new DomainError('BAD_USER_INPUT', 'Malformed cursor', { field: 'after' });
  }
  return id;
}

/** Turns `limit + 1` fetched rows into a page. */
export function toPage<T>(rows: T[], limit: number): Page<T> {
  return { nodes: rows.slice(0, limit), hasNextPage: rows.length > limit };
}
