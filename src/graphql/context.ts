import DataLoader from 'dataloader';
import { reservedAmounts, type Reserved } from '../domain/ledger/balance.js';
import type {
  Invoice,
  InvoiceAdjustment,
  InvoiceTimelineEvent,
  PaymentAttempt,
  ProcessorEvent,
  ReconciliationMismatch,
  Refund,
  Workspace,
} from '../db/schema/index.js';
import { canSeeWorkspace, type Viewer } from '../domain/auth/viewer.js';
import type { Deps } from '../domain/deps.js';
import { invoicesByIds, processorEventsFor, workspacesByIds } from '../domain/invoices/invoice-history.js';
import { invoiceListsFor, type InvoiceListKind, type InvoiceListRows } from '../domain/invoices/invoice-lists.js';
import { mismatchesForRuns } from '../domain/reconciliation/list-runs.js';
import { DomainError } from '../errors.js';

export type Loaders = {
  invoice: DataLoader<string, Invoice | null>;
  workspace: DataLoader<string, Workspace | null>;
  timeline: ListLoader<InvoiceTimelineEvent>;
  adjustments: ListLoader<InvoiceAdjustment>;
  refunds: ListLoader<Refund>;
  paymentAttempts: ListLoader<PaymentAttempt>;
  processorEvents: DataLoader<string, ProcessorEvent[]>;
  /** A reconciliation run's mismatches. */
  mismatches: DataLoader<string, ReconciliationMismatch[]>;
  /** Money reserved by attempts in flight, per invoice. */
  reserved: DataLoader<string, Reserved | undefined>;
};

/** An invoice's nested list, by invoice id. */
export type ListLoader<T> = { load(invoiceId: string): Promise<T[]> };

type ListKey = { kind: InvoiceListKind; invoiceId: string };

export type GraphQLContext = {
  deps: Deps;
  viewer: Viewer | null;
  loaders: Loaders;
};

/**
 * Per request: every nested list is one statement for the whole response, whatever its size; and the
 * lists of invoices (ledger lines, timeline, refunds, attempts) asked for in one tick share that one
 * statement (invoice-lists.ts): graphql-js resolves all the fields of a page's invoices before any of
 * their promises settle, so one batch sees them all.
 */
export function createLoaders(deps: Deps, viewer: Viewer | null): Loaders {
  const { db } = deps;
  const lists = new DataLoader<ListKey, unknown[], string>(
    async (keys) => {
      const wanted: Partial<Record<InvoiceListKind, string[]>> = {};
      for (const { kind, invoiceId } of keys) (wanted[kind] ??= []).push(invoiceId);
      const found = await invoiceListsFor(db, wanted);
      return keys.map(({ kind, invoiceId }) => found[kind]?.get(invoiceId) ?? []);
    },
    { cacheKeyFn: ({ kind, invoiceId }) => `${kind}:${invoiceId}` },
  );
  const listOf = <K extends InvoiceListKind>(kind: K): ListLoader<InvoiceListRows[K]> => ({
    load: (invoiceId) => lists.load({ kind, invoiceId }) as Promise<InvoiceListRows[K][]>,
  });
  return {
    invoice: new DataLoader(async (ids) =>
      (await invoicesByIds(db, ids)).map((invoice) =>
        invoice && viewer && canSeeWorkspace(viewer, invoice.workspaceId) ? invoice : null,
      ),
    ),
    workspace: new DataLoader((ids) => workspacesByIds(db, ids)),
    timeline: listOf('timeline'),
    adjustments: listOf('adjustments'),
    refunds: listOf('refunds'),
    paymentAttempts: listOf('paymentAttempts'),
    processorEvents: new DataLoader((ids) => processorEventsFor(db, ids)),
    mismatches: new DataLoader((ids) => mismatchesForRuns(db, ids)),
    reserved: new DataLoader(async (ids) => {
      const reserved = await reservedAmounts(db, ids);
      return ids.map((id) => reserved.get(id));
    }),
  };
}

export function createContext(deps: Deps, viewer: Viewer | null): GraphQLContext {
  return { deps, viewer, loaders: createLoaders(deps, viewer) };
}

export function requireViewer(context: GraphQLContext): Viewer {
  if (!context.viewer) {
    throw new DomainError('UNAUTHENTICATED', 'A valid bearer token is required (Authorization: Bearer <token>)');
  }
  return context.viewer;
}
