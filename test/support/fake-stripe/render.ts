import { invalidParameter } from './errors.js';
import type { FakeStripeObject } from './objects.js';
import type { FakeStripeState } from './state.js';

type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A snapshot of a stored object as Stripe would answer it, with `expand` paths applied (`latest_charge`,
 * `latest_charge.balance_transaction`, and on lists `data.refunds`…). Like Stripe, expanding a field
 * that holds no id is refused, so a typo in the gateway fails loudly.
 */
export function renderObject(state: FakeStripeState, object: FakeStripeObject, expand: readonly string[]): Json {
  const snapshot = structuredClone(object) as Json;
  for (const path of expand) expandPath(state, snapshot, path.split('.'));
  return snapshot;
}

/** Stripe's list envelope, newest first, paged by `limit` (default 10, at most 100) and `starting_after`. */
export function renderList(
  state: FakeStripeState,
  url: string,
  items: readonly FakeStripeObject[],
  page: { limit?: number; startingAfter?: string; expand: readonly string[] },
): Json {
  const limit = page.limit ?? 10;
  if (limit < 1 || limit > 100) throw invalidParameter('Limit must be between 1 and 100.', 'limit');
  const newestFirst = [...items].reverse();
  const start = page.startingAfter === undefined ? 0 : newestFirst.findIndex((item) => item.id === page.startingAfter) + 1;
  if (start === 0 && page.startingAfter !== undefined) {
    throw invalidParameter(`No such object: '${page.startingAfter}'`, 'starting_after', 'resource_missing');
  }
  const data = newestFirst.slice(start, start + limit);
  const list: Json = { object: 'list', url, has_more: start + limit < newestFirst.length, data: data.map((item) => structuredClone(item)) };
  for (const path of page.expand) expandPath(state, list, path.split('.'));
  return list;
}

function expandPath(state: FakeStripeState, value: Json, segments: string[]): void {
  const [field, ...rest] = segments;
  if (field === undefined) return;
  if (value.object === 'list' && field === 'data') {
    for (const item of value.data as Json[]) expandPath(state, item, rest);
    return;
  }
  const current = value[field];
  if (typeof current === 'string' && state.find(current)) {
    value[field] = structuredClone(state.find(current));
  } else if (current === undefined && field === 'refunds' && value.object === 'charge') {
    // Since 2022 a charge lists its refunds only when asked to.
    value[field] = renderList(state, `/v1/charges/${String(value.id)}/refunds`, state.refundsOf({ chargeId: String(value.id) }), {
      limit: 100,
      expand: [],
    });
  } else if (current !== null && !isRecord(current)) {
    throw invalidParameter(`This property cannot be expanded (${field}).`, 'expand', 'parameter_invalid');
  }
  if (isRecord(value[field])) expandPath(state, value[field] as Json, rest);
}
