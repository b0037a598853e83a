/** Messages between `planInSandbox` and the plan child, over the child's IPC channel. */
import type { PlanOverrides, StreamGraphJson } from '@freshet/graph';

/**
 * Settings that take precedence over the program's own (`--parallelism`, `--mode`, …).
 * Exactly the overrides a `ProgramSpec` carries (no job name): workers re-plan
 * from the ProgramSpec and must arrive at the same plan hash.
 */
export type { PlanOverrides } from '@freshet/graph';

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
  | { type: 'error'; error: { name: string; message: string; stack?: string } };
