import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { Logger } from '../logger.js';

/** What domain functions need from the outside world, built once in main.ts. */
export type Deps = {
  db: Db;
  config: Config;
  logger: Logger;
};
