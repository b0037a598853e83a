/**
 * Shapes of the JobManager's job, artifact and metrics procedures as the
 * dashboard reads them.
 */
import type { JobGraph, JobStatus, VertexMetrics } from './jobs';

/** A compile or type error, positioned in the uploaded program. */
export interface ProgramDiagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
  codeFrame: string;
}

/** A stored program. */
export interface ArtifactInfo {
  id: string;
  name: string;
  size: number;
  createdAt: string;
}

/** Input of `jobs.plan` and `jobs.submit`. */
export interface PlanInput {
  artifactId: string;
  args: string[];
  parallelism?: number;
  maxParallelism?: number;
  runtimeMode?: 'STREAMING' | 'BATCH';
}

/** Output of `jobs.plan`. */
export interface PlanOutput {
  jobGraph: JobGraph;
  planHash: string;
}

/** One row of `jobs.list`. */
export interface JobSummary {
  id: string;
  name: string;
  status: JobStatus;
  parallelism: number;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

/** One execution attempt of one subtask. */
export interface SubtaskInfo {
  vertexId: string;
  index: number;
  attempt: number;
  state: string;
  taskManagerId: string | null;
  taskManagerAddress: string | null;
  startedAt: string | null;
  endedAt: string | null;
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
  backpressureRatio: number;
  watermark: number | null;
}

/** A state transition of the job or of a subtask. */
export interface JobEvent {
  at: string;
  kind: string;
  message: string;
}

/** A failure with the user's stack trace (source positions of the program). */
export interface JobException {
  at: string;
  message: string;
  stack: string;
  /** Where it happened, when a subtask threw. */
  vertexId: string | null;
  subtaskIndex: number | null;
  taskManagerId: string | null;
}

/** `jobs.get` (and what `jobs.onUpdate` pushes). */
export interface JobDetail {
  job: JobSummary & { artifactId: string; args: string[]; maxParallelism: number };
  jobGraph: JobGraph;
  subtasks: SubtaskInfo[];
  vertexMetrics: Record<string, VertexMetrics>;
  edgeMetrics: Record<string, { recordsPerSecond: number }>;
  events: JobEvent[];
  exceptions: JobException[];
  configuration: Record<string, unknown>;
}

/** One point of the cluster's throughput history. */
export interface ThroughputPoint {
  at: string;
  recordsInPerSecond: number;
  recordsOutPerSecond: number;
}

/** One heartbeat's health of a TaskManager. */
export interface HealthPoint {
  at: string;
  cpu: number;
  heapUsed: number;
  rss: number;
  eventLoopDelayMs: number;
  slotsUsed: number;
}
