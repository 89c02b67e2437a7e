import { isDeepStrictEqual } from 'node:util';
import type { Params } from './params.js';

type Answer = { status: number; body: string };
type Entry = { method: string; path: string; params: Params; answer: Answer };

/**
 * Stripe's idempotency: the first answer to a key is kept (errors included, once the endpoint ran) and
 * replayed to a request with the same key, endpoint and parameters; the same key with anything else is
 * refused. Answers are kept as the JSON that was sent, so later changes to the objects do not leak in.
 */
export class IdempotencyStore {
  readonly #entries = new Map<string, Entry>();

  /** `undefined` for a new key, `'mismatch'` when the key belongs to another request, else the answer. */
  lookup(key: string, method: string, path: string, params: Params): Answer | 'mismatch' | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    const same = entry.method === method && entry.path === path && isDeepStrictEqual(entry.params, params);
    return same ? entry.answer : 'mismatch';
  }

  save(key: string, method: string, path: string, params: Params, answer: Answer): void {
    this.#entries.set(key, { method, path, params: structuredClone(params), answer });
  }
}
