import { Field, InputType } from 'type-graphql';
import { SafeInt, UUID } from '../scalars.js';

@InputType()
export class CaptureInvoiceInput {
  @Field(() => UUID)
  invoiceId!: string;

  @Field(() => SafeInt, { nullable: true, description: 'Minor units; all that remains when omitted.' })
  amount?: number | null;

  @Field(() => String, { nullable: true, description: 'Repeat a request with the same key to get its first result; never captures twice.' })
  idempotencyKey?: string | null;
}
