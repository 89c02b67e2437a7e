import { pino, type Logger } from 'pino';

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
