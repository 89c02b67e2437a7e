import { Field, ObjectType } from 'type-graphql';
import type { InvoiceStatus as InvoiceStatusValue } from '../../db/schema/index.js';
import { InvoiceStatus } from '../enums.js';
import { Currency, DateTime, SafeInt, UUID } from '../scalars.js';

@ObjectType({ description: 'An invoice and how it has been paid. Amounts are integers in minor units of `currency`.' })
export class Invoice {
  @Field(() => UUID)
  id!: string;

  @Field(() => UUID)
  workspaceId!: string;

  @Field(() => String)
  number!: string;

  @Field(() => Currency, { description: 'ISO 4217 code.' })
  currency!: string;

  @Field(() => SafeInt)
  amountDue!: number;

  @Field(() => SafeInt)
  amountCaptured!: number;

  @Field(() => SafeInt)
  amountRefunded!: number;

  @Field(() => InvoiceStatus)
  status!: InvoiceStatusValue;

  @Field(() => String, { nullable: true })
  paymentIntentId!: string | null;

  @Field(() => String, { nullable: true, description: "The processor's id for the captured payment (e.g. a Stripe charge)." })
  externalProcessorId!: string | null;

  @Field(() => DateTime, { nullable: true })
  capturedAt!: Date | null;

  @Field(() => DateTime, { nullable: true })
  settledAt!: Date | null;

  @Field(() => DateTime, { nullable: true })
  voidedAt!: Date | null;

  @Field(() => DateTime)
  createdAt!: Date;

  @Field(() => DateTime)
  updatedAt!: Date;
}
