import { Field, ObjectType, registerEnumType } from 'type-graphql';
import type { ReplayOutcome as ReplayOutcomeValue } from '../../domain/processor-events/trigger-replay.js';
import { ProcessorEvent } from './processor-event.type.js';

const ReplayOutcome = { ACCEPTED: 'ACCEPTED', REPLAYED: 'REPLAYED', FAILED: 'FAILED' } as const;
registerEnumType(ReplayOutcome, {
  name: 'ReplayOutcome',
  description: 'ACCEPTED: scheduled on the replay queue. REPLAYED / FAILED: a forced replay ran at once.',
});

@ObjectType()
export class TriggerReplayPayload {
  @Field(() => ReplayOutcome)
  outcome!: ReplayOutcomeValue;

  @Field(() => ProcessorEvent)
  event!: ProcessorEvent;

  @Field(() => String, { nullable: true, description: 'Why a forced replay failed.' })
  error!: string | null;
}
