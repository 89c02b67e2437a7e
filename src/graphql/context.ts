import DataLoader from 'dataloader';
import { reservedAmounts, type Reserved } from '../domain/ledger/balance.js';
import type {
  Invoice,
  InvoiceAdjustment,
  InvoiceTimelineEvent,
  PaymentAttempt,
  ProcessorEvent,
  Refund,
  Workspace,
} from '../db/schema/index.js';
import { canSeeWorkspace, type Viewer } from '../domain/auth/viewer.js';
import type { Deps } from '../domain/deps.js';
import {
  adjustmentsFor,
  invoicesByIds,
  paymentAttemptsFor,
  processorEventsFor,
  refundsFor,
  timelinesFor,
  workspacesByIds,
} from '../domain/invoices/invoice-history.js';
import { DomainError } from '../errors.js';

export type Loaders = {
  invoice: DataLoader<string, Invoice | null>;
  workspace: DataLoader<string, Workspace | null>;
  timeline: DataLoader<string, InvoiceTimelineEvent[]>;
  adjustments: DataLoader<string, InvoiceAdjustment[]>;
  refunds: DataLoader<string, Refund[]>;
  paymentAttempts: DataLoader<string, PaymentAttempt[]>;
  processorEvents: DataLoader<string, ProcessorEvent[]>;
  /** Money reserved by attempts in flight, per invoice. */
  reserved: DataLoader<string, Reserved | undefined>;
};

export type GraphQLContext = {
  deps: Deps;
  viewer: Viewer | null;
  loaders: Loaders;
};

/** Per request: every nested list is one statement for the whole response, whatever its size. */
export function createLoaders(deps: Deps, viewer: Viewer | null): Loaders {
  const { db } = deps;
  return {
    invoice: new DataLoader(async (ids) =>
      (await invoicesByIds(db, ids)).map((invoice) =>
        invoice && viewer && canSeeWorkspace(viewer, invoice.workspaceId) ? invoice : null,
      ),
    ),
    workspace: new DataLoader((ids) => workspacesByIds(db, ids)),
    timeline: new DataLoader((ids) => timelinesFor(db, ids)),
    adjustments: new DataLoader((ids) => adjustmentsFor(db, ids)),
    refunds: new DataLoader((ids) => refundsFor(db, ids)),
    paymentAttempts: new DataLoader((ids) => paymentAttemptsFor(db, ids)),
    processorEvents: new DataLoader((ids) => processorEventsFor(db, ids)),
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
