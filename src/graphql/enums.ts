import { registerEnumType } from 'type-graphql';
import {
  ADJUSTMENT_KINDS,
  INVOICE_STATUSES,
  PROCESSOR_EVENT_OUTCOMES,
  SOURCES,
  TOKEN_ROLES,
} from '../db/schema/index.js';

/** type-graphql wants enum objects; the values are the same strings the database stores. */
function enumOf<T extends string>(values: readonly T[]): { [K in T]: K } {
  return Object.fromEntries(values.map((value) => [value, value])) as { [K in T]: K };
}

export const InvoiceStatus = enumOf(INVOICE_STATUSES);
export const AdjustmentKind = enumOf(ADJUSTMENT_KINDS);
export const Source = enumOf(SOURCES);
export const ProcessorEventOutcome = enumOf(PROCESSOR_EVENT_OUTCOMES);
export const TokenRole = enumOf(TOKEN_ROLES);

registerEnumType(InvoiceStatus, { name: 'InvoiceStatus', description: 'Derived from the totals; VOID invoices refuse captures.' });
registerEnumType(AdjustmentKind, { name: 'AdjustmentKind' });
registerEnumType(Source, { name: 'Source', description: 'Where a ledger line or timeline event came from.' });
registerEnumType(ProcessorEventOutcome, { name: 'ProcessorEventOutcome' });
registerEnumType(TokenRole, { name: 'TokenRole' });
