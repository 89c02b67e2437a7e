import { Field, ObjectType } from 'type-graphql';
import type { Source as SourceValue } from '../../db/schema/index.js';
import { Source } from '../enums.js';
import { DateTime, JSON, UUID } from '../scalars.js';

@ObjectType({ description: 'Something that happened to an invoice. Append-only.' })
export class TimelineEvent {
  @Field(() => UUID)
  id!: string;

  @Field(() => String, { description: 'e.g. INVOICE_CREATED, CAPTURE_SUCCEEDED, REFUND_FAILED, PAYMENT_SETTLED' })
  type!: string;

  @Field(() => Source)
  source!: SourceValue;

  @Field(() => DateTime)
  occurredAt!: Date;

  @Field(() => JSON)
  data!: Record<string, unknown>;

  @Field(() => UUID, { nullable: true })
  adjustmentId!: string | null;

  @Field(() => UUID, { nullable: true })
  paymentAttemptId!: string | null;

  @Field(() => UUID, { nullable: true })
  processorEventId!: string | null;
}

