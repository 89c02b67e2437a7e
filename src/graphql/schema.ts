import 'reflect-metadata';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { ApiTokenResolver } from './token/api-token.resolver.js';
import { InvoiceResolver } from './invoice/invoice.resolver.js';
import { PaymentResolver } from './ledger/payment.resolver.js';
import { ReconciliationResolver } from './reconciliation/reconciliation.resolver.js';
import { ProcessorEventResolver } from './processor-event/processor-event.resolver.js';
import { DateTime } from './scalars.js';
import { RolloutResolver } from './settings/rollout.resolver.js';
import { ViewerResolver } from './viewer/viewer.resolver.js';
import { WorkspaceResolver } from './workspace/workspace.resolver.js';

export const resolvers = [
  ApiTokenResolver,
  InvoiceResolver,
  PaymentResolver,
  ProcessorEventResolver,
  ReconciliationResolver,
  RolloutResolver,
  WorkspaceResolver,
  ViewerResolver,
] as const;

export async function buildGraphQLSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    scalarsMap: [{ type: Date, scalar: DateTime }],
    validate: false,
  });
}

/** The text committed as `schema.graphql`; sorted so that it only changes when the contract does. */
export function printGraphQLSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
