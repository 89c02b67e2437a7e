import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { BillingGatewayClient } from './gateway/billing-gateway-client.js';
import type { JobQueue } from './jobs/queues.js';
import type { Metrics } from './metrics/metrics.js';
import type { Notifier } from './notifications/notifier.js';

/** What domain functions need from the outside world, built once in main.ts. */
export type Deps = {
  db: Db;
  config: Config;
  logger: Logger;
  gateway: BillingGatewayClient;
  jobs: JobQueue;
  metrics: Metrics;
  notifier: Notifier;
};
