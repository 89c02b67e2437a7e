import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GraphQLContext } from '../context.js';
import { Invoice } from '../invoice/invoice.type.js';
import { ProcessorEvent } from './processor-event.type.js';

@Resolver(() => ProcessorEvent)
export class ProcessorEventResolver {
  @FieldResolver(() => Invoice, { nullable: true, description: 'The invoice the event was applied to, once known.' })
  invoice(@Root() event: ProcessorEvent, @Ctx() context: GraphQLContext): Promise<Invoice | null> | null {
    return event.invoiceId ? context.loaders.invoice.load(event.invoiceId) : null;
  }
}
