import { Field, ObjectType } from 'type-graphql';
import { DateTime, SafeInt, UUID } from '../scalars.js';

@ObjectType({ description: 'One capture or refund request and what the processor answered.' })
export class PaymentAttempt {
  @Field(() => UUID, { description: 'Also the idempotency key sent to the processor.' })
  id!: string;

  @Field(() => String, { description: 'CAPTURE or REFUND' })
  kind!: string;

  @Field(() => String, { description: 'PENDING (in flight), SUCCEEDED, FAILED (declined), UNKNOWN (no answer; reconciliation settles it)' })
  status!: string;

  @Field(() => SafeInt)
  amount!: number;

  @Field(() => String)
  currency!: string;

  @Field(() => String, { nullable: true })
  reason!: string | null;

  @Field(() => String)
  idempotencyKey!: string;

  @Field(() => String, { nullable: true })
  processorObjectId!: string | null;

  @Field(() => String, { nullable: true })
  errorCode!: string | null;

  @Field(() => String, { nullable: true })
  errorMessage!: string | null;

  @Field(() => DateTime)
  createdAt!: Date;

  @Field(() => DateTime, { nullable: true })
  completedAt!: Date | null;
}
