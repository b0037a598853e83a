/**
 * What the scheduler persists about jobs, their executions and their
 * checkpoints: the narrow interface it writes through. The JobManager
 * implements it over Prisma (`prisma-job-store.ts`); keeping it this narrow
 * lets the scheduler be tested without a database. The read side of the API
 * (`views.ts`) reads the database directly.
 */
import type { JobStatus, SavepointKind } from '@freshet/db';
import type { JobGraph, ProgramInvocation, RestartStrategySpec, RuntimeMode } from '@freshet/protocol';
import type { CompletedCheckpoint } from '@freshet/runtime';
import type { Execution, StatusChange, Transition } from './execution-graph.js';

/** A checkpoint that was copied out as a savepoint: what took it and where it went. */
export interface SavepointRecord {
  kind: SavepointKind;
  /** The savepoint's directory. */
  path: string;
}

/** A job as it is submitted. */
export interface NewJob {
  id: string;
  name: string;
  artifactId: string;
  bundleSha256: string;
  runtimeMode: RuntimeMode;
  planHash: string;
  jobGraph: JobGraph;
  /** Arguments and plan overrides, as TaskManagers re-plan with them. */
  program: ProgramInvocation;
  /** The strategy it runs with (its own, else the cluster's default). */
  restartStrategy: RestartStrategySpec;
  /** The savepoint (or retained checkpoint) directory it started from. */
  restoredFrom?: string | undefined;
  createdAt: Date;
  /** Its first executions (attempt 0, CREATED). */
  executions: readonly Execution[];
  /** The INFO event recording the submission. */
  message: string;
}

/** A job that had not ended when the JobManager stopped, as the database has it. */
export interface StoredJob extends Omit<NewJob, 'executions' | 'message' | 'createdAt'> {
  status: JobStatus;
  attempt: number;
  restarts: number;
  /** The newest execution of every subtask. */
  executions: Execution[];
}

/** A job event that is not a state transition. */
export interface JobEventInput {
  kind: 'INFO' | 'EXCEPTION' | 'CHECKPOINT';
  message: string;
  stackTrace?: string | null;
  executionId?: string;
}

/** What an ended job keeps in its row: its collected records and its metrics (with the accumulators). */
export interface ArchivedJob {
  collected: unknown;
  metrics: unknown;
}

/** Extra job fields written with a status change. */
export interface StatusFields {
  startedAt?: Date;
  endedAt?: Date;
  /**
   * With a terminal status: the job's results as they ended, in the same
   * write, so a JobManager that stops before the job leaves memory loses none.
   */
  archived?: ArchivedJob;
}

/** Persistence of jobs, executions and checkpoint metadata. */
export interface JobStore {
  /** The job, its vertices, edges, first executions and the submission event, in one transaction. */
  createJob(job: NewJob): Promise<void>;
  /** Execution state changes (rows and STATE events; EXCEPTION events for reported failures), in one transaction. */
  recordTransitions(jobId: string, transitions: readonly Transition[], at: Date): Promise<void>;
  /** Rows of a new attempt's executions, and the job's attempt and restart counters. */
  createAttempt(
    jobId: string,
    executions: readonly Execution[],
    counters: { attempt: number; restarts: number },
    at: Date,
  ): Promise<void>;
  /** A job status change, with its STATE event. */
  setStatus(
    jobId: string,
    jobName: string,
    change: StatusChange,
    why: string,
    fields: StatusFields,
    at: Date,
  ): Promise<void>;
  recordEvent(jobId: string, event: JobEventInput, at: Date): Promise<void>;
  /** The job's root cause, for display. */
  setFailureCause(jobId: string, cause: string): Promise<void>;
  /** An ended job leaves memory: its collected records and last metrics go to its row, where every later read finds them. */
  archive(jobId: string, archived: ArchivedJob): Promise<void>;
  /** What a failed execution's row says went wrong. */
  failureCauseOf(executionId: string): Promise<string | null>;
  /** The status of a job not in memory; null for an unknown id. */
  jobStatus(jobId: string): Promise<JobStatus | null>;
  /** Jobs whose status is not terminal (recovered after a JobManager restart). */
  unfinishedJobs(): Promise<StoredJob[]>;

  /** Checkpoint `checkpointId` was triggered (IN_PROGRESS). */
  checkpointTriggered(
    jobId: string,
    checkpoint: { checkpointId: number; attempt: number; triggeredAt: number },
    totalSubtasks: number,
  ): Promise<void>;
  /** The commit point: the checkpoint is COMPLETED, with every subtask's acknowledgement; `savepoint` when it was copied to a savepoint. */
  checkpointCompleted(
    jobId: string,
    checkpoint: CompletedCheckpoint,
    storagePath: string,
    savepoint?: SavepointRecord,
  ): Promise<void>;
  /** Checkpoints still IN_PROGRESS (a previous JobManager's) are FAILED with `reason`. */
  abandonCheckpoints(jobId: string, reason: string, at: Date): Promise<void>;
  /** The checkpoint was aborted. */
  checkpointFailed(jobId: string, checkpointId: number, reason: string, at: Date): Promise<void>;
  /** Retention deleted these checkpoints' data. */
  checkpointsDiscarded(jobId: string, checkpointIds: readonly number[], at: Date): Promise<void>;
  /** The newest `limit` COMPLETED checkpoints whose data was not discarded, oldest first. */
  retainedCheckpoints(jobId: string, limit: number): Promise<CompletedCheckpoint[]>;
  /** The id after the highest checkpoint id the job ever used (ids are never reused). */
  nextCheckpointId(jobId: string): Promise<number>;
}
