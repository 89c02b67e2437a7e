import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Ctx, FieldResolver, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { Invoice as InvoiceRow, InvoiceStatus as InvoiceStatusValue } from '../../db/schema/index.js';
import { createInvoice } from '../../domain/invoices/create-invoice.js';
import { findInvoice, INVOICE_CURSOR, listInvoices, type InvoiceLists, type InvoiceWithLists } from '../../domain/invoices/find-invoices.js';
import { requireViewer, type GraphQLContext } from '../context.js';
import { selectedInvoiceLists } from '../lookahead.js';
import { toConnection, type ConnectionShape } from '../connection.js';
import { InvoiceStatus } from '../enums.js';
import { Adjustment } from '../ledger/adjustment.type.js';
import { PaymentAttempt } from '../ledger/payment-attempt.type.js';
import { Refund } from '../ledger/refund.type.js';
import { TimelineEvent } from '../ledger/timeline-event.type.js';
import { ProcessorEvent } from '../processor-event/processor-event.type.js';
import { SafeInt, UUID } from '../scalars.js';
import { Workspace } from '../workspace/workspace.type.js';
import { CreateInvoiceInput } from './create-invoice.input.js';
import { InvoiceConnection } from './invoice-connection.type.js';
import { Invoice } from './invoice.type.js';
import { amountRemaining } from '../../domain/ledger/balance.js';

/**
 * The lists read with the invoice (lookahead.ts), answered as they are: no loader, no promise. Invoices
 * reached otherwise (under a processor event) have none, and go through the loaders.
 */
const readWith = (invoice: InvoiceRow): InvoiceLists => (invoice as Partial<InvoiceWithLists>).lists ?? {};

/**
 * The field resolvers take the row as it was read (`InvoiceRow`, a type, so no runtime class): with
 * the class as the `@Root()` type, type-graphql copies the invoice into a new `Invoice` for every
 * field resolver it runs — 150 copies for a page of 50 with three lists (2.6% of a read's CPU).
 */
@Resolver(() => Invoice)
export class InvoiceResolver {
  @Query(() => Invoice, { nullable: true, description: 'Null when the invoice does not exist or lies outside your workspace.' })
  async invoice(@Arg('id', () => UUID) id: string, @Ctx() context: GraphQLContext, @Info() info: GraphQLResolveInfo): Promise<Invoice | null> {
    // The lists the query asks for come in the same statement (lookahead.ts).
    return findInvoice(context.deps.db, requireViewer(context), id, selectedInvoiceLists(info, []));
  }

  @Query(() => InvoiceConnection, { description: 'Newest first. `first` is 1 to 100 (default 20).' })
  async invoices(
    @Ctx() context: GraphQLContext,
    @Arg('workspaceId', () => UUID, { nullable: true }) workspaceId?: string | null,
    @Arg('status', () => [InvoiceStatus], { nullable: true }) status?: InvoiceStatusValue[] | null,
    @Arg('first', () => Int, { nullable: true }) first?: number | null,
    @Arg('after', () => String, { nullable: true }) after?: string | null,
    @Info() info?: GraphQLResolveInfo,
  ): Promise<ConnectionShape<Invoice>> {
    const include = info ? selectedInvoiceLists(info, ['edges', 'node']) : [];
    const page = await listInvoices(context.deps.db, requireViewer(context), { workspaceId, statuses: status, first, after }, include);
    return toConnection(page, INVOICE_CURSOR);
  }

  @Mutation(() => Invoice)
  createInvoice(@Arg('input', () => CreateInvoiceInput) input: CreateInvoiceInput, @Ctx() context: GraphQLContext): Promise<Invoice> {
    return createInvoice(context.deps, requireViewer(context), input);
  }

  @FieldResolver(() => SafeInt, { description: 'What may still be captured: amountDue − amountCaptured − captures in flight, never below 0.' })
  async amountRemaining(@Root() invoice: InvoiceRow, @Ctx() context: GraphQLContext): Promise<number> {
    return amountRemaining(invoice, await context.loaders.reserved.load(invoice.id));
  }

  @FieldResolver(() => Workspace)
  async workspace(@Root() invoice: InvoiceRow, @Ctx() context: GraphQLContext): Promise<Workspace> {
    return (await context.loaders.workspace.load(invoice.workspaceId))!;
  }

  @FieldResolver(() => [TimelineEvent], { description: 'Oldest first.' })
  timeline(@Root() invoice: InvoiceRow, @Ctx() context: GraphQLContext): TimelineEvent[] | Promise<TimelineEvent[]> {
    return readWith(invoice).timeline ?? context.loaders.timeline.load(invoice.id);
  }

  @FieldResolver(() => [Adjustment], { description: 'The ledger lines that explain every cent, oldest first.' })
  adjustments(@Root() invoice: InvoiceRow, @Ctx() context: GraphQLContext): Adjustment[] | Promise<Adjustment[]> {
    return readWith(invoice).adjustments ?? context.loaders.adjustments.load(invoice.id);
  }

  @FieldResolver(() => [Refund])
  refunds(@Root() invoice: InvoiceRow, @Ctx() context: GraphQLContext): Refund[] | Promise<Refund[]> {
    return readWith(invoice).refunds ?? context.loaders.refunds.load(invoice.id);
  }

  @FieldResolver(() => [PaymentAttempt], { description: 'Every capture and refund request, with what the processor answered, oldest first.' })
  paymentAttempts(@Root() invoice: InvoiceRow, @Ctx() context: GraphQLContext): PaymentAttempt[] | Promise<PaymentAttempt[]> {
    return readWith(invoice).paymentAttempts ?? context.loaders.paymentAttempts.load(invoice.id);
  }

  @FieldResolver(() => [ProcessorEvent])
  processorEvents(@Root() invoice: InvoiceRow, @Ctx() context: GraphQLContext): Promise<ProcessorEvent[]> {
    return context.loaders.processorEvents.load(invoice.id);
  }
}
