import { createHmac } from 'node:crypto';
import type { Notifier } from '../../domain/notifications/notifier.js';
import type { Logger } from '../../logger.js';

export const SIGNATURE_HEADER = 'x-billing-signature';

export type HttpNotifierOptions = { url: string | undefined; secret: string | undefined; logger: Logger };

/**
 * Capture notifications as a signed JSON POST to NOTIFICATION_URL, or a log line when none is set.
 * A non-2xx answer throws, so pg-boss retries the job with backoff.
 */
export function createHttpNotifier({ url, secret, logger }: HttpNotifierOptions): Notifier {
  return {
    async send(body) {
      if (!url) {
        logger.info({ notification: JSON.parse(body) }, 'capture notification (no NOTIFICATION_URL set)');
        return 'logged';
      }
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(secret ? { [SIGNATURE_HEADER]: signNotification(body, secret) } : {}) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) throw new Error(`notification endpoint answered ${response.status}`);
      return 'delivered';
    },
  };
}

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, the scheme Stripe uses for its webhooks. */
export function signNotification(body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const signature = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${signature}`;
}
