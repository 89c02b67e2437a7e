import type { BillingGatewayClient } from '../gateway/billing-gateway-client.js';

/** The gateway, counting the calls a run makes (recorded on the run: they must grow with activity, not size). */
export function countingCalls(gateway: BillingGatewayClient): { gateway: BillingGatewayClient; calls(): number } {
  let calls = 0;
  const counted = new Proxy(gateway, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls++;
        return (value as (...all: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { gateway: counted, calls: () => calls };
}
