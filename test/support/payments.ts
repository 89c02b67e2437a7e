import type { SyntheticGateway } from '../../src/adapters/synthetic/synthetic-gateway.js';
import { graphql, type GraphQLResponse } from './graphql.js';
import type { TestService } from './service.js';

export const CAPTURE = /* GraphQL */ `
  mutation Capture($input: CaptureInvoiceInput!) {
    captureInvoice(input: $input) {
      invoice { id status amountDue amountCaptured amountRefunded amountRemaining paymentIntentId externalProcessorId capturedAt settledAt }
      attempt { id kind status amount idempotencyKey processorObjectId }
      adjustment { id kind amount currency source processorObjectId paymentAttemptId }
    }
  }
`;

export const REFUND = /* GraphQL */ `
  mutation Refund($input: RefundInvoiceInput!) {
    refundInvoice(input: $input) {
      invoice { id status amountCaptured amountRefunded }
      attempt { id kind status amount reason }
      adjustment { id kind amount reasonCode note source }
      refund { id amount reason note processorRefundId adjustmentId }
    }
  }
`;

export function capture(service: TestService, token: string, input: Record<string, unknown>): Promise<GraphQLResponse<any>> {
  return graphql(service.url, CAPTURE, { input }, token);
}

export function refund(service: TestService, token: string, input: Record<string, unknown>): Promise<GraphQLResponse<any>> {
  return graphql(service.url, REFUND, { input }, token);
}

/** The service's gateway, which is the synthetic one unless the test configured Stripe. */
export const syntheticGateway = (service: TestService): SyntheticGateway => service.deps.gateway as SyntheticGateway;
