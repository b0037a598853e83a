/** Messages between `planInSandbox` and the plan child, over the child's IPC channel. */
import type { PlanOverrides, StreamGraphJson } from '@freshet/graph';
import type { ErrorJSON } from '@freshet/errors';

/**
 * Settings that take precedence over the program's own (`--parallelism`, `--mode`, …):
 * exactly the overrides a `ProgramSpec` and a Deployment carry (no job name), declared
 * once in `@freshet/graph`. Workers re-plan with them and must arrive at the same plan hash.
 */
export type { PlanOverrides };

/**
 * Parent → child: plan this bundle. The bundle travels as text: the child
 * writes it into its private directory and imports it from there, so the
 * sandbox mounts none of the host's data directories.
 */
export interface ChildRequest {
  /** Where the host keeps the bundle (for messages only). */
  bundlePath: string;
  bundleSource: string;
  /** The child's private, writable directory. */
  workDir: string;
  args: string[];
  overrides: PlanOverrides;
}

/** Child → parent. */
export type ChildReply =
  { type: 'ready' } | { type: 'graph'; graph: StreamGraphJson } | { type: 'error'; error: ErrorJSON };
