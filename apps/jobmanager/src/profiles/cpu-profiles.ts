/**
 * CPU profiles of TaskManagers on request (the dashboard's "Profile 10 s"):
 * sends `profileCpu` to the TaskManager, waits for its
 * `taskManagers.reportProfile` and hands the flame tree to the caller. One
 * profile at a time per TaskManager; a TaskManager that does not answer in
 * the profile's time and a margin fails the request.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, UnavailableError } from '@freshet/errors';
import type { FlameNodeShape, ReportProfileInput, ReportProfileOutput } from '@freshet/protocol';
import type { ClusterRegistry } from '../cluster/registry.js';
import type { CommandHub } from '../jobs/commands.js';

/** `profiles.cpu`'s answer. */
export interface CpuProfileView {
  taskManagerId: string;
  durationMs: number;
  /** Epoch ms when the profile started. */
  startedAt: number;
  /** Root `TaskManager`, one child per job process, one below it per thread. */
  tree: FlameNodeShape;
}

interface Pending {
  profileId: string;
  resolve: (tree: FlameNodeShape) => void;
  reject: (error: Error) => void;
}

/** Options of {@link CpuProfiles}. */
export interface CpuProfilesOptions {
  registry: Pick<ClusterRegistry, 'requireSession' | 'hasSession'>;
  commands: Pick<CommandHub, 'push'>;
  /** Time a TaskManager has beyond the profile's own to answer. @default 20000 */
  marginMs?: number;
}

/** The CPU profiles being taken. */
export class CpuProfiles {
  readonly #o: CpuProfilesOptions;
  readonly #pending = new Map<string, Pending>();

  constructor(options: CpuProfilesOptions) {
    this.#o = options;
  }

  /** Profiles TaskManager `taskManagerId`'s job processes for `durationMs` and returns the flame tree. */
  async profile(taskManagerId: string, durationMs: number): Promise<CpuProfileView> {
    if (!this.#o.registry.hasSession(taskManagerId))
      throw new NotFoundError(
        `TaskManager ${JSON.stringify(taskManagerId)} is not connected to this JobManager: only a live TaskManager can be profiled`,
      );
    if (this.#pending.has(taskManagerId))
      throw new ConflictError(
        `A CPU profile of TaskManager ${taskManagerId} is being taken; wait for it to finish, one at a time`,
      );
    const profileId = randomUUID();
    const startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const tree = new Promise<FlameNodeShape>((resolve, reject) => {
      this.#pending.set(taskManagerId, { profileId, resolve, reject });
      timer = setTimeout(
        () => {
          reject(
            new UnavailableError(
              `TaskManager ${taskManagerId} sent no CPU profile within ${Math.round((durationMs + (this.#o.marginMs ?? 20_000)) / 1000)} s`,
            ),
          );
        },
        durationMs + (this.#o.marginMs ?? 20_000),
      );
    });
    try {
      this.#o.commands.push(taskManagerId, { type: 'profileCpu', profileId, durationMs });
      return { taskManagerId, durationMs, startedAt, tree: await tree };
    } finally {
      clearTimeout(timer);
      if (this.#pending.get(taskManagerId)?.profileId === profileId) this.#pending.delete(taskManagerId);
    }
  }

  /** `taskManagers.reportProfile`: the answer to the pending profile of this TaskManager (others are dropped). */
  report(input: ReportProfileInput): ReportProfileOutput {
    this.#o.registry.requireSession(input.taskManagerId, input.token);
    const pending = this.#pending.get(input.taskManagerId);
    if (pending?.profileId !== input.profileId) return { accepted: false };
    this.#pending.delete(input.taskManagerId);
    if (input.tree !== undefined) pending.resolve(input.tree);
    else
      pending.reject(
        new ConflictError(
          `TaskManager ${input.taskManagerId} took no profile: ${input.error ?? 'no reason given'}`,
        ),
      );
    return { accepted: true };
  }
}
