import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * Structured JSON logs that keep secrets. Three layers, because the dangerous values arrive by
 * different roads:
 * - errors (`err`, `error`) are rebuilt from a list of safe fields: postgres.js and Drizzle errors
 *   carry the statement's parameters (token hashes, webhook payloads) in `parameters`/`params` and in
 *   Drizzle's message ("Failed query: … params: …"), Postgres's `detail`/`where` quote the values it
 *   refused, body-parser's errors carry the body;
 * - errors nested anywhere else in a line are rebuilt the same way;
 * - the written line is scrubbed of Drizzle's "params:" tail, wherever its message was copied to
 *   (`msg`, a stored `last_replay_error` logged as a string…);
 * - known secret-bearing keys are redacted by path.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'billing-ledger' },
      serializers: { err: safeError, error: safeError },
      formatters: { log: scrubLine },
      hooks: { streamWrite: scrubWritten },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["stripe-signature"]',
          'headers.authorization',
          'headers["stripe-signature"]',
          'authorization',
          'token',
          '*.token',
          'tokenHash',
          '*.tokenHash',
          'secret',
          '*.secret',
          'password',
          '*.password',
          'databaseUrl',
          'payload',
          'payloadRaw',
          'rawBody',
          'body',
          '*.body',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** What an error may say in a log line: where it came from and why, never the values involved. */
const SAFE_ERROR_FIELDS = [
  'code',
  'severity',
  'routine',
  'schema_name',
  'table_name',
  'column_name',
  'constraint_name',
  'errno',
  'syscall',
  'address',
  'port',
  'status',
  'statusCode',
] as const;

const MAX_CAUSES = 5;

export type SafeError = { type: string; message: string; stack?: string; cause?: SafeError; details?: unknown; [field: string]: unknown };

export function safeError(value: unknown, depth = 0): unknown {
  if (!(value instanceof Error)) return typeof value === 'string' ? scrubText(value) : value;
  const safe: SafeError = { type: value.constructor?.name || value.name, message: scrubText(value.message) };
  for (const field of SAFE_ERROR_FIELDS) {
    const fieldValue = (value as unknown as Record<string, unknown>)[field];
    if (typeof fieldValue === 'string' || typeof fieldValue === 'number') safe[field] = fieldValue;
  }
  // A DomainError's details are safe by contract (src/errors.ts).
  if (value.name === 'DomainError' && 'details' in value) safe.details = value.details;
  if (value.stack) safe.stack = safeStack(value, safe.message);
  if (value.cause !== undefined && depth < MAX_CAUSES) safe.cause = safeError(value.cause, depth + 1) as SafeError;
  if (value instanceof AggregateError && depth < MAX_CAUSES) safe.errors = value.errors.slice(0, 10).map((inner) => safeError(inner, depth + 1));
  return safe;
}

/** The stack's frames under a scrubbed header: V8 puts the whole message, parameters included, on top. */
function safeStack(error: Error, message: string): string {
  const stack = error.stack!;
  const header = `${error.name}: ${error.message}`;
  const frames = stack.startsWith(header)
    ? stack.slice(header.length)
    : stack
        .split('\n')
        .filter((line) => /^\s+at /.test(line))
        .map((line) => `\n${line}`)
        .join('');
  return `${error.name}: ${message}${frames}`;
}

/** Drizzle's DrizzleQueryError message: "Failed query: <sql>\nparams: <every parameter>". */
const DRIZZLE_PARAMS = /\nparams: [\s\S]*$/;
/** Lines of Postgres's own log (the embedded server's output) that quote statements and values. */
const POSTGRES_LOG_QUOTES = /^(.*\b(?:DETAIL|CONTEXT|STATEMENT|QUERY):).*$/gm;

function scrubText(text: string): string {
  return text.replace(DRIZZLE_PARAMS, '\nparams: [redacted]');
}

/**
 * The same tail inside a JSON-encoded line, unless already redacted (a stack rebuilt by safeError keeps
 * its frames after it): a newline is `\n` there, and the string ends at an unescaped quote.
 */
const DRIZZLE_PARAMS_IN_JSON = /\\nparams: (?!\[redacted\])(?:[^"\\]|\\.)*/g;

function scrubWritten(line: string): string {
  return line.replace(DRIZZLE_PARAMS_IN_JSON, '\\nparams: [redacted]');
}

function scrubLine(object: Record<string, unknown>): Record<string, unknown> {
  const scrubbed = scrubValue(object, 0) as Record<string, unknown>;
  // The embedded Postgres's output, logged at debug under `postgres` (src/service.ts).
  if (typeof scrubbed.postgres === 'string') scrubbed.postgres = scrubbed.postgres.replace(POSTGRES_LOG_QUOTES, '$1 [redacted]');
  return scrubbed;
}

/** Errors anywhere in a line are rebuilt by safeError (JSON would show every enumerable field: Drizzle's `params`). */
function scrubValue(value: unknown, depth: number): unknown {
  if (value instanceof Error) return safeError(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrubValue(item, depth + 1)]));
}

/**
 * Readable lines for a person at a terminal (pino's own pretty printer, synchronous, every field kept);
 * JSON lines for everything else: files, pipes, log collectors.
 */
export function logDestination(format: 'auto' | 'json' | 'pretty', development: boolean, isTerminal: boolean): pino.DestinationStream | undefined {
  const readable = format === 'pretty' || (format === 'auto' && development && isTerminal);
  return readable ? pretty({ sync: true, colorize: isTerminal, translateTime: 'SYS:standard' }) : undefined;
}
