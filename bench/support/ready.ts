import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `<url>/readyz` every 100 ms until a started process answers 200: it fails at once if the
 * process exits, and after 60 s with `describe()` (its last output, say) in the message.
 */
export async function waitForReady(url: string, exitCode: () => number | null, describe: () => string): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (;;) {
    if (exitCode() !== null) throw new Error(`exited at start (${exitCode()}): ${describe()}`);
    const ready = await fetch(`${url}/readyz`).then(
      async (response) => {
        await response.body?.cancel();
        return response.ok;
      },
      () => false,
    );
    if (ready) return;
    if (performance.now() > deadline) throw new Error(`not ready within 60 s: ${describe()}`);
    await delay(100);
  }
}
