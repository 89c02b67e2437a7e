import 'reflect-metadata';
import { assertObjectType, lexicographicSortSchema, printSchema, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import type { Invoice as InvoiceRow, InvoiceStatus as InvoiceStatusValue } from '../db/schema/index.js';
import type { GraphQLContext } from './context.js';
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
  const schema = await buildSchema({
    resolvers,
    scalarsMap: [{ type: Date, scalar: DateTime }],
    validate: false,
  });
  callDirectly(schema);
  return schema;
}

type Resolve = GraphQLFieldResolver<unknown, GraphQLContext, Record<string, unknown>>;

/**
 * type-graphql runs every resolver through its middleware chain and a parameter decoder (an array of
 * arguments built per call); with no middleware, no auth checker and no validation (validate: false)
 * that only costs time. The read path's resolvers are called directly instead: the same methods with
 * the same arguments (typed, so a changed signature fails to compile), scalars already coerced by
 * graphql-js. The schema itself is unchanged (schema.graphql).
 */
function callDirectly(schema: GraphQLSchema): void {
  const invoice = new InvoiceResolver();
  const set = (typeName: string, fieldName: string, resolve: Resolve) => {
    const field = assertObjectType(schema.getType(typeName)).getFields()[fieldName];
    if (!field) throw new Error(`${typeName}.${fieldName} is not in the schema`);
    field.resolve = resolve as GraphQLFieldResolver<unknown, unknown>;
  };
  set('Query', 'invoice', (_root, args, context, info) => invoice.invoice(args.id as string, context, info));
  set('Query', 'invoices', (_root, args, context, info) =>
    invoice.invoices(
      context,
      args.workspaceId as string | null | undefined,
      args.status as InvoiceStatusValue[] | null | undefined,
      args.first as number | null | undefined,
      args.after as string | null | undefined,
      info,
    ),
  );
  set('Invoice', 'timeline', (root, _args, context) => invoice.timeline(root as InvoiceRow, context));
  set('Invoice', 'adjustments', (root, _args, context) => invoice.adjustments(root as InvoiceRow, context));
  set('Invoice', 'refunds', (root, _args, context) => invoice.refunds(root as InvoiceRow, context));
  set('Invoice', 'paymentAttempts', (root, _args, context) => invoice.paymentAttempts(root as InvoiceRow, context));
}

/** The text committed as `schema.graphql`; sorted so that it only changes when the contract does. */
export function printGraphQLSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
