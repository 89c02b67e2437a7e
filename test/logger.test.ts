import { DrizzleQueryError } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';

/** The logger's own guarantees, on the error shapes the service meets (test/http/log-secrets.test.ts runs a whole service). */
const SECRET = 'f3a1c0ffee0123456789abcdef0123456789abcdef0123456789abcdef012345';

function capture(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger('trace', { write: (line: string) => lines.push(line) }) };
}

/** A failed statement as Drizzle over postgres.js reports it: the parameters on both errors and in the message. */
function failedQuery(): DrizzleQueryError {
  const cause = Object.assign(new Error('duplicate key value violates unique constraint "api_tokens_hash_unique"'), {
    code: '23505',
    severity: 'ERROR',
    constraint_name: 'api_tokens_hash_unique',
    detail: `Key (token_hash)=(${SECRET}) already exists.`,
    where: `SQL statement with ${SECRET}`,
    query: 'insert into api_tokens (token_hash) values ($1)',
    parameters: [SECRET],
    args: [SECRET],
  });
  return new DrizzleQueryError('insert into api_tokens (token_hash) values ($1)', [SECRET, 'line one\nline "two"'], cause);
}

describe('createLogger', () => {
  it.each([
    ['under err', (logger: ReturnType<typeof createLogger>) => logger.error({ err: failedQuery() }, 'failed')],
    ['as the only argument', (logger: ReturnType<typeof createLogger>) => logger.error(failedQuery())],
    ['nested in another field', (logger: ReturnType<typeof createLogger>) => logger.warn({ context: { failure: failedQuery() } }, 'failed')],
    ['as a copied message', (logger: ReturnType<typeof createLogger>) => logger.info({ error: `unexpected error: ${failedQuery().message}` }, 'replay')],
  ])('drops the parameters of a failed statement logged %s, and keeps what explains it', (_label, log) => {
    const { lines, logger } = capture();
    log(logger);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(SECRET);
    expect(lines[0]).not.toContain('line one');
    expect(lines[0]).toContain('Failed query: insert into api_tokens (token_hash) values ($1)');
    expect(lines[0]).toContain('params: [redacted]');
  });

  it('keeps the Postgres facts of a cause: code, constraint, frames', () => {
    const { lines, logger } = capture();
    logger.error({ err: failedQuery() }, 'failed');
    const { err } = JSON.parse(lines[0]!) as { err: { type: string; stack: string; cause: Record<string, unknown> } };
    expect(err.type).toBe('DrizzleQueryError');
    expect(err.stack).toMatch(/\n\s+at /);
    expect(err.cause).toMatchObject({ code: '23505', severity: 'ERROR', constraint_name: 'api_tokens_hash_unique' });
    expect(err.cause).not.toHaveProperty('detail');
    expect(err.cause).not.toHaveProperty('parameters');
  });

  it('cuts the statements and values out of the embedded Postgres’s own output', () => {
    const { lines, logger } = capture();
    logger.debug(
      { postgres: `ERROR:  unsupported Unicode escape sequence\nDETAIL:  \\u0000 cannot be converted to text.\nCONTEXT:  JSON data, line 1: {"secret":"${SECRET}\nSTATEMENT:  insert into processor_events values ($1)` },
      'embedded postgres',
    );
    expect(lines[0]).not.toContain(SECRET);
    expect(lines[0]).toContain('ERROR:  unsupported Unicode escape sequence');
  });

  it('redacts secret-bearing keys', () => {
    const { lines, logger } = capture();
    logger.info({ token: SECRET, tokenHash: SECRET, payload: { data: SECRET }, body: SECRET, req: { headers: { authorization: SECRET } } }, 'request');
    expect(lines[0]).not.toContain(SECRET);
  });
});
