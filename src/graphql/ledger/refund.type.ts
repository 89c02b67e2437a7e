import { Field, ObjectType } from 'type-graphql';
import type { Source as SourceValue } from '../../db/schema/index.js';
import { Source } from '../enums.js';
import { DateTime, SafeInt, UUID } from '../scalars.js';

@ObjectType({ description: 'A refund record, for finance and analytics.' })
export class Refund {
  @Field(() => UUID)
  id!: string;

  @Field(() => SafeInt, { description: 'Positive, in minor units of `currency`.' })
  amount!: number;

  @Field(() => String)
  currency!: string;

  @Field(() => String, { description: 'One of the documented refund reason codes.' })
  reason!: string;

  @Field(() => String, { nullable: true })
  note!: string | null;

  @Field(() => Source)
  source!: SourceValue;

  @Field(() => String, { nullable: true })
  processorRefundId!: string | null;

  @Field(() => UUID)
  adjustmentId!: string;

  @Field(() => DateTime, { nullable: true, description: 'When the processor reported the refund failed; a REFUND_REVERSAL ledger line gave the amount back.' })
  failedAt!: Date | null;

  @Field(() => DateTime)
  createdAt!: Date;
}
