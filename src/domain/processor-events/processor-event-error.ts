/**
 * An event that cannot be applied as it stands (no such invoice, a malformed object, an unsupported
 * provider…). It stays queued with this message as `last_replay_error` until an operator replays it.
 */
export class ProcessorEventError extends Error {
  override name = 'ProcessorEventError';
}
