import { Field, ObjectType } from 'type-graphql';
import type { AdjustmentKind as AdjustmentKindValue, Source as SourceValue } from '../../db/schema/index.js';
import { AdjustmentKind, Source } from '../enums.js';
import { DateTime, SafeInt, UUID } from '../scalars.js';

@ObjectType({ description: 'A ledger line. Captures are positive, refunds negative; the totals are their sums.' })
export class Adjustment {
  @Field(() => UUID)
  id!: string;

  @Field(() => AdjustmentKind)
  kind!: AdjustmentKindValue;

  @Field(() => SafeInt, { description: 'Signed, in minor units of `currency`.' })
  amount!: number;

  @Field(() => String)
  currency!: string;

  @Field(() => String, { nullable: true })
  reasonCode!: string | null;

  @Field(() => String, { nullable: true })
  note!: string | null;

  @Field(() => Source)
  source!: SourceValue;

  @Field(() => UUID, { nullable: true })
  paymentAttemptId!: string | null;

  @Field(() => UUID, { nullable: true })
  processorEventId!: string | null;

  @Field(() => String, { nullable: true, description: 'The processor object (charge or refund id) behind this line.' })
  processorObjectId!: string | null;

  @Field(() => DateTime)
  createdAt!: Date;
}
