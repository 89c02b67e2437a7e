import { isDeepStrictEqual } from 'node:util';
import type { FakeClock } from './clock.js';
import type { Params } from './params.js';

export type Answer = { status: number; body: string; headers?: Record<string, string> };
type Entry = { method: string; path: string; params: Params; answer: Answer; savedAt: number };

export type Lookup =
  | { kind: 'new' }
  /** A request with this key is still being executed. */
  | { kind: 'in_use' }
  /** The key belongs to another endpoint or other parameters. */
  | { kind: 'mismatch' }
  | { kind: 'replay'; answer: Answer };

/** Stripe prunes keys once they are at least 24 hours old. */
export const DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600;

/**
 * Stripe's idempotency: the first answer to a key is kept (errors included, 500s too, once the endpoint
 * started executing) and replayed to a request with the same key, endpoint and parameters; the same key
 * with anything else is refused; a key whose first request is still executing is refused as in use.
 * Keys are forgotten after their time to live on the fake's clock: a re-send after that is a new request.
 * Answers are kept as the JSON that was sent, so later changes to the objects do not leak in.
 */
export class IdempotencyStore {
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Set<string>();

  constructor(
    readonly clock: FakeClock,
    readonly ttlSeconds = DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS,
  ) {}

  lookup(key: string, method: string, path: string, params: Params): Lookup {
    if (this.#inFlight.has(key)) return { kind: 'in_use' };
    const entry = this.#entries.get(key);
    if (entry && this.clock.seconds() - entry.savedAt >= this.ttlSeconds) this.#entries.delete(key);
    else if (entry) {
      const same = entry.method === method && entry.path === path && isDeepStrictEqual(entry.params, params);
      return same ? { kind: 'replay', answer: entry.answer } : { kind: 'mismatch' };
    }
    return { kind: 'new' };
  }

  /** The key's first request starts executing: until `finish`, others with the key are refused. */
  begin(key: string): void {
    this.#inFlight.add(key);
  }

  /** Keeps the answer (when the endpoint ran) and releases the key. */
  finish(key: string, saved: { method: string; path: string; params: Params; answer: Answer } | null): void {
    this.#inFlight.delete(key);
    if (saved) this.#entries.set(key, { ...saved, params: structuredClone(saved.params), savedAt: this.clock.seconds() });
  }
}
