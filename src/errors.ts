/**
 * One error type for every business failure, one list of codes.
 * GraphQL shows `code` as `extensions.code`; REST answers with `HTTP_STATUS[code]`.
 * `docs/error-codes.md` documents each; a test checks that the two lists agree.
 */
export const HTTP_STATUS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  ROLLOUT_BLOCKED: 403,
  AMOUNT_EXCEEDS_BALANCE: 422,
  INVOICE_NOT_CAPTURABLE: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  IDEMPOTENCY_KEY_IN_USE: 409,
  REPLAY_LIMIT_REACHED: 409,
  GATEWAY_DECLINED: 402,
  GATEWAY_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
} as const;

export type ErrorCode = keyof typeof HTTP_STATUS;

/** The `Retry-After` (seconds) sent with SERVICE_UNAVAILABLE, by REST and GraphQL alike. */
export const SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
export const ERROR_CODES = Object.keys(HTTP_STATUS) as ErrorCode[];

export class DomainError extends Error {
  override name = 'DomainError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Safe, structured facts for the caller (never secrets), e.g. `{ remaining: 500 }`. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

export const isDomainError = (error: unknown): error is DomainError => error instanceof DomainError;
