import { Field, ObjectType } from 'type-graphql';
import { Invoice } from '../invoice/invoice.type.js';
import { Adjustment } from './adjustment.type.js';
import { PaymentAttempt } from './payment-attempt.type.js';
import { Refund } from './refund.type.js';

/** What every money movement answers: the invoice after it, the attempt, and its ledger line. */
@ObjectType()
abstract class PaymentPayload {
  @Field(() => Invoice)
  invoice!: Invoice;

  @Field(() => PaymentAttempt)
  attempt!: PaymentAttempt;

  @Field(() => Adjustment, {
    nullable: true,
    description: 'The ledger line this request wrote; null when the same money had already been recorded from a webhook (the line then leads to that event).',
  })
  adjustment!: Adjustment | null;
}

@ObjectType({ description: 'The invoice after the capture, and what was written for it.' })
export class CaptureInvoicePayload extends PaymentPayload {}

@ObjectType({ description: 'The invoice after the refund, and what was written for it.' })
export class RefundInvoicePayload extends PaymentPayload {
  @Field(() => Refund)
  refund!: Refund;
}
