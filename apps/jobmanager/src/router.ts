import type { inferRouterError, inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { artifactsRouter } from './routers/artifacts.js';
import { authRouter } from './routers/auth.js';
import { clusterRouter } from './routers/cluster.js';
import { executionsRouter } from './routers/executions.js';
import { jobsRouter } from './routers/jobs.js';
import { outputRouter } from './routers/output.js';
import { taskManagersRouter } from './routers/task-managers.js';
import { tokensRouter } from './routers/tokens.js';
import { tapsRouter } from './routers/taps.js';
import { profilesRouter } from './routers/profiles.js';
import { router, type Access, type ProcedureMeta } from './trpc.js';

/** The JobManager's whole tRPC API, served at `/trpc`. */
export const appRouter = router({
  cluster: clusterRouter,
  taskManagers: taskManagersRouter,
  artifacts: artifactsRouter,
  jobs: jobsRouter,
  output: outputRouter,
  executions: executionsRouter,
  auth: authRouter,
  tokens: tokensRouter,
  taps: tapsRouter,
  profiles: profilesRouter,
});

/** One procedure of the API, as {@link listProcedures} describes it. */
export interface ProcedureInfo {
  /** `jobs.submit` */
  path: string;
  type: 'query' | 'mutation' | 'subscription';
  /** Who may call it; undefined only for a procedure declared without one of the builders (a bug). */
  access: Access | undefined;
}

/** Every procedure of the API with its kind and access, read from the router (so nothing is forgotten). */
export function listProcedures(): ProcedureInfo[] {
  const procedures = appRouter._def.procedures as unknown as Record<
    string,
    { _def: { type: ProcedureInfo['type']; meta?: ProcedureMeta } }
  >;
  return Object.entries(procedures).map(([path, p]) => ({
    path,
    type: p._def.type,
    access: p._def.meta?.access,
  }));
}

/** Type of the JobManager's API, for typed clients (`@freshet/jobmanager/router`). */
export type AppRouter = typeof appRouter;

/**
 * Inputs of every procedure as a client passes them, e.g.
 * `RouterInputs['jobs']['plan']` (zod input types: defaults optional).
 */
export type RouterInputs = inferRouterInputs<AppRouter>;
/** Outputs of every procedure as a client receives them (JSON-serialized), e.g. `RouterOutputs['jobs']['get']`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>;
/** The shape of an error response, with the JobManager's `data.diagnostics`. */
export type RouterErrorShape = inferRouterError<AppRouter>;

export type { ProgramDiagnostic } from '@freshet/planner';
export type { Role } from './auth/roles.js';
export type { TokenInfo, CreatedToken } from './auth/tokens.js';
export type { Session, WhoAmI } from './routers/auth.js';

export type { ClusterOverview, ClusterThroughput, HealthPoint, TaskManagerInfo } from './cluster/registry.js';
export type { TaskManagerDetails } from './routers/task-managers.js';
export type { ArtifactDetails, ArtifactInfo, UploadResult } from './artifacts/service.js';
export type { PlannedJob } from './jobs/planning.js';
export type { CollectedRecords, TaskManagerSubtask } from './jobs/service.js';
export type {
  JobDetails,
  JobEdgeView,
  JobEventView,
  JobExceptionView,
  JobList,
  JobSummary,
  JobVertexView,
  SubtaskView,
} from './jobs/views.js';
export type { SubtaskMetrics, VertexMetrics, VertexMetricsPoint } from './jobs/metrics.js';
export type { CheckpointAckView, CheckpointView, JobCheckpointsView } from './jobs/checkpoint-views.js';
export type { OutputTail } from './routers/output.js';
export type { OutputRecord } from './output/tail.js';
export type { EdgeTapView, TapRecord } from './edge-taps/edge-taps.js';
export type { CpuProfileView } from './profiles/cpu-profiles.js';
