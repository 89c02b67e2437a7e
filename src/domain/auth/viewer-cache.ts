import type { DbOrTx } from '../../db/client.js';
import { authenticateTokenWithExpiry, hashToken } from './tokens.js';
import type { Viewer } from './viewer.js';

/**
 * The viewer behind a bearer token, remembered for `ttlMs` so that a busy client does not cost a token
 * read on every request. Only tokens that authenticate are remembered (a token just created in another
 * process works at once), never past their own expiry. A token revoked through this process's pool is
 * forgotten at once; one revoked elsewhere (the CLI, another process sharing the database) stops
 * authenticating here within `ttlMs` — which is why the TTL is short (AUTH_CACHE_TTL_MS, 1 s; 0: off).
 */
type Entry = { viewer: Promise<Viewer | null>; until: number; tokenId?: string };

/** Enough for every token a deployment has; past it the oldest entries are dropped. */
const MAX_ENTRIES = 10_000;

export class ViewerCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async authenticate(db: DbOrTx, token: string): Promise<Viewer | null> {
    if (this.ttlMs <= 0) return (await authenticateTokenWithExpiry(db, token))?.viewer ?? null;
    const key = hashToken(token);
    const now = this.now();
    const cached = this.entries.get(key);
    if (cached && cached.until > now) return cached.viewer;
    if (cached) this.entries.delete(key);

    // Concurrent requests with one token share one read.
    const entry: Entry = { viewer: Promise.resolve(null), until: now + this.ttlMs };
    const forgetEntry = () => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    };
    entry.viewer = authenticateTokenWithExpiry(db, token).then(
      (found) => {
        if (!found) forgetEntry();
        else {
          entry.tokenId = found.viewer.tokenId;
          if (found.expiresAt) entry.until = Math.min(entry.until, found.expiresAt.getTime());
        }
        return found?.viewer ?? null;
      },
      (error: unknown) => {
        forgetEntry();
        throw error;
      },
    );
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, entry);
    return entry.viewer;
  }

  /**
   * After a revocation: the token's next request reads the database again. Reads still in flight are
   * dropped as well (they may have started before the revocation committed).
   */
  forget(tokenId: string): void {
    for (const [key, entry] of this.entries) {
      if (entry.tokenId === undefined || entry.tokenId === tokenId) this.entries.delete(key);
    }
  }
}

/** One cache per database pool, so that two services in one process (tests) never share entries. */
const caches = new WeakMap<object, ViewerCache>();

export function viewerCacheFor(db: DbOrTx, ttlMs: number): ViewerCache {
  let cache = caches.get(db);
  if (!cache) {
    cache = new ViewerCache(ttlMs);
    caches.set(db, cache);
  }
  return cache;
}

export function forgetCachedToken(db: DbOrTx, tokenId: string): void {
  caches.get(db)?.forget(tokenId);
}
