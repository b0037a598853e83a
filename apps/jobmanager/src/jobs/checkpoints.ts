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
import { ConflictError, NotFoundError, UnavailableError } from '@freshet/errors';
import type { CheckpointingSpec, Restore, SubtaskAttempt, TaskManagerCommand } from '@freshet/protocol';
import {
  CheckpointCoordinator,
  checkpointMetadataOf,
  executionKey,
  readSubtaskState,
  subtaskStateName,
  renumberSnapshot,
  RestorePointError,
  writeSavepoint,
  type RestorePoint,
  type SavepointTrigger,
  type StateAssignment,
  type CheckpointFailureError,
  type CheckpointStorage,
  type CompletedCheckpoint,
  type CoordinatorClock,
  type DiscardRequest,
  type ExecutionVertexId,
} from '@freshet/runtime';
import type { SavepointKind } from '@freshet/db';
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
  /** The savepoint (or retained checkpoint) the job started from, until its first checkpoint completes. */
  initial?: InitialRestore | undefined;
  /** Too many checkpoints failed in a row: the job fails through its restart strategy. */
  onJobFailure: (error: CheckpointFailureError) => void;
  /** A checkpoint completed or was aborted (for subscribers of the job). */
  onChange: () => void;
}

/** The state a job started from: a savepoint (or retained checkpoint) mapped onto its plan. */
export interface InitialRestore {
  point: RestorePoint;
  assignment: StateAssignment;
}

/** A savepoint written. */
export interface SavepointResult {
  checkpointId: number;
  /** The savepoint's directory. */
  path: string;
  bytes: number;
}

interface SavepointRequest {
  dir: string;
  trigger: SavepointTrigger;
  /** Recorded with the checkpoint. */
  kind: SavepointKind;
  resolve: (result: SavepointResult) => void;
  reject: (error: Error) => void;
}

/** What an upload carries besides the bytes. */
export interface UploadStats {
  alignmentMs: number;
  syncMs: number;
  asyncMs: number;
  afterCheckpointId: number;
  /** An incremental snapshot: the earlier checkpoints whose pieces it refers to (empty: a full one). */
  pieces?: readonly number[];
}

/** The checkpoints of one job. */
export class JobCheckpoints {
  readonly coordinator: CheckpointCoordinator;
  readonly #o: JobCheckpointsOptions;
  readonly #jobId: string;
  /** Savepoints waiting for their checkpoint, by checkpoint id. */
  readonly #savepoints = new Map<number, SavepointRequest>();
  /** A drain waits for the checkpoint that holds every subtask's final state. */
  #drain: SavepointRequest | undefined;

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
        checkpointTriggered: (info) => {
          if (this.#stopSources) this.#stopping.add(info.checkpointId);
          return store.checkpointTriggered(jobId, info, graph.vertices().length);
        },
        triggerSources: (info, sources) => {
          const stopSources = this.#stopping.has(info.checkpointId);
          this.#sendTo(sources, (tasks) => ({
            type: 'triggerCheckpoint',
            jobId,
            checkpointId: info.checkpointId,
            timestamp: info.triggeredAt,
            tasks,
            ...(stopSources ? { stopSources } : {}),
          }));
        },
        persistCompleted: async (checkpoint) => {
          const metadata = checkpointMetadataOf(graph.jobGraph, checkpoint);
          const path = await storage.writeMetadata(metadata);
          // A savepoint is copied out before the commit point: retention cannot have touched its state yet.
          let request = this.#savepoints.get(checkpoint.checkpointId);
          if (request === undefined && this.#drain !== undefined) {
            if ([...checkpoint.states.values()].every((s) => s.final)) request = this.#drain;
          }
          let savepoint: SavepointResult | undefined;
          if (request !== undefined) {
            this.#savepoints.delete(checkpoint.checkpointId);
            if (request === this.#drain) this.#drain = undefined;
            try {
              // Materialized (incremental pieces resolved into each subtask's file): its size is what it wrote.
              const written = await writeSavepoint(request.dir, metadata, request.trigger, (h) =>
                storage.readState(jobId, h),
              );
              let bytes = 0;
              for (const v of written.vertices) for (const st of v.subtasks) bytes += st.bytes;
              savepoint = { checkpointId: checkpoint.checkpointId, path: request.dir, bytes };
            } catch (error) {
              request.reject(
                error instanceof RestorePointError
                  ? error
                  : new RestorePointError(
                      `Could not write the savepoint to ${request.dir}: ${error instanceof Error ? error.message : String(error)}`,
                    ),
              );
            }
          }
          await store.checkpointCompleted(
            jobId,
            checkpoint,
            path,
            savepoint === undefined ? undefined : { kind: request!.kind, path: savepoint.path },
          );
          if (savepoint !== undefined) {
            await store
              .recordEvent(
                jobId,
                {
                  kind: 'CHECKPOINT',
                  message: `Savepoint of checkpoint ${savepoint.checkpointId} written to ${savepoint.path}`,
                },
                new Date(options.clock.now()),
              )
              .catch(failed('Recording a savepoint failed'));
            request!.resolve(savepoint);
          }
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
          const request = this.#savepoints.get(checkpointId);
          if (request !== undefined) {
            this.#savepoints.delete(checkpointId);
            request.reject(
              new ConflictError(`The savepoint's checkpoint ${checkpointId} was aborted: ${reason}`),
            );
          }
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

  /** The checkpoint a restart would restore: the latest completed one, else the savepoint the job started from. */
  get restorePointId(): number | undefined {
    return this.latest?.checkpointId ?? this.#o.initial?.assignment.checkpointId;
  }

  /**
   * Takes a savepoint into `dir`: the next checkpoint (or the one in flight,
   * a consistent cut all the same) is copied there once complete. With
   * `stopSources` the sources emit nothing after its barrier (stop with a
   * savepoint; no checkpoint may be in flight then, so one is waited for).
   * `kind` is what the checkpoint's row records (a rescale stops like a stop).
   *
   * @throws ConflictError when the checkpoint is aborted
   * @throws UnavailableError when no checkpoint can be triggered within `timeoutMs` (the job is not running)
   */
  async savepoint(
    dir: string,
    trigger: SavepointTrigger,
    timeoutMs: number,
    kind: SavepointKind = trigger === 'stop' ? 'STOP' : 'SAVEPOINT',
  ): Promise<SavepointResult> {
    const { coordinator } = this;
    const deadline = Date.now() + timeoutMs;
    const stopSources = trigger === 'stop';
    // A stop takes the next checkpoint itself: periodic ones wait meanwhile (the job ends after it).
    if (stopSources) coordinator.holdPeriodic(true);
    try {
      return await this.#savepointOnce(dir, trigger, kind, stopSources, deadline, timeoutMs);
    } finally {
      if (stopSources) coordinator.holdPeriodic(false);
    }
  }

  async #savepointOnce(
    dir: string,
    trigger: SavepointTrigger,
    kind: SavepointKind,
    stopSources: boolean,
    deadline: number,
    timeoutMs: number,
  ): Promise<SavepointResult> {
    const { coordinator } = this;
    for (;;) {
      let id = stopSources ? this.#triggerStopping() : coordinator.triggerCheckpoint();
      if (id === undefined && !stopSources) id = coordinator.pendingCheckpoint?.checkpointId;
      if (id !== undefined && !this.#savepoints.has(id)) {
        return new Promise<SavepointResult>((resolve, reject) => {
          this.#savepoints.set(id, { dir, trigger, kind, resolve, reject });
        });
      }
      if (Date.now() >= deadline) {
        throw new UnavailableError(
          `Job ${this.#jobId} could not take a checkpoint within ${timeoutMs} ms (it is not running, or its sources ended)`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Stop with `--drain`: the sources end their input, and the checkpoint
   * holding every subtask's final state (the job's last) becomes the savepoint.
   */
  drain(dir: string): Promise<SavepointResult> {
    if (this.#drain !== undefined) throw new ConflictError(`Job ${this.#jobId} is already being drained`);
    const result = new Promise<SavepointResult>((resolve, reject) => {
      this.#drain = { dir, trigger: 'drain', kind: 'DRAIN', resolve, reject };
    });
    this.#sendTo(
      this.#o.graph.jobGraph.vertices
        .filter((v) => v.isSource)
        .flatMap((v) => Array.from({ length: v.parallelism }, (_, subtask) => ({ vertexId: v.id, subtask }))),
      (tasks) => ({ type: 'drainSources', jobId: this.#jobId, tasks }),
    );
    return result;
  }

  /** Fails waiting savepoints (the job ended or restarts). */
  failSavepoints(reason: string): void {
    const waiting = [...this.#savepoints.values(), ...(this.#drain === undefined ? [] : [this.#drain])];
    this.#savepoints.clear();
    this.#drain = undefined;
    for (const r of waiting) r.reject(new ConflictError(`The savepoint was not taken: ${reason}`));
  }

  /** Set while a stopping checkpoint is triggered (the trigger hook runs synchronously inside). */
  #stopSources = false;
  /** Checkpoints whose barriers stop the sources. */
  readonly #stopping = new Set<number>();

  /** Triggers a checkpoint whose barrier stops the sources; undefined while one is in flight. */
  #triggerStopping(): number | undefined {
    this.#stopSources = true;
    try {
      return this.coordinator.triggerCheckpoint();
    } finally {
      this.#stopSources = false;
    }
  }

  /**
   * What a deployment of `vertices` restores from: the latest completed
   * checkpoint's state of each (undefined when there is none: a fresh start).
   */
  restoreFor(vertices: readonly ExecutionVertex[]): Restore | undefined {
    const latest = this.latest;
    const initial = this.#o.initial;
    if (latest === undefined && initial !== undefined) {
      const subtasks: Restore['subtasks'] = {};
      for (const v of vertices) {
        const state = initial.assignment.subtasks.get(v.key);
        // Never final: a restored subtask whose input had ended ends again at once and reports anew.
        if (state !== undefined) subtasks[v.key] = { final: false, parts: state.parts.length };
      }
      return { checkpointId: initial.assignment.checkpointId, subtasks };
    }
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
        pieces: stats.pieces,
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
    part?: number,
  ): Promise<Uint8Array> {
    this.#requireCurrent(taskManagerId, attempt, vertexId, subtask);
    const checkpoint = this.coordinator.completedCheckpoints.find((c) => c.checkpointId === checkpointId);
    const initial = this.#o.initial;
    if (
      checkpoint === undefined &&
      initial !== undefined &&
      initial.assignment.checkpointId === checkpointId
    ) {
      const parts = initial.assignment.subtasks.get(executionKey(vertexId, subtask))?.parts;
      const wanted = parts?.[part ?? 0];
      if (wanted === undefined) {
        throw new NotFoundError(
          `The savepoint job ${this.#jobId} started from holds no part ${part ?? 0} of ${executionKey(vertexId, subtask)}`,
        );
      }
      return renumberSnapshot(await initial.point.readState(wanted.handle), wanted);
    }
    if (part !== undefined && part !== 0) {
      throw new NotFoundError(`Checkpoint ${checkpointId} of job ${this.#jobId} has one part per subtask`);
    }
    const state = checkpoint?.states.get(executionKey(vertexId, subtask));
    if (state === undefined) {
      throw new NotFoundError(
        `Checkpoint ${checkpointId} of job ${this.#jobId} is not retained or holds no state of ${executionKey(vertexId, subtask)}`,
      );
    }
    // Self-contained: an incremental snapshot gets the earlier pieces it refers to resolved into it.
    return readSubtaskState(
      state,
      (h) => this.#o.storage.readState(this.#jobId, h),
      subtaskStateName(checkpointId, vertexId, subtask, this.#jobId),
    );
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
