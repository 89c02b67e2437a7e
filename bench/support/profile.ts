import { Session } from 'node:inspector/promises';

type ProfileNode = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] };
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

export type ProfileSummary = {
  /** Sampled milliseconds on the main thread, idle excluded. */
  busyMs: number;
  idleMs: number;
  byOwner: { owner: string; ms: number }[];
  /** Each sample charged to the nearest library or app frame on its stack (so a socket write counts for whoever wrote). */
  byCaller: { owner: string; ms: number }[];
  topFunctions: { name: string; owner: string; ms: number }[];
};

/** Samples this thread's CPU (the service's event loop) while `work` runs. */
export async function profileDuring<T>(work: () => Promise<T>): Promise<{ result: T; summary: ProfileSummary }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = (await session.post('Profiler.stop')) as { profile: CpuProfile };
    return { result, summary: summarizeProfile(profile) };
  } finally {
    session.disconnect();
  }
}

/** Self time per function and per owner (an npm package, Node itself, or this repo's code). */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));

  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const callerCache = new Map<number, string>();
  const callerOf = (id: number): string => {
    const cached = callerCache.get(id);
    if (cached) return cached;
    const { url } = nodes.get(id)!.callFrame;
    const parent = parents.get(id);
    const caller = url.includes('/dist/bench/support/profile.js')
      ? PROFILER
      : isLibraryOrApp(url)
        ? ownerOf(url, '')
        : parent === undefined
          ? 'Node core / native only'
          : callerOf(parent);
    callerCache.set(id, caller);
    return caller;
  };
  const byCaller = new Map<string, number>();
  const byOwner = new Map<string, number>();
  const byFunction = new Map<string, { name: string; owner: string; ms: number }>();
  let idleMs = 0;
  let busyMs = 0;
  for (const [id, us] of selfUs) {
    const frame = nodes.get(id)!.callFrame;
    const ms = us / 1000;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    if (callerOf(id) === PROFILER) continue; // collecting the profile itself
    busyMs += ms;
    const owner = ownerOf(frame.url, frame.functionName);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + ms);
    const caller = frame.functionName === '(garbage collector)' || frame.functionName === '(program)' ? owner : callerOf(id);
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + ms);
    const file = frame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/');
    const key = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
    const entry = byFunction.get(key) ?? { name: key, owner, ms: 0 };
    entry.ms += ms;
    byFunction.set(key, entry);
  }
  return {
    busyMs,
    idleMs,
    byOwner: [...byOwner].map(([owner, ms]) => ({ owner, ms })).sort((a, b) => b.ms - a.ms),
    byCaller: [...byCaller].map(([owner, ms]) => ({ owner, ms })).sort((a, b) => b.ms - a.ms),
    topFunctions: [...byFunction.values()].sort((a, b) => b.ms - a.ms).slice(0, 15),
  };
}

const PROFILER = '(the profiler itself)';
const isLibraryOrApp = (url: string) => url.includes('/node_modules/') || url.includes('/dist/src/') || url.includes('/dist/bench/');

function ownerOf(url: string, functionName: string): string {
  if (!url) {
    if (functionName === '(garbage collector)') return 'V8 garbage collector';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native: ${functionName || '(anonymous)'}`;
  }
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first?.startsWith('@') ? `${first}/${second}` : first!;
  }
  if (url.startsWith('node:')) return 'Node core (http, net, streams…)';
  if (url.includes('/dist/src/')) return 'billing-ledger src/';
  if (url.includes('/dist/bench/')) return 'bench/';
  return url;
}
