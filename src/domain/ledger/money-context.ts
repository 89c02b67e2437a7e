import type { Tx } from '../../db/client.js';
import type { Invoice, Source } from '../../db/schema/index.js';
import type { JobQueue } from '../jobs/queues.js';
import type { PaymentMovement } from '../metrics/metrics.js';

/** Where processor money is being recorded from: the caller's transaction (holding the invoice lock) and what to stamp on the lines. */
export type MoneyContext = {
  tx: Tx;
  jobs: JobQueue;
  source: Source;
  processorEventId?: string | null;
  /** The money entered in the ledger, for the metrics once the caller's transaction commits. */
  recorded?: PaymentMovement[];
};

/**
 * Processor money that the ledger cannot record as it stands (more captured than the invoice is due,
 * money on a void invoice, another currency). A webhook carrying it is parked for an operator;
 * reconciliation records it as a mismatch.
 */
export class ProcessorMoneyError extends Error {
  override name = 'ProcessorMoneyError';
}

export function assertCurrency(invoice: Invoice, currency: string): void {
  if (invoice.currency !== currency) {
    throw new ProcessorMoneyError(`processor object is in ${currency}, invoice ${invoice.id} in ${invoice.currency}`);
  }
}
