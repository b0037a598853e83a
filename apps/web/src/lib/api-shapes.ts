/**
 * Outputs of the JobManager's procedures the dashboard reads, straight from
 * its `AppRouter` (type-only: nothing of the JobManager is bundled).
 */
import type { RouterOutputs } from './trpc';

export type {
  ClusterThroughput,
  HealthPoint,
  JobDetails,
  JobEdgeView,
  JobEventView,
  JobExceptionView,
  JobSummary,
  JobVertexView,
  PlannedJob,
  SubtaskView,
  TaskManagerDetails,
  TaskManagerSubtask,
  UploadResult,
  VertexMetrics,
} from '@freshet/jobmanager/router';

/** A compile or type error, positioned in the uploaded program (`error.data.diagnostics`). */
export interface ProgramDiagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
  codeFrame: string;
}

/** Input of `jobs.plan` (and, with a name, `jobs.submit`). */
export interface PlanInput {
  artifactId: string;
  args: string[];
  parallelism?: number;
  maxParallelism?: number;
  runtimeMode?: 'STREAMING' | 'BATCH';
}

/** `jobs.list`'s page. */
export type JobList = RouterOutputs['jobs']['list'];
