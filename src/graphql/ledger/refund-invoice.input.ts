import { Field, InputType } from 'type-graphql';
import { SafeInt, UUID } from '../scalars.js';

@InputType()
export class RefundInvoiceInput {
  @Field(() => UUID)
  invoiceId!: string;

  @Field(() => SafeInt, { nullable: true, description: 'Minor units; all that is refundable when omitted.' })
  amount?: number | null;

  @Field(() => String, {
    description: 'DUPLICATE, FRAUDULENT, REQUESTED_BY_CUSTOMER, SERVICE_NOT_PROVIDED, GOODWILL or OTHER (docs/runbook.md).',
  })
  reason!: string;

  @Field(() => String, { nullable: true })
  note?: string | null;

  @Field(() => String, { nullable: true })
  idempotencyKey?: string | null;
}
