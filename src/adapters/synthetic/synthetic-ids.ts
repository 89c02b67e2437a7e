import { createHash } from 'node:crypto';

/**
 * The synthetic gateway's ids are derived from its inputs rather than drawn at random, so that a replay
 * after a lost answer, a test and a log line all agree on the same id: `ch_syn_` + 24 hex of sha256(key).
 */
export function syntheticId(prefix: 'pi_syn_' | 'ch_syn_' | 're_syn_' | 'txn_syn_', seed: string): string {
  return prefix + createHash('sha256').update(seed).digest('hex').slice(0, 24);
}
