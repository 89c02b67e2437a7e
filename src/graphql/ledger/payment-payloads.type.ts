import { Field, ObjectType } from 'type-graphql';
import { Invoice } from '../invoice/invoice.type.js';
import { Adjustment } from './adjustment.type.js';
import { PaymentAttempt } from './payment-attempt.type.js';
import { Refund } from './refund.type.js';

@ObjectType({ description: 'The invoice after the capture, and what was written for it.' })
export class CaptureInvoicePayload {
  @Field(() => Invoice)
  invoice!: Invoice;

  @Field(() => PaymentAttempt)
  attempt!: PaymentAttempt;

  @Field(() => Adjustment)
  adjustment!: Adjustment;
}

@ObjectType({ description: 'The invoice after the refund, and what was written for it.' })
export class RefundInvoicePayload {
  @Field(() => Invoice)
  invoice!: Invoice;

  @Field(() => PaymentAttempt)
  attempt!: PaymentAttempt;

  @Field(() => Adjustment)
  adjustment!: Adjustment;

  @Field(() => Refund)
  refund!: Refund;
}
