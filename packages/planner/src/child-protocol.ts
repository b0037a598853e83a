/** Messages between `planInSandbox` and the plan child, over the child's IPC channel. */
import type { PlanOverrides, StreamGraphJson } from '@freshet/graph';
import type { ErrorJSON } from '@freshet/errors';

/**
 * Settings that take precedence over the program's own (`--parallelism`, `--mode`, …):
 * exactly the overrides a `ProgramSpec` and a Deployment carry (no job name), declared
 * once in `@freshet/graph`. Workers re-plan with them and must arrive at the same plan hash.
 */
export type { PlanOverrides };

/** Parent → child: plan this bundle. */
export interface ChildRequest {
  bundlePath: string;
  args: string[];
  overrides: PlanOverrides;
}

/** Child → parent. */
export type ChildReply =
  | { type: 'ready' }
  | { type: 'graph'; graph: StreamGraphJson }
  | { type: 'error'; error: ErrorJSON };
