import { ConfigError, type Config } from '../config.js';
import type { BillingGatewayClient } from '../domain/gateway/billing-gateway-client.js';
import { StripeGateway } from './stripe/stripe-gateway.js';
import { SyntheticGateway } from './synthetic/synthetic-gateway.js';

export type OpenGateway = { client: BillingGatewayClient; close(): Promise<void> };

/** Where the synthetic gateway keeps its state: the service's own database, in a schema of its own. */
export type GatewayDatabase = { databaseUrl: string; prepare: boolean };

/**
 * The gateway the configuration asks for. The synthetic one connects its own small pool and creates its
 * schema here; Stripe connects nothing until the first call. `close` is a stop step of the service.
 */
export async function createGateway(config: Config['gateway'], database: GatewayDatabase): Promise<OpenGateway> {
  switch (config.kind) {
    case 'synthetic': {
      const client = await SyntheticGateway.open(database, { settlementDelayMs: config.syntheticSettlementDelayMs });
      return { client, close: () => client.close() };
    }
    case 'stripe':
      // loadConfig already insists on the key; this guards configs built by hand.
      if (!config.stripeSecretKey) throw new ConfigError('STRIPE_SECRET_KEY is required when BILLING_GATEWAY=stripe');
      return {
        client: new StripeGateway({
          secretKey: config.stripeSecretKey,
          host: config.stripeApiHost,
          port: config.stripeApiPort,
          protocol: config.stripeApiProtocol,
          timeoutMs: config.timeoutMs,
        }),
        close: async () => {},
      };
  }
}
