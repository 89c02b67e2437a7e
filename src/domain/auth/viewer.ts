import { DomainError } from '../../errors.js';

/**
 * Who is asking. Operators see every workspace; a service token is confined to one, and anything
 * outside it looks as if it did not exist.
 */
export type Viewer =
  | { readonly tokenId: string; readonly role: 'OPERATOR' }
  | { readonly tokenId: string; readonly role: 'SERVICE'; readonly workspaceId: string };

export function canSeeWorkspace(viewer: Viewer, workspaceId: string): boolean {
  return viewer.role === 'OPERATOR' || viewer.workspaceId === workspaceId;
}

/** The workspace a query must stay inside, or undefined when the viewer may see all. */
export function workspaceScope(viewer: Viewer): string | undefined {
  return viewer.role === 'SERVICE' ? viewer.workspaceId : undefined;
}

/** Raw processor payloads carry other parties' data (cards, customers): operators only. */
export const canSeeRawPayloads = (viewer: Viewer | null): boolean => viewer?.role === 'OPERATOR';

export function requireOperator(viewer: Viewer, action: string): void {
  if (viewer.role !== 'OPERATOR') {
    throw new DomainError('FORBIDDEN', `Only operator tokens may ${action}`);
  }
}
