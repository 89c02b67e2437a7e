import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { findProcessorEvent, listProcessorEvents, PROCESSOR_EVENT_CURSOR } from '../../domain/processor-events/list-processor-events.js';
import { triggerReplay } from '../../domain/processor-events/trigger-replay.js';
import { canSeeRawPayloads } from '../../domain/auth/viewer.js';
import type { ProcessorEvent as ProcessorEventRow } from '../../db/schema/index.js';
import { JSON } from '../scalars.js';
import { toConnection, type ConnectionShape } from '../connection.js';
import { requireViewer, type GraphQLContext } from '../context.js';
import { Invoice } from '../invoice/invoice.type.js';
import { UUID } from '../scalars.js';
import { ProcessorEventConnection } from './processor-event-connection.type.js';
import { ProcessorEvent } from './processor-event.type.js';
import { TriggerReplayPayload } from './trigger-replay.payload.js';

@Resolver(() => ProcessorEvent)
export class ProcessorEventResolver {
  @Query(() => ProcessorEventConnection, { description: 'The replay queue by default (requestedOnly: true), newest first. Operators only.' })
  async processorEvents(
    @Ctx() context: GraphQLContext,
    @Arg('requestedOnly', () => Boolean, { nullable: true, defaultValue: true }) requestedOnly: boolean,
    @Arg('provider', () => String, { nullable: true }) provider?: string | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
  ): Promise<ConnectionShape<ProcessorEvent>> {
    const page = await listProcessorEvents(context.deps.db, requireViewer(context), { requestedOnly, provider, first, after });
    return toConnection(page, PROCESSOR_EVENT_CURSOR);
  }

  @Query(() => ProcessorEvent, { nullable: true, description: 'Operators only.' })
  processorEvent(@Arg('id', () => UUID) id: string, @Ctx() context: GraphQLContext): Promise<ProcessorEvent | null> {
    return findProcessorEvent(context.deps.db, requireViewer(context), id);
  }

  @Mutation(() => TriggerReplayPayload, {
    description: 'Applies a stored event again after its cause was fixed. force: now (REPLAYED/FAILED); otherwise queued (ACCEPTED).',
  })
  triggerReplay(
    @Arg('eventId', () => UUID) eventId: string,
    @Ctx() context: GraphQLContext,
    @Arg('force', () => Boolean, { nullable: true, defaultValue: false }) force: boolean,
  ): Promise<TriggerReplayPayload> {
    return triggerReplay(context.deps, requireViewer(context), eventId, force);
  }

  @FieldResolver(() => Invoice, { nullable: true, description: 'The invoice the event was applied to, once known.' })
  invoice(@Root() event: ProcessorEvent, @Ctx() context: GraphQLContext): Promise<Invoice | null> | null {
    return event.invoiceId ? context.loaders.invoice.load(event.invoiceId) : null;
  }

  @FieldResolver(() => JSON, { nullable: true })
  payload(@Root() event: ProcessorEventRow, @Ctx() context: GraphQLContext): Record<string, unknown> | null {
    return canSeeRawPayloads(context.viewer) ? event.payload : null;
  }
}
