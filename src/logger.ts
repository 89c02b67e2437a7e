import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** Structured logs; anything that looks like a secret is redacted before it is written. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'billing-ledger' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers["stripe-signature"]',
          'headers.authorization',
          '*.token',
          '*.secret',
          '*.password',
          'databaseUrl',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * Readable lines for a person at a terminal (pino's own pretty printer, synchronous, every field kept);
 * JSON lines for everything else: files, pipes, log collectors.
 */
export function logDestination(format: 'auto' | 'json' | 'pretty', development: boolean, isTerminal: boolean): pino.DestinationStream | undefined {
  const readable = format === 'pretty' || (format === 'auto' && development && isTerminal);
  return readable ? pretty({ sync: true, colorize: isTerminal, translateTime: 'SYS:standard' }) : undefined;
}
