import { Field, Int, ObjectType } from 'type-graphql';
import { DateTime, SafeInt, UUID } from '../scalars.js';

@ObjectType({ description: 'A disagreement between the ledger and the processor’s settlement records.' })
export class ReconciliationMismatch {
  @Field(() => UUID)
  invoiceId!: string;

  @Field(() => String, { description: 'amount_captured or amount_refunded' })
  field!: string;

  @Field(() => SafeInt, { description: 'What the ledger says.' })
  expected!: number;

  @Field(() => SafeInt, { nullable: true, description: 'What the processor’s settled lines add up to.' })
  found!: number | null;
}

@ObjectType({ description: 'One reconciliation run and what it fixed and found.' })
export class ReconciliationRun {
  @Field(() => UUID)
  id!: string;

  @Field(() => String, { description: 'SCHEDULE, OPERATOR or COMMAND' })
  trigger!: string;

  @Field(() => String, { description: 'RUNNING, SUCCEEDED or FAILED' })
  status!: string;

  @Field(() => DateTime)
  startedAt!: Date;

  @Field(() => DateTime, { nullable: true })
  finishedAt!: Date | null;

  @Field(() => Int)
  attemptsSettled!: number;

  @Field(() => Int)
  timelineEventsBackfilled!: number;

  @Field(() => Int)
  settlementsBackfilled!: number;

  @Field(() => Int)
  invoicesChecked!: number;

  @Field(() => Int)
  mismatchesFound!: number;

  @Field(() => String, { nullable: true })
  error!: string | null;
}
