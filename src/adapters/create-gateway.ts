import { ConfigError, type Config } from '../config.js';
import type { BillingGatewayClient } from '../domain/gateway/billing-gateway-client.js';
import { StripeGateway } from './stripe/stripe-gateway.js';
import { SyntheticGateway } from './synthetic/synthetic-gateway.js';

/** The gateway the configuration asks for; nothing connects until the first call. */
export function createGateway(config: Config['gateway']): BillingGatewayClient {
  switch (config.kind) {
    case 'synthetic':
      return new SyntheticGateway({ settlementDelayMs: config.syntheticSettlementDelayMs });
    case 'stripe':
      // loadConfig already insists on the key; this guards configs built by hand.
      if (!config.stripeSecretKey) throw new ConfigError('STRIPE_SECRET_KEY is required when BILLING_GATEWAY=stripe');
      return new StripeGateway({
        secretKey: config.stripeSecretKey,
        host: config.stripeApiHost,
        port: config.stripeApiPort,
        protocol: config.stripeApiProtocol,
        timeoutMs: config.timeoutMs,
      });
  }
}
