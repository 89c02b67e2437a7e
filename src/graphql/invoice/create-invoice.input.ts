import { Field, InputType } from 'type-graphql';
import { Currency, SafeInt, UUID } from '../scalars.js';

@InputType()
export class CreateInvoiceInput {
  @Field(() => UUID)
  workspaceId!: string;

  @Field(() => String, { description: 'Unique within the workspace.' })
  number!: string;

  @Field(() => Currency)
  currency!: string;

  @Field(() => SafeInt, { description: 'Minor units of `currency`, greater than zero.' })
  amountDue!: number;

  @Field(() => String, { nullable: true })
  paymentIntentId?: string | null;
}
