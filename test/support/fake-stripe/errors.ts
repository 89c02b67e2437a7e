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

export function idempotencyKeyReused(key: string): FakeStripeError {
  return new FakeStripeError(
    400,
    {
      type: 'idempotency_error',
      message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
    },
    false,
  );
}

export function idempotencyKeyInUse(): FakeStripeError {
  return new FakeStripeError(
    409,
    {
      type: 'invalid_request_error',
      code: 'idempotency_key_in_use',
      message:
        'There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): please try again later.',
    },
    false,
  );
}

/** An outage on Stripe's side (or a 429): not the endpoint's answer, so nothing to keep for the key. */
export function serverFailure(status: number): FakeStripeError {
  if (status === 429) {
    return new FakeStripeError(429, { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests hit the API too quickly.' }, false);
  }
  return new FakeStripeError(status, { type: 'api_error', message: `Something went wrong on Stripe's end (fake ${status}).` }, false);
}
