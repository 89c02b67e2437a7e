/** Where capture notifications go (src/adapters/notifications). */
export interface Notifier {
  /** Delivers one JSON body; throws when the receiver did not take it. */
  send(body: string): Promise<'delivered' | 'logged'>;
}
