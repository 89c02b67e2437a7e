/** Stripe's error object, as the SDK reads it from `{ error: … }`. */
export type StripeErrorBody = {
  type: 'invalid_request_error' | 'card_error' | 'api_error' | 'idempotency_error';
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
};

/**
 * An error answer from the fake. `executed` says whether the endpoint had started its work: like Stripe,
 * only those answers are kept for an idempotency key; a request refused while its parameters were still
 * being checked can be sent again, corrected, with the same key.
 */
export class FakeStripeError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
    readonly executed = true,
  ) {
    super(body.message);
  }
}

export function resourceMissing(kind: string, id: string, param?: string): FakeStripeError {
  return new FakeStripeError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${kind}: '${id}'`, param });
}

export function invalidRequest(message: string, code?: string, param?: string): FakeStripeError {
  return new FakeStripeError(400, { type: 'invalid_request_error', message, code, param });
}

/** A parameter problem: found before the endpoint ran, so never stored under an idempotency key. */
export function invalidParameter(message: string, param: string, code = 'parameter_invalid'): FakeStripeError {
  return new FakeStripeError(400, { type: 'invalid_request_error', message, code, param }, false);
}
