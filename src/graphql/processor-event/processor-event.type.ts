import { Field, Int, ObjectType } from 'type-graphql';
import type { ProcessorEventOutcome as OutcomeValue } from '../../db/schema/index.js';
import { ProcessorEventOutcome } from '../enums.js';
import { DateTime, JSON, UUID } from '../scalars.js';

@ObjectType({ description: 'A webhook from a payment processor, stored exactly once before it changed anything.' })
export class ProcessorEvent {
  @Field(() => UUID)
  id!: string;

  @Field(() => String)
  provider!: string;

  @Field(() => String, { description: "The processor's event id (Stripe: evt_…)." })
  externalId!: string;

  @Field(() => String)
  eventType!: string;

  @Field(() => String, { description: 'SHA-256 of the processor object: the same payload under a new event id is a duplicate.' })
  payloadHash!: string;

  @Field(() => JSON, { nullable: true, description: 'The event as the processor sent it; null for service tokens, which see no raw payloads.' })
  payload!: Record<string, unknown> | null;

  @Field(() => String, { nullable: true })
  correlationId!: string | null;

  @Field(() => UUID, { nullable: true })
  workspaceHint!: string | null;

  @Field(() => UUID, { nullable: true })
  invoiceId!: string | null;

  @Field(() => DateTime)
  receivedAt!: Date;

  @Field(() => DateTime, { nullable: true })
  processedAt!: Date | null;

  @Field(() => ProcessorEventOutcome)
  outcome!: OutcomeValue;

  @Field(() => Boolean, { description: 'True while the event waits to be applied (or re-applied) by a replay.' })
  replayRequested!: boolean;

  @Field(() => Int)
  replayAttempts!: number;

  @Field(() => String, { nullable: true })
  lastReplayError!: string | null;

  @Field(() => DateTime, { nullable: true })
  lastReplayedAt!: Date | null;
}
