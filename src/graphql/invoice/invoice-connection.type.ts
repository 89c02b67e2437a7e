import { connectionType } from '../connection.js';
import { Invoice } from './invoice.type.js';

export const InvoiceConnection = connectionType('Invoice', Invoice);
