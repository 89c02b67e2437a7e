import { resourceMissing } from './errors.js';
import type { FakeStripeObject } from './objects.js';
import {
  assertKnownParams,
  booleanParam,
  createdParam,
  expandParam,
  integerParam,
  metadataParam,
  stringParam,
  type Params,
} from './params.js';
import { renderList, renderObject } from './render.js';
import type { FakeStripeState } from './state.js';

export type Route = {
  method: 'GET' | 'POST';
  /** An express path pattern. */
  path: string;
  handle: (params: Params, pathParams: Record<string, string>) => { status?: number; body: unknown };
};

const LIST_PARAMS = ['limit', 'starting_after', 'expand', 'created'];

/** The Stripe endpoints the gateway uses (and reconciliation and webhook tests will), over one state. */
export function fakeStripeRoutes(state: FakeStripeState): Route[] {
  const retrieve = (kind: string, found: (id: string) => FakeStripeObject | undefined) => (params: Params, path: Record<string, string>) => {
    assertKnownParams(params, ['expand']);
    const object = found(path.id!);
    if (!object) throw resourceMissing(kind, path.id!, 'id');
    return { body: renderObject(state, object, expandParam(params)) };
  };
  /** Every list answers newest first, paged, and filtered by `created` like Stripe's. */
  const list = (url: string, params: Params, all: readonly (FakeStripeObject & { created: number })[]) => {
    const created = createdParam(params);
    const items = all.filter((item) => created(item.created));
    return {
      body: renderList(state, url, items, {
      limit: integerParam(params, 'limit'),
      startingAfter: stringParam(params, 'starting_after'),
        expand: expandParam(params),
      }),
    };
  };
  const knownPaymentIntent = (id: string | undefined) => {
    if (id !== undefined && !state.paymentIntents.has(id)) throw resourceMissing('payment_intent', id, 'payment_intent');
    return id;
  };

  return [
    {
      method: 'GET',
      path: '/v1/payment_intents',
      handle: (params) => {
        assertKnownParams(params, LIST_PARAMS);
        return list('/v1/payment_intents', params, [...state.paymentIntents.values()]);
      },
    },
    { method: 'GET', path: '/v1/payment_intents/:id', handle: retrieve('payment_intent', (id) => state.paymentIntents.get(id)) },
    {
      method: 'POST',
      path: '/v1/payment_intents/:id/capture',
      handle: (params, path) => {
        assertKnownParams(params, ['amount_to_capture', 'final_capture', 'metadata', 'expand']);
        const amountToCapture = integerParam(params, 'amount_to_capture');
        const finalCapture = booleanParam(params, 'final_capture');
        const expand = expandParam(params);
        const before = state.paymentIntents.get(path.id!);
        if (before) renderObject(state, before, expand); // refuses a bad `expand` before anything moves
        const metadata = params.metadata === undefined ? undefined : metadataParam(params);
        const intent = state.capturePaymentIntent(path.id!, { amountToCapture, finalCapture, metadata });
        return { body: renderObject(state, intent, expand) };
      },
    },
    { method: 'GET', path: '/v1/charges/:id', handle: retrieve('charge', (id) => state.charges.get(id)) },
    {
      method: 'GET',
      path: '/v1/charges',
      handle: (params) => {
        assertKnownParams(params, ['payment_intent', ...LIST_PARAMS]);
        const paymentIntentId = knownPaymentIntent(stringParam(params, 'payment_intent'));
        const charges = paymentIntentId === undefined ? [...state.charges.values()] : state.chargesOf(paymentIntentId);
        return list('/v1/charges', params, charges);
      },
    },
    {
      method: 'POST',
      path: '/v1/refunds',
      handle: (params) => {
        assertKnownParams(params, ['payment_intent', 'charge', 'amount', 'reason', 'metadata', 'expand']);
        const refund = state.createRefund({
          paymentIntent: stringParam(params, 'payment_intent'),
          charge: stringParam(params, 'charge'),
          amount: integerParam(params, 'amount'),
          reason: stringParam(params, 'reason'),
          metadata: metadataParam(params),
        });
        return { body: renderObject(state, refund, expandParam(params)) };
      },
    },
    { method: 'GET', path: '/v1/refunds/:id', handle: retrieve('refund', (id) => state.refunds.get(id)) },
    {
      method: 'GET',
      path: '/v1/refunds',
      handle: (params) => {
        assertKnownParams(params, ['payment_intent', 'charge', ...LIST_PARAMS]);
        const paymentIntentId = knownPaymentIntent(stringParam(params, 'payment_intent'));
        return list('/v1/refunds', params, state.refundsOf({ paymentIntentId, chargeId: stringParam(params, 'charge') }));
      },
    },
    {
      method: 'GET',
      path: '/v1/balance_transactions/:id',
      handle: retrieve('balance_transaction', (id) => state.balanceTransactions.get(id)),
    },
    {
      method: 'GET',
      path: '/v1/balance_transactions',
      handle: (params) => {
        assertKnownParams(params, ['source', 'type', ...LIST_PARAMS]);
        const filter = { source: stringParam(params, 'source'), type: stringParam(params, 'type') };
        return list('/v1/balance_transactions', params, state.balanceTransactionsOf(filter));
      },
    },
  ];
}
