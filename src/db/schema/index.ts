export * from './workspaces.js';
export * from './invoices.js';
export * from './payment-attempts.js';
export * from './processor-events.js';
export * from './ledger.js';
export * from './api-tokens.js';
export * from './reconciliation.js';
export * from './settings.js';
