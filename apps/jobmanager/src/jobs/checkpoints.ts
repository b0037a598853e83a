/**
 * The checkpoints of one job in the cluster: the I/O-free
 * `CheckpointCoordinator` of `@freshet/runtime`, given a persistence
 * adapter — snapshots and `_metadata` in the JobManager's checkpoint storage,
 * checkpoint rows in the job store — and the control plane: triggers,
 * completion and abort notices, finish commands go to the TaskManagers
 * running the executions concerned, naming each execution's current
 * attempt, so only the current attempt ever commits.
 *
 * TaskManagers upload each snapshot over HTTP; {@link JobCheckpoints.upload}
 * checks that the uploading TaskManager runs that subtask in that attempt,
 * stores the bytes and acknowledges the checkpoint (the upload is the
 * acknowledgement). {@link JobCheckpoints.readState} serves the state a
 * subtask restores from, under the same check.
 */
import { NotFoundError } from '@freshet/errors';
import type { CheckpointingSpec, Restore, SubtaskAttempt, TaskManagerCommand } from '@freshet/protocol';
import {
  CheckpointCoordinator,
  checkpointMetadataOf,
  executionKey,
  type CheckpointFailureError,
  type CheckpointStorage,
  type CompletedCheckpoint,
  type CoordinatorClock,
  type DiscardRequest,
  type ExecutionVertexId,
} from '@freshet/runtime';
import type { Logger } from '../logger.js';
import { StaleAttemptError } from './errors.js';
import { TERMINAL, type ExecutionGraph, type ExecutionVertex } from './execution-graph.js';
import type { JobStore } from './job-store.js';

/** Where commands to TaskManagers go. */
export interface TaskManagerGateway {
  /** Queues `command` for a TaskManager (dropped when it holds no session). */
  send(taskManagerId: string, command: TaskManagerCommand): void;
}

/** Options of {@link JobCheckpoints}. */
export interface JobCheckpointsOptions {
  graph: ExecutionGraph;
  /** The job's checkpointing (its own, else the cluster's default); undefined = only a bounded job's final checkpoint. */
  checkpointing: CheckpointingSpec | undefined;
  storage: CheckpointStorage;
  store: JobStore;
  gateway: TaskManagerGateway;
  logger: Logger;
  clock: CoordinatorClock;
  /** The first checkpoint id to use (ids are never reused). */
  nextCheckpointId: number;
  /** Retained completed checkpoints from before (a recovered job), oldest first. */
  completed: readonly CompletedCheckpoint[];
  /** Too many checkpoints failed in a row: the job fails through its restart strategy. */
  onJobFailure: (error: CheckpointFailureError) => void;
  /** A checkpoint completed or was aborted (for subscribers of the job). */
  onChange: () => void;
}

/** What an upload carries besides the bytes. */
export interface UploadStats {
  alignmentMs: number;
  syncMs: number;
  asyncMs: number;
  afterCheckpointId: number;
}

/** The checkpoints of one job. */
export class JobCheckpoints {
  readonly coordinator: CheckpointCoordinator;
  readonly #o: JobCheckpointsOptions;
  readonly #jobId: string;

  constructor(options: JobCheckpointsOptions) {
    this.#o = options;
    const { graph } = options;
    this.#jobId = graph.jobId;
    const { store, storage, logger } = options;
    const jobId = graph.jobId;
    const failed = (what: string) => (err: unknown) => {
      logger.error({ err, jobId }, what);
    };
    this.coordinator = new CheckpointCoordinator({
      jobId,
      jobGraph: graph.jobGraph,
      checkpointing: options.checkpointing,
      clock: options.clock,
      nextCheckpointId: options.nextCheckpointId,
      completed: options.completed,
      hooks: {
        checkpointTriggered: (info) => store.checkpointTriggered(jobId, info, graph.vertices().length),
        triggerSources: (info, sources) => {
          this.#sendTo(sources, (tasks) => ({
            type: 'triggerCheckpoint',
            jobId,
            checkpointId: info.checkpointId,
            timestamp: info.triggeredAt,
            tasks,
          }));
        },
        persistCompleted: async (checkpoint) => {
          const path = await storage.writeMetadata(checkpointMetadataOf(graph.jobGraph, checkpoint));
          await store.checkpointCompleted(jobId, checkpoint, path);
          logger.debug(
            {
              jobId,
              checkpointId: checkpoint.checkpointId,
              bytes: checkpoint.bytes,
              ms: checkpoint.durationMs,
            },
            'Checkpoint completed',
          );
        },
        notifyComplete: (checkpointId) => {
          this.#sendTo(undefined, (tasks) => ({
            type: 'notifyCheckpointComplete',
            jobId,
            checkpointId,
            tasks,
          }));
          options.onChange();
        },
        notifyAborted: (checkpointId, reason) => {
          this.#sendTo(undefined, (tasks) => ({
            type: 'notifyCheckpointAborted',
            jobId,
            checkpointId,
            tasks,
          }));
          const at = new Date(options.clock.now());
          store
            .checkpointFailed(jobId, checkpointId, reason, at)
            .catch(failed('Recording an aborted checkpoint failed'));
          store
            .recordEvent(
              jobId,
              { kind: 'CHECKPOINT', message: `Checkpoint ${checkpointId} aborted: ${reason}` },
              at,
            )
            .catch(failed('Recording an aborted checkpoint failed'));
          options.onChange();
        },
        finishExecutions: (checkpointId, executions) => {
          this.#sendTo(executions, (tasks) => ({ type: 'finishTasks', jobId, checkpointId, tasks }));
        },
        discard: (request: DiscardRequest) => {
          void storage
            .discard(jobId, request)
            .then(
              () =>
                request.checkpointId === undefined
                  ? undefined
                  : store.checkpointsDiscarded(jobId, [request.checkpointId], new Date(options.clock.now())),
              failed('Deleting checkpoint data failed'),
            );
        },
        failJob: (error) => {
          options.onJobFailure(error);
        },
      },
    });
  }

  /** The newest completed checkpoint, if any. */
  get latest(): CompletedCheckpoint | undefined {
    return this.coordinator.latestCompleted;
  }

  /**
   * What a deployment of `vertices` restores from: the latest completed
   * checkpoint's state of each (undefined when there is none: a fresh start).
   */
  restoreFor(vertices: readonly ExecutionVertex[]): Restore | undefined {
    const latest = this.latest;
    if (latest === undefined) return undefined;
    const subtasks: Restore['subtasks'] = {};
    for (const v of vertices) {
      const state = latest.states.get(v.key);
      if (state !== undefined) subtasks[v.key] = { final: state.final };
    }
    return { checkpointId: latest.checkpointId, subtasks };
  }

  /**
   * Stores an uploaded snapshot (`checkpointId` a number) or final state
   * (`'final'`) and acknowledges it.
   *
   * @throws StaleAttemptError when `taskManagerId` does not run the subtask in `attempt`
   */
  async upload(
    taskManagerId: string,
    attempt: number,
    checkpointId: number | 'final',
    vertexId: string,
    subtask: number,
    bytes: Uint8Array,
    stats: UploadStats,
  ): Promise<void> {
    this.#requireCurrent(taskManagerId, attempt, vertexId, subtask);
    const started = Date.now();
    const handle = await this.#o.storage.writeState(
      { jobId: this.#jobId, checkpointId, attempt, vertexId, subtask },
      bytes,
    );
    const asyncMs = stats.asyncMs + (Date.now() - started);
    // The coordinator fences by attempt too: a restart while the bytes were written makes this a no-op.
    if (checkpointId === 'final') {
      this.coordinator.acknowledgeFinalState({
        vertexId,
        subtask,
        attempt,
        handle,
        bytes: bytes.byteLength,
        syncMs: stats.syncMs,
        asyncMs,
        afterCheckpointId: stats.afterCheckpointId,
      });
    } else {
      this.coordinator.acknowledge({
        checkpointId,
        vertexId,
        subtask,
        attempt,
        handle,
        bytes: bytes.byteLength,
        alignmentMs: stats.alignmentMs,
        syncMs: stats.syncMs,
        asyncMs,
      });
    }
  }

  /**
   * The state subtask `vertexId#subtask` restores from in checkpoint
   * `checkpointId`, for the TaskManager that runs it in `attempt`.
   *
   * @throws StaleAttemptError when `taskManagerId` does not run the subtask in `attempt`
   * @throws NotFoundError when the checkpoint is not retained or holds no state of the subtask
   */
  async readState(
    taskManagerId: string,
    attempt: number,
    checkpointId: number,
    vertexId: string,
    subtask: number,
  ): Promise<Uint8Array> {
    this.#requireCurrent(taskManagerId, attempt, vertexId, subtask);
    const checkpoint = this.coordinator.completedCheckpoints.find((c) => c.checkpointId === checkpointId);
    const state = checkpoint?.states.get(executionKey(vertexId, subtask));
    if (state === undefined) {
      throw new NotFoundError(
        `Checkpoint ${checkpointId} of job ${this.#jobId} is not retained or holds no state of ${executionKey(vertexId, subtask)}`,
      );
    }
    return this.#o.storage.readState(this.#jobId, state.handle);
  }

  #requireCurrent(taskManagerId: string, attempt: number, vertexId: string, subtask: number): void {
    if (!this.#o.graph.isCurrent(vertexId, subtask, attempt, taskManagerId)) {
      throw new StaleAttemptError(
        `TaskManager ${taskManagerId} does not run ${executionKey(vertexId, subtask)} of job ${this.#jobId} in attempt ${attempt}`,
      );
    }
  }

  /**
   * Sends one command per TaskManager naming the current attempts of its
   * executions among `only` (default: every live execution).
   */
  #sendTo(
    only: readonly ExecutionVertexId[] | undefined,
    command: (tasks: SubtaskAttempt[]) => TaskManagerCommand,
  ): void {
    const { graph, gateway } = this.#o;
    const wanted =
      only === undefined ? undefined : new Set(only.map((e) => executionKey(e.vertexId, e.subtask)));
    const byTm = new Map<string, SubtaskAttempt[]>();
    for (const v of graph.vertices()) {
      if (wanted !== undefined ? !wanted.has(v.key) : TERMINAL.has(v.current.state)) continue;
      const tm = v.current.taskManagerId;
      if (tm === null) continue;
      let list = byTm.get(tm);
      if (list === undefined) byTm.set(tm, (list = []));
      list.push({ vertexId: v.vertexId, subtask: v.subtask, attempt: v.current.attempt });
    }
    for (const [tm, tasks] of byTm) gateway.send(tm, command(tasks));
  }
}
