import { connectionType } from '../connection.js';
import { ProcessorEvent } from './processor-event.type.js';

export const ProcessorEventConnection = connectionType('ProcessorEvent', ProcessorEvent);
