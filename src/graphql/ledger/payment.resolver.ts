import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { captureInvoice } from '../../domain/ledger/capture-invoice.js';
import { refundInvoice } from '../../domain/ledger/refund-invoice.js';
import { requireViewer, type GraphQLContext } from '../context.js';
import { CaptureInvoiceInput } from './capture-invoice.input.js';
import { CaptureInvoicePayload, RefundInvoicePayload } from './payment-payloads.type.js';
import { RefundInvoiceInput } from './refund-invoice.input.js';

@Resolver()
export class PaymentResolver {
  @Mutation(() => CaptureInvoicePayload, { description: 'Captures all or part of what remains, exactly once per idempotency key.' })
  async captureInvoice(
    @Arg('input', () => CaptureInvoiceInput) input: CaptureInvoiceInput,
    @Ctx() context: GraphQLContext,
  ): Promise<CaptureInvoicePayload> {
    const result = await captureInvoice(context.deps, requireViewer(context), input);
    return { invoice: result.invoice, attempt: result.attempt, adjustment: result.adjustment! };
  }

  @Mutation(() => RefundInvoicePayload, { description: 'Refunds all or part of what was captured, with a reason code.' })
  async refundInvoice(
    @Arg('input', () => RefundInvoiceInput) input: RefundInvoiceInput,
    @Ctx() context: GraphQLContext,
  ): Promise<RefundInvoicePayload> {
    const result = await refundInvoice(context.deps, requireViewer(context), input);
    return { invoice: result.invoice, attempt: result.attempt, adjustment: result.adjustment!, refund: result.refund! };
  }
}
