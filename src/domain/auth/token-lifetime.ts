import { DomainError } from '../../errors.js';

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
/** Ten years: longer than that is "never", which is what omitting an expiry says. */
const MAX_SECONDS = 10 * 365 * 86_400;

/** `--expires-in 30d` (or `12h`, `90m`, `3600s`) → the moment it expires, counted from `now`. */
export function expiryFromLifetime(text: string, now = new Date()): Date {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS] : NaN;
  if (!(seconds > 0 && seconds <= MAX_SECONDS)) {
    throw new DomainError('BAD_USER_INPUT', `"${text}" is not a token lifetime: use a whole number and s, m, h or d (e.g. 30d), at most 10 years`, {
      field: 'expiresIn',
    });
  }
  return new Date(now.getTime() + seconds * 1000);
}
