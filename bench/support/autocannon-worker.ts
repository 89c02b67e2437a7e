import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';
import { recordAnswers } from './answers.js';
import type { CannonSpec } from './cannon.js';
import { pinThisThread } from './pin.js';

/** autocannon in its own thread, so the load generator does not share the service's event loop. */
const spec = workerData as CannonSpec;
if (spec.cpu !== undefined) pinThisThread(spec.cpu);

let next = 0;
const list = spec.requests;
let finish!: (result: autocannon.Result) => void;
let fail!: (error: unknown) => void;
const finished = new Promise<autocannon.Result>((resolve, reject) => ((finish = resolve), (fail = reject)));
const instance = autocannon(
  {
    url: spec.url,
    method: 'POST',
    headers: spec.headers,
    ...(spec.body !== undefined ? { body: spec.body } : {}),
    ...(list
      ? {
          amount: list.length,
          requests: [
            {
              setupRequest: (request: autocannon.Request) => {
                const item = list[next++ % list.length]!;
                return { ...request, body: item.body, headers: { ...request.headers, ...item.headers } };
              },
            },
          ],
        }
      : {}),
    connections: spec.connections,
    duration: spec.seconds,
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    timeout: 10,
  },
  (error, result) => (error ? fail(error) : finish(result)),
);
const answers = recordAnswers(instance);
parentPort!.postMessage(answers.report(await finished));
