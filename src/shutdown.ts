import type { Logger } from './logger.js';

export type Shutdown = {
  /** Aborted at the first SIGINT/SIGTERM: start-up checks it between its steps. */
  signal: AbortSignal;
  /** Resolves with the first signal. */
  requested: Promise<NodeJS.Signals>;
};

/** Why start-up stopped half-way: a signal asked for it, which is a clean stop, not a failure. */
export class ShutdownRequested extends Error {
  override name = 'ShutdownRequested';
}

/**
 * Installs the SIGINT/SIGTERM handlers before anything is started, so a signal at any moment — during
 * start-up too — leads to an orderly stop (the embedded Postgres last) instead of Node's default of
 * dying at once and orphaning it. Later signals are logged, not obeyed: the stop is already under way.
 */
export function listenForShutdown(logger: Logger): Shutdown {
  const controller = new AbortController();
  let resolve!: (signal: NodeJS.Signals) => void;
  const requested = new Promise<NodeJS.Signals>((done) => (resolve = done));
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      logger.warn({ signal }, 'already shutting down');
      return;
    }
    logger.info({ signal }, 'shutting down: draining requests and jobs');
    controller.abort(new ShutdownRequested(`${signal} received`));
    resolve(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: controller.signal, requested };
}
