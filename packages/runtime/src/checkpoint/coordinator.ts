/**
 * The checkpoint coordinator of one job (Flink's `CheckpointCoordinator`):
 * triggers checkpoints at the sources, collects every execution's
 * acknowledgement, completes or aborts, tells the executions the outcome,
 * and keeps the last completed checkpoints.
 *
 * It does no I/O and keeps no clock of its own: time and timers come from an
 * injected {@link CoordinatorClock}, and everything that reaches the outside
 * — persisting a checkpoint, sending triggers and notifications, deleting
 * old data — goes through {@link CheckpointCoordinatorHooks}. The local
 * mini-cluster implements the hooks in-process over a directory storage; the
 * JobManager implements them over Prisma and the control plane.
 *
 * Protocol (docs/fault-tolerance.md):
 *
 * 1. Checkpoint N is triggered every `intervalMs` (one in flight, at least
 *    `minPauseBetweenCheckpointsMs` after the previous one ended), only while
 *    every execution is RUNNING or has delivered its final state, and only
 *    at RUNNING sources; `checkpointTriggered` (persist as IN_PROGRESS) runs
 *    before the triggers go out.
 * 2. Each execution acknowledges N with its state handle, or declines it.
 *    An incremental snapshot (disk backend) names the earlier checkpoints
 *    whose pieces it refers to; they must be held by retained checkpoints
 *    (else N is aborted), and retention keeps a piece while any retained
 *    checkpoint uses it.
 * 3. An execution whose input ended delivers a *final state* once; it
 *    counts as that execution's acknowledgement of every checkpoint after
 *    the last one it saw (`afterCheckpointId`). When every execution has
 *    delivered its final state, a checkpoint completes at once, without
 *    barriers.
 * 4. With every acknowledgement in, `persistCompleted` (write `_metadata`,
 *    mark COMPLETED: the commit point) runs; then every execution is told
 *    (`notifyComplete`), executions whose final state the checkpoint holds
 *    are told to finish, and checkpoints beyond `maxRetainedCheckpoints` are
 *    discarded (data no retained checkpoint refers to).
 * 5. A timeout, a decline or a failed persist aborts N (`notifyAborted`) and
 *    counts as a checkpoint failure; more consecutive failures than
 *    `tolerableCheckpointFailureNumber` (unless -1) fail the job
 *    (`failJob`). A restart aborts N without counting.
 *
 * Fencing: every execution carries the attempt it was deployed with;
 * acknowledgements of another attempt are ignored.
 */
import type { CheckpointingSpec, JobGraph } from '@freshet/graph';
import { executionKey, executionVertices, type ExecutionVertexId } from '../executiongraph/execution-id.js';
import {
  checkpointSizes,
  type CompletedCheckpointStates,
  type StatePiece,
  type SubtaskState,
} from './metadata.js';
import type { DiscardRequest, StateHandle } from './storage.js';

/** Time and timers, injected (tests drive them by hand). */
export interface CoordinatorClock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The process's own clock and timers. */
export const SYSTEM_CLOCK: CoordinatorClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** An execution's acknowledgement of a checkpoint: its snapshot is stored. */
export interface CheckpointAck {
  checkpointId: number;
  vertexId: string;
  subtask: number;
  /** The attempt of the execution that took the snapshot. */
  attempt: number;
  handle: StateHandle;
  /** Size of the stored snapshot. */
  bytes: number;
  /**
   * The earlier checkpoints whose pieces (this subtask's snapshot in them)
   * the snapshot refers to (an incremental snapshot); absent or empty for a
   * full one. Each must be a piece a retained checkpoint holds, or the
   * checkpoint is aborted (the execution then writes a full snapshot).
   */
  pieces?: readonly number[] | undefined;
  /** From the first barrier to the last (0 at sources and single-input tasks). */
  alignmentMs: number;
  /** The synchronous part: snapshotting and encoding the operators. */
  syncMs: number;
  /** The asynchronous part: writing the snapshot to storage. */
  asyncMs: number;
}

/** An execution's final state: its input ended, it flushed, and it waits to be told to finish. */
export interface FinalStateAck extends Omit<CheckpointAck, 'checkpointId' | 'alignmentMs' | 'pieces'> {
  /** The newest checkpoint whose barrier (or trigger) the execution saw before its input ended; 0 if none. */
  afterCheckpointId: number;
}

/** A checkpoint that has been triggered and is collecting acknowledgements. */
export interface PendingCheckpointInfo {
  checkpointId: number;
  attempt: number;
  triggeredAt: number;
}

/** One execution's part of a completed checkpoint. */
export interface SubtaskCheckpointStats {
  vertexId: string;
  subtask: number;
  handle: StateHandle;
  bytes: number;
  /** True when this is the execution's final state. */
  final: boolean;
  /** Earlier pieces its (incremental) snapshot refers to; absent for a full one. */
  pieces?: readonly StatePiece[] | undefined;
  /** Epoch ms of the acknowledgement. */
  ackedAt: number;
  alignmentMs: number;
  syncMs: number;
  asyncMs: number;
}

/** A completed checkpoint, with what its `_metadata` and its statistics need. */
export interface CompletedCheckpoint extends CompletedCheckpointStates {
  /** Trigger to completion. */
  durationMs: number;
  /** Sum of every subtask's own snapshot size: the bytes this checkpoint wrote. */
  bytes: number;
  /** Bytes of all the state it holds: its own snapshots and the earlier pieces they refer to. */
  fullBytes: number;
  /** Longest alignment of any subtask. */
  alignmentMs: number;
  /** Every execution's acknowledgement, in vertex order, then subtask. */
  subtasks: SubtaskCheckpointStats[];
}

/** What the coordinator asks of its host. Promise-returning hooks are awaited; the others must not throw. */
export interface CheckpointCoordinatorHooks {
  /** A checkpoint starts (persist it as IN_PROGRESS); the triggers go out once this settles. */
  checkpointTriggered?(checkpoint: PendingCheckpointInfo): void | Promise<void>;
  /** Sends `triggerCheckpoint` to these RUNNING source executions. */
  triggerSources(checkpoint: PendingCheckpointInfo, sources: readonly ExecutionVertexId[]): void;
  /** Writes `_metadata` and records the checkpoint COMPLETED: the commit point. A rejection aborts it. */
  persistCompleted(checkpoint: CompletedCheckpoint): Promise<void>;
  /** Tells every execution that the checkpoint completed (two-phase-commit sinks commit up to it). */
  notifyComplete(checkpointId: number, attempt: number): void;
  /** Tells the executions that the checkpoint was aborted, and records it FAILED with the reason. */
  notifyAborted(checkpointId: number, reason: string, attempt: number): void;
  /** Tells executions waiting with a final state that it is in checkpoint `checkpointId`: commit and finish. */
  finishExecutions(checkpointId: number, executions: readonly ExecutionVertexId[], attempt: number): void;
  /** Deletes checkpoint data that no retained checkpoint refers to any more. */
  discard(request: DiscardRequest): void;
  /** More consecutive checkpoint failures than tolerated: fail the job (its restart strategy decides). */
  failJob(error: CheckpointFailureError): void;
}

/** Options of a {@link CheckpointCoordinator}. */
export interface CheckpointCoordinatorOptions {
  jobId: string;
  jobGraph: JobGraph;
  /** Periodic checkpoints; undefined = only the final checkpoint of a bounded job. @default jobGraph.checkpointing */
  checkpointing?: CheckpointingSpec | undefined;
  hooks: CheckpointCoordinatorHooks;
  /** @default SYSTEM_CLOCK */
  clock?: CoordinatorClock;
  /** The first checkpoint id to use (ids are never reused, also across restarts of the coordinator). @default 1 */
  nextCheckpointId?: number;
  /** Retained completed checkpoints known from before (oldest first), e.g. after a JobManager restart. */
  completed?: readonly CompletedCheckpoint[];
}

/** The job failed because too many consecutive checkpoints failed. */
export class CheckpointFailureError extends Error {
  override readonly name = 'CheckpointFailureError';
}

type ExecutionState = 'DEPLOYING' | 'RUNNING' | 'FINAL';

interface Execution {
  readonly id: ExecutionVertexId;
  readonly isSource: boolean;
  attempt: number;
  state: ExecutionState;
  final:
    | {
        handle: StateHandle;
        bytes: number;
        afterCheckpointId: number;
        syncMs: number;
        asyncMs: number;
        ackedAt: number;
      }
    | undefined;
  /** Told to finish (its final state is in a completed checkpoint). */
  finishing: boolean;
}

interface Pending extends PendingCheckpointInfo {
  readonly acks: Map<string, SubtaskCheckpointStats>;
  timeout: unknown;
  /** Persisting the completed checkpoint; no longer abortable. */
  completing: Promise<void> | undefined;
}

/** Coordinates the checkpoints of one job. */
export class CheckpointCoordinator {
  private readonly clock: CoordinatorClock;
  private readonly hooks: CheckpointCoordinatorHooks;
  private readonly jobGraph: JobGraph;
  private readonly spec: CheckpointingSpec | undefined;
  private readonly executions = new Map<string, Execution>();
  private readonly retained: CompletedCheckpoint[] = [];
  private pending: Pending | undefined;
  private nextId: number;
  private attempt = 0;
  private started = false;
  private stopped = false;
  private timer: unknown;
  private triggerDue = false;
  /** While set, no periodic checkpoint starts (see {@link CheckpointCoordinator.holdPeriodic}). */
  private held = false;
  private lastTriggerAt: number | undefined;
  private lastEndAt: number | undefined;
  private startedAt = 0;
  private consecutiveFailures = 0;

  /** The job this coordinator serves. */
  readonly jobId: string;

  constructor(options: CheckpointCoordinatorOptions) {
    this.jobId = options.jobId;
    this.jobGraph = options.jobGraph;
    this.spec = 'checkpointing' in options ? options.checkpointing : options.jobGraph.checkpointing;
    this.hooks = options.hooks;
    this.clock = options.clock ?? SYSTEM_CLOCK;
    this.retained.push(...(options.completed ?? []));
    const latest = this.retained.at(-1)?.checkpointId ?? 0;
    this.nextId = Math.max(options.nextCheckpointId ?? 1, latest + 1);
    const sources = new Set(options.jobGraph.vertices.filter((v) => v.isSource).map((v) => v.id));
    for (const id of executionVertices(options.jobGraph)) {
      this.executions.set(executionKey(id.vertexId, id.subtask), {
        id,
        isSource: sources.has(id.vertexId),
        attempt: -1,
        state: 'DEPLOYING',
        final: undefined,
        finishing: false,
      });
    }
  }

  // ------------------------------------------------------------ queries

  /** The newest completed checkpoint (the one to restore from), if any. */
  get latestCompleted(): CompletedCheckpoint | undefined {
    return this.retained.at(-1);
  }

  /** The retained completed checkpoints, oldest first. */
  get completedCheckpoints(): readonly CompletedCheckpoint[] {
    return this.retained;
  }

  /** The checkpoint in flight, if any. */
  get pendingCheckpoint(): PendingCheckpointInfo | undefined {
    const p = this.pending;
    return p && { checkpointId: p.checkpointId, attempt: p.attempt, triggeredAt: p.triggeredAt };
  }

  /** The id the next checkpoint will get. */
  get nextCheckpointId(): number {
    return this.nextId;
  }

  // ------------------------------------------------------------ lifecycle

  /**
   * A (new) attempt of the job is being deployed: `executions` (default:
   * all) start over with `attempt`, and a pending checkpoint is aborted
   * (without counting as a checkpoint failure). An execution whose state in
   * the latest completed checkpoint is final is restored as final (it
   * finishes at once) and keeps that state; the others must report RUNNING
   * ({@link executionRunning}) before checkpoints are triggered. Call
   * {@link quiesce} first, so a checkpoint being persisted is settled before
   * the restore point is chosen.
   */
  startAttempt(attempt: number, executions?: readonly ExecutionVertexId[]): void {
    if (this.pending) this.abort(this.pending, `job attempt ${attempt} is starting`, false);
    this.attempt = attempt;
    this.started = true;
    this.stopped = false;
    this.startedAt = this.clock.now();
    const restoredFinal = new Map<string, SubtaskCheckpointStats>();
    for (const s of this.latestCompleted?.subtasks ?? [])
      if (s.final) restoredFinal.set(executionKey(s.vertexId, s.subtask), s);
    const dropped: StateHandle[] = [];
    for (const id of executions ?? [...this.executions.values()].map((e) => e.id)) {
      const e = this.execution(id.vertexId, id.subtask);
      const old = e.final;
      e.attempt = attempt;
      e.finishing = false;
      const restored = restoredFinal.get(executionKey(id.vertexId, id.subtask));
      if (restored) {
        // It finishes by itself (its output is committed on restore): it needs no finish command.
        e.state = 'FINAL';
        e.finishing = true;
        e.final = {
          handle: restored.handle,
          bytes: restored.bytes,
          afterCheckpointId: this.latestCompleted!.checkpointId,
          syncMs: 0,
          asyncMs: 0,
          ackedAt: this.clock.now(),
        };
      } else {
        e.state = 'DEPLOYING';
        e.final = undefined;
      }
      if (old && old.handle !== e.final?.handle) dropped.push(old.handle);
    }
    this.discardUnreferenced(dropped);
    this.scheduleNext();
    this.maybeCompleteFinal();
  }

  /** Execution `vertexId#subtask` of `attempt` is RUNNING (deployed, operators open). */
  executionRunning(vertexId: string, subtask: number, attempt: number): void {
    const e = this.execution(vertexId, subtask);
    if (e.attempt !== attempt || e.state !== 'DEPLOYING') return;
    e.state = 'RUNNING';
    this.triggerIfDue();
  }

  /**
   * Waits until no checkpoint is in flight: a pending one is aborted with
   * `reason` (not counted as a checkpoint failure), one being persisted is
   * let finish (it is consistent; aborting it could lose its commit).
   */
  async quiesce(reason: string): Promise<void> {
    const p = this.pending;
    if (!p) return;
    if (p.completing) {
      await p.completing;
      return;
    }
    this.abort(p, reason, false);
  }

  /** Stops triggering (the job ended or is being restarted): a pending checkpoint is aborted with `reason`. */
  stop(reason = 'the job stopped'): void {
    this.stopped = true;
    this.clearTimer();
    if (this.pending && !this.pending.completing) this.abort(this.pending, reason, false);
  }

  // ------------------------------------------------------------ triggering

  /**
   * Triggers a checkpoint now, if one can be: no other in flight and every
   * execution RUNNING or final, at least one source RUNNING. Returns its id.
   */
  triggerCheckpoint(): number | undefined {
    if (!this.canTrigger()) return undefined;
    return this.trigger();
  }

  /**
   * Holds periodic checkpoints back (or lets them go again): a stop with a
   * savepoint waits for the checkpoint in flight to end and must then get
   * the next one itself, or a periodic checkpoint that starts the moment
   * the previous one completes would take every turn until the sources end.
   * Explicit {@link CheckpointCoordinator.triggerCheckpoint} calls are not held.
   */
  holdPeriodic(hold: boolean): void {
    this.held = hold;
    if (!hold) this.triggerIfDue();
  }

  private canTrigger(): boolean {
    if (!this.started || this.stopped || this.pending) return false;
    let runningSource = false;
    for (const e of this.executions.values()) {
      if (e.state === 'DEPLOYING') return false;
      if (e.state === 'RUNNING' && e.isSource) runningSource = true;
    }
    return runningSource;
  }

  /** Starts checkpoint `nextId` (no timer set, nothing sent yet). */
  private newPending(): Pending {
    this.clearTimer();
    this.triggerDue = false;
    const now = this.clock.now();
    const p: Pending = {
      checkpointId: this.nextId++,
      attempt: this.attempt,
      triggeredAt: now,
      acks: new Map(),
      timeout: undefined,
      completing: undefined,
    };
    this.pending = p;
    this.lastTriggerAt = now;
    return p;
  }

  private trigger(): number {
    const p = this.newPending();
    const timeoutMs = this.spec?.timeoutMs ?? 600_000;
    p.timeout = this.clock.setTimeout(() => {
      if (this.pending === p && !p.completing)
        this.abort(p, `checkpoint ${p.checkpointId} expired after ${timeoutMs} ms`, true);
    }, timeoutMs);
    // Executions that delivered their final state acknowledge it at once: they saw no barrier of this checkpoint.
    for (const e of this.executions.values()) if (e.state === 'FINAL' && e.final) this.recordFinal(p, e);
    const info = { checkpointId: p.checkpointId, attempt: p.attempt, triggeredAt: p.triggeredAt };
    const sendTriggers = (): void => {
      if (this.pending !== p) return;
      const sources = [...this.executions.values()]
        .filter((e) => e.isSource && e.state === 'RUNNING')
        .map((e) => e.id);
      this.hooks.triggerSources(info, sources);
    };
    const recorded = this.hooks.checkpointTriggered?.(info);
    if (recorded instanceof Promise) {
      recorded.then(sendTriggers, (error: unknown) => {
        if (this.pending === p)
          this.abort(p, `checkpoint ${p.checkpointId} could not be recorded: ${errorMessage(error)}`, true);
      });
    } else sendTriggers();
    return p.checkpointId;
  }

  private triggerIfDue(): void {
    if (!this.held && this.triggerDue && this.canTrigger()) this.trigger();
  }

  private scheduleNext(): void {
    this.clearTimer();
    const spec = this.spec;
    if (!spec || !this.started || this.stopped) return;
    const now = this.clock.now();
    const byInterval = (this.lastTriggerAt ?? this.startedAt) + spec.intervalMs;
    const byPause = this.lastEndAt === undefined ? 0 : this.lastEndAt + spec.minPauseBetweenCheckpointsMs;
    const delay = Math.max(0, Math.max(byInterval, byPause) - now);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (!this.held && this.canTrigger()) this.trigger();
      else if (this.held || !this.pending) this.triggerDue = true;
    }, delay);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  // ------------------------------------------------------------ acknowledgements

  /** An execution stored its snapshot for a checkpoint. */
  acknowledge(ack: CheckpointAck): void {
    const e = this.executions.get(executionKey(ack.vertexId, ack.subtask));
    if (!e || e.attempt !== ack.attempt) {
      // Another attempt's (fenced): no checkpoint will refer to what it stored.
      this.hooks.discard({ handles: [ack.handle] });
      return;
    }
    const p = this.pending;
    if (!p || p.checkpointId !== ack.checkpointId || p.completing) {
      // Too late (aborted, or never known): its data belongs to no checkpoint.
      this.hooks.discard({ handles: [ack.handle] });
      return;
    }
    const key = executionKey(ack.vertexId, ack.subtask);
    if (p.acks.has(key)) return;
    let pieces: StatePiece[] | undefined;
    if (ack.pieces !== undefined && ack.pieces.length > 0) {
      pieces = this.resolvePieces(key, ack.pieces);
      if (pieces === undefined) {
        // It saw an older completion than the newest (a notice still on its way): it writes a full snapshot next.
        this.hooks.discard({ handles: [ack.handle] });
        this.abort(
          p,
          `checkpoint ${p.checkpointId}: ${key} referred to pieces of checkpoints ${ack.pieces.join(', ')}, ` +
            'not all of which a retained checkpoint holds any more',
          false,
        );
        return;
      }
    }
    p.acks.set(key, {
      vertexId: ack.vertexId,
      subtask: ack.subtask,
      handle: ack.handle,
      bytes: ack.bytes,
      final: false,
      ...(pieces !== undefined ? { pieces } : {}),
      ackedAt: this.clock.now(),
      alignmentMs: ack.alignmentMs,
      syncMs: ack.syncMs,
      asyncMs: ack.asyncMs,
    });
    this.maybeComplete(p);
  }

  /** An execution's input ended; it stored its final state and waits to be told to finish. */
  acknowledgeFinalState(ack: FinalStateAck): void {
    const e = this.executions.get(executionKey(ack.vertexId, ack.subtask));
    if (!e || e.attempt !== ack.attempt) {
      this.hooks.discard({ handles: [ack.handle] });
      return;
    }
    if (e.state === 'FINAL') {
      if (e.final?.handle !== ack.handle) this.hooks.discard({ handles: [ack.handle] });
      return;
    }
    e.state = 'FINAL';
    e.final = {
      handle: ack.handle,
      bytes: ack.bytes,
      afterCheckpointId: ack.afterCheckpointId,
      syncMs: ack.syncMs,
      asyncMs: ack.asyncMs,
      ackedAt: this.clock.now(),
    };
    const p = this.pending;
    if (p && !p.completing && ack.afterCheckpointId < p.checkpointId) {
      this.recordFinal(p, e);
      this.maybeComplete(p);
    }
    this.triggerIfDue();
    this.maybeCompleteFinal();
  }

  /** An execution declined a checkpoint (it could not take it): the checkpoint is aborted. */
  decline(checkpointId: number, vertexId: string, subtask: number, attempt: number, reason: string): void {
    const e = this.executions.get(executionKey(vertexId, subtask));
    if (!e || e.attempt !== attempt) return;
    const p = this.pending;
    if (!p || p.checkpointId !== checkpointId || p.completing) return;
    this.abort(p, `checkpoint ${checkpointId} was declined by ${vertexId}#${subtask}: ${reason}`, true);
  }

  private recordFinal(p: Pending, e: Execution): void {
    const key = executionKey(e.id.vertexId, e.id.subtask);
    if (p.acks.has(key) || !e.final) return;
    const f = e.final;
    p.acks.set(key, {
      vertexId: e.id.vertexId,
      subtask: e.id.subtask,
      handle: f.handle,
      bytes: f.bytes,
      final: true,
      ackedAt: f.ackedAt,
      alignmentMs: 0,
      syncMs: f.syncMs,
      asyncMs: f.asyncMs,
    });
  }

  /** Every execution delivered its final state and some are not yet told to finish: complete a checkpoint now. */
  private maybeCompleteFinal(): void {
    if (!this.started || this.stopped || this.pending) return;
    let waiting = false;
    for (const e of this.executions.values()) {
      if (e.state !== 'FINAL') return;
      if (!e.finishing) waiting = true;
    }
    if (!waiting) return;
    const p = this.newPending();
    for (const e of this.executions.values()) this.recordFinal(p, e);
    this.maybeComplete(p);
  }

  // ------------------------------------------------------------ completion and abort

  private maybeComplete(p: Pending): void {
    if (p.completing || p.acks.size < this.executions.size) return;
    if (p.timeout !== undefined) this.clock.clearTimeout(p.timeout);
    const completedAt = this.clock.now();
    const subtasks: SubtaskCheckpointStats[] = [];
    const states = new Map<string, SubtaskState>();
    let alignmentMs = 0;
    for (const key of this.executions.keys()) {
      const ack = p.acks.get(key)!;
      subtasks.push(ack);
      states.set(key, { handle: ack.handle, bytes: ack.bytes, final: ack.final, pieces: ack.pieces });
      if (ack.alignmentMs > alignmentMs) alignmentMs = ack.alignmentMs;
    }
    const sizes = checkpointSizes(states.values());
    const checkpoint: CompletedCheckpoint = {
      jobId: this.jobId,
      checkpointId: p.checkpointId,
      attempt: p.attempt,
      triggeredAt: p.triggeredAt,
      completedAt,
      states,
      durationMs: completedAt - p.triggeredAt,
      bytes: sizes.checkpointedBytes,
      fullBytes: sizes.fullBytes,
      alignmentMs,
      subtasks,
    };
    p.completing = this.hooks.persistCompleted(checkpoint).then(
      () => {
        this.completed(p, checkpoint);
      },
      (error: unknown) => {
        p.completing = undefined;
        this.abort(p, `checkpoint ${p.checkpointId} could not be persisted: ${errorMessage(error)}`, true);
      },
    );
  }

  private completed(p: Pending, checkpoint: CompletedCheckpoint): void {
    if (this.pending === p) this.pending = undefined;
    this.retained.push(checkpoint);
    this.lastEndAt = this.clock.now();
    this.consecutiveFailures = 0;
    // Stopped meanwhile (the job ended): the checkpoint counts, but nobody is listening any more.
    if (!this.stopped) {
      this.hooks.notifyComplete(checkpoint.checkpointId, this.attempt);
      // Executions whose final state this checkpoint holds may now commit and finish.
      const finishing: ExecutionVertexId[] = [];
      for (const s of checkpoint.subtasks) {
        if (!s.final) continue;
        const e = this.execution(s.vertexId, s.subtask);
        if (e.state === 'FINAL' && !e.finishing && e.final?.handle === s.handle) {
          e.finishing = true;
          finishing.push(e.id);
        }
      }
      if (finishing.length > 0) this.hooks.finishExecutions(checkpoint.checkpointId, finishing, this.attempt);
    }
    const keep = Math.max(1, this.spec?.maxRetainedCheckpoints ?? 3);
    while (this.retained.length > keep) {
      const old = this.retained.shift()!;
      this.hooks.discard({
        checkpointId: old.checkpointId,
        handles: this.unreferenced(handlesOf(old.subtasks)),
      });
    }
    this.scheduleNext();
    this.triggerIfDue();
    this.maybeCompleteFinal();
  }

  private abort(p: Pending, reason: string, countsAsFailure: boolean): void {
    if (this.pending !== p) return;
    this.pending = undefined;
    if (p.timeout !== undefined) this.clock.clearTimeout(p.timeout);
    this.lastEndAt = this.clock.now();
    this.hooks.notifyAborted(p.checkpointId, reason, p.attempt);
    const own = [...p.acks.values()].filter((a) => !a.final).map((a) => a.handle);
    this.hooks.discard({ checkpointId: p.checkpointId, handles: this.unreferenced(own) });
    if (countsAsFailure) {
      this.consecutiveFailures++;
      const tolerable = this.spec?.tolerableCheckpointFailureNumber ?? -1;
      if (tolerable >= 0 && this.consecutiveFailures > tolerable) {
        const failures = this.consecutiveFailures;
        this.consecutiveFailures = 0;
        this.hooks.failJob(
          new CheckpointFailureError(
            `${failures} consecutive checkpoint${failures === 1 ? '' : 's'} failed (tolerable: ${tolerable}); the last: ${reason}`,
          ),
        );
        return;
      }
    }
    this.scheduleNext();
  }

  // ------------------------------------------------------------ retention

  /**
   * The pieces of checkpoints `ids` of execution `key`, as the retained
   * checkpoints hold them (a retained checkpoint's own snapshot, or a
   * piece it refers to); undefined when one is not held any more.
   */
  private resolvePieces(key: string, ids: readonly number[]): StatePiece[] | undefined {
    const known = new Map<number, StatePiece>();
    for (const c of this.retained) {
      const s = c.states.get(key);
      if (s === undefined) continue;
      if (!s.final)
        known.set(c.checkpointId, { checkpointId: c.checkpointId, handle: s.handle, bytes: s.bytes });
      for (const piece of s.pieces ?? []) known.set(piece.checkpointId, piece);
    }
    const out: StatePiece[] = [];
    for (const id of ids) {
      const piece = known.get(id);
      if (piece === undefined) return undefined;
      out.push(piece);
    }
    return out;
  }

  /**
   * The handles among `handles` that no retained checkpoint (its own
   * snapshots and the pieces they refer to) and no live final state refers to.
   */
  private unreferenced(handles: readonly StateHandle[]): StateHandle[] {
    const referenced = new Set<StateHandle>();
    for (const c of this.retained) for (const h of handlesOf(c.subtasks)) referenced.add(h);
    for (const e of this.executions.values()) if (e.final) referenced.add(e.final.handle);
    return [...new Set(handles)].filter((h) => !referenced.has(h));
  }

  private discardUnreferenced(handles: readonly StateHandle[]): void {
    const gone = this.unreferenced(handles);
    if (gone.length > 0) this.hooks.discard({ handles: gone });
  }

  private execution(vertexId: string, subtask: number): Execution {
    const e = this.executions.get(executionKey(vertexId, subtask));
    if (!e) throw new RangeError(`execution ${executionKey(vertexId, subtask)} is not in job ${this.jobId}`);
    return e;
  }
}

/** Every stored handle the subtasks' states use: their own snapshots and the pieces those refer to. */
function handlesOf(subtasks: readonly SubtaskCheckpointStats[]): StateHandle[] {
  const out: StateHandle[] = [];
  for (const s of subtasks) {
    out.push(s.handle);
    for (const piece of s.pieces ?? []) out.push(piece.handle);
  }
  return out;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
