import { createHash } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { prepared } from '../../db/prepared.js';
import type { Tx } from '../../db/client.js';
import { paymentAttempts, type PaymentAttempt } from '../../db/schema/index.js';
import { DomainError } from '../../errors.js';
import { declinedError } from './attempt-result.js';

/**
 * Idempotency keys as Stripe scopes them: per workspace (Stripe: per account), across invoices and
 * kinds. A key is kept as long as its payment attempt, which is for ever: the same key with another
 * invoice, kind, amount, reason or note is refused at any time, not only within Stripe's 24 hours.
 */

const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Stripe-like keys: any printable string up to 255 characters; a fresh one when the caller gives none. */
export function parseIdempotencyKey(key: string | null | undefined): string | undefined {
  if (key === null || key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || /[^\x20-\x7e]/.test(key)) {
    throw new DomainError('BAD_USER_INPUT', `idempotencyKey must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} printable characters`, {
      field: 'idempotencyKey',
    });
  }
  return key;
}

/** The request as the idempotency check compares it: the same key with another request is refused. */
export function hashRequest(request: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.keys(request).sort().map((key) => [key, request[key] ?? null]));
  return createHash('sha256').update(canonical).digest('hex');
}

export async function findAttemptByKey(tx: Tx, workspaceId: string, idempotencyKey: string): Promise<PaymentAttempt | undefined> {
  const [attempt] = await attemptByKey(tx, { workspaceId, idempotencyKey });
  return attempt;
}

const attemptByKey = prepared('attempt_by_key', (db) =>
  db
    .select()
    .from(paymentAttempts)
    .where(and(eq(paymentAttempts.workspaceId, sql.placeholder('workspaceId')), eq(paymentAttempts.idempotencyKey, sql.placeholder('idempotencyKey'))))
    .for('update'),
);

/**
 * What repeating a request with a known key answers, as Stripe does: the first result, errors
 * included. An attempt whose first answer was lost is settled by asking the processor.
 */
export function replayedOutcome(attempt: PaymentAttempt, requestHash: string): 'result' | 'settle' {
  if (attempt.requestHash !== requestHash) {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used for a different request in this workspace');
  }
  switch (attempt.status) {
    case 'SUCCEEDED':
      return 'result';
    case 'FAILED':
      throw declinedError(attempt);
    case 'PENDING':
      throw keyInUse(attempt.id);
    case 'UNKNOWN':
      return 'settle';
  }
}

export const keyInUse = (attemptId?: string) =>
  new DomainError('IDEMPOTENCY_KEY_IN_USE', 'A request with this idempotency key is still in progress; retry shortly', attemptId ? { attemptId } : undefined);
