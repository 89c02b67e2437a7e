import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/**
 * `--profile FILE`: the V8 CPU profile of this process during the service's phases only (the baseline's
 * phases and the setup are left out), written as a .cpuprofile that Chrome DevTools or speedscope opens.
 * Unlike `node --cpu-prof`, async work started in a phase is not lost to a whole-run profile.
 */
export class PhaseProfiler {
  readonly #session = new Session();
  #profile: { nodes: unknown[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number } | undefined;

  constructor(readonly file: string) {
    this.#session.connect();
  }

  async during<T>(work: () => Promise<T>): Promise<T> {
    await this.#session.post('Profiler.enable');
    await this.#session.post('Profiler.start');
    try {
      return await work();
    } finally {
      const { profile } = await this.#session.post('Profiler.stop');
      this.#merge(profile as unknown as NonNullable<PhaseProfiler['profile']>);
    }
  }

  get profile() {
    return this.#profile;
  }

  /** Several phases in one file: the later profiles' samples appended as if they followed at once. */
  #merge(next: NonNullable<PhaseProfiler['profile']>): void {
    if (!this.#profile) {
      this.#profile = next;
      return;
    }
    const offset = Math.max(...this.#profile.nodes.map((node) => (node as { id: number }).id));
    for (const node of next.nodes as { id: number; children?: number[] }[]) {
      node.id += offset;
      node.children = node.children?.map((child) => child + offset);
    }
    this.#profile.nodes.push(...next.nodes);
    this.#profile.samples.push(...next.samples.map((sample) => sample + offset));
    this.#profile.timeDeltas.push(...next.timeDeltas);
    this.#profile.endTime += next.endTime - next.startTime;
  }

  write(): void {
    if (this.#profile) writeFileSync(this.file, JSON.stringify(this.#profile));
    this.#session.disconnect();
  }
}
