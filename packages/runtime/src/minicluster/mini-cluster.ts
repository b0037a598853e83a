/**
 * The local mini-cluster: runs a JobGraph in worker threads of this process,
 * and plays the JobManager's part for it — checkpoints and restarts.
 *
 * Slots are worker threads. By default there are as many slots as the
 * largest vertex parallelism, capped at the machine's available parallelism
 * (so a parallelism-8 job on 2 cores runs in 2 slots); subtask `i` of every
 * vertex goes to slot `i mod slots` (slot sharing: a slot runs one subtask
 * of each vertex). Each worker re-runs the program's plan, checks the plan
 * hash, builds its subtasks and exchanges batches with the other slots over
 * one MessageChannel per pair of slots (all channels multiplexed, batches as
 * transferred buffers); subtasks of the same slot exchange in memory.
 *
 * Fault tolerance, the same protocol as a cluster (docs/fault-tolerance.md):
 * a {@link CheckpointCoordinator} runs in this thread over a
 * {@link DirectoryCheckpointStorage} (a temporary directory unless
 * `checkpointDir` is given) and checkpoints every `jobGraph.checkpointing`
 * interval — and always once at the end of bounded input, which is when a
 * bounded job's exactly-once output is committed. A failed subtask, or a
 * slot worker that crashes or exits, fails the attempt: every worker is
 * stopped, and the job's restart strategy decides — restart from the latest
 * completed checkpoint with the next attempt after its delay (local mode
 * restarts the whole job: every slot hosts a subtask of every vertex), or
 * end FAILED with the failure's error. `signal` cancels the job
 * (CANCELED); `timeoutMs` fails it without a restart.
 *
 * A BATCH job with blocking exchanges (`computeStages`) runs in stages
 * instead, as on a cluster (`local-stages.ts`): its regions wave by wave,
 * blocking partitions in a {@link PartitionStore} that spills past
 * `partitionMemoryBytes` to a temporary directory (removed when the job
 * ends), no checkpoints, and a failed region re-run alone.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { effectiveRestartStrategy, type JobGraph, type RestartStrategySpec } from '@freshet/graph';
import { CheckpointCoordinator, type CompletedCheckpoint } from '../checkpoint/coordinator.js';
import { DirectoryCheckpointStorage } from '../checkpoint/directory-storage.js';
import { checkpointMetadataOf } from '../checkpoint/metadata.js';
import {
  readSubtaskState,
  subtaskStateName,
  renumberSnapshot,
  type RestorePoint,
  type StateAssignment,
} from '../checkpoint/savepoint.js';
import { executionVertices } from '../executiongraph/execution-id.js';
import { computeStages } from '../executiongraph/pipelined-regions.js';
import { PartitionStore } from '../network/partition/partition-store.js';
import { WatermarkAlignmentCoordinator } from '../executiongraph/watermark-alignment.js';
import { mergeAccumulators, type AccumulatorResult } from '../metrics/accumulators.js';
import { createRestartStrategy } from '../executiongraph/restart-strategy.js';
import type { ProgramSpec } from '../program/index.js';
import type { SerializedError } from '../task/errors.js';
import type { SubtaskMetrics } from '../task/metrics.js';
import type { TaskSettings } from '../task/stream-task.js';
import type { SlotRestore, WorkerMessage } from '../taskexecutor/messages.js';
import { startLocalAttempt, type AttemptOutcome, type LocalAttempt } from './local-attempt.js';
import { runLocalStages, type LocalStages } from './local-stages.js';

/** Metrics of a running or finished local job. */
export interface LocalJobMetrics {
  /** Latest metrics of every subtask (of the current attempt). */
  subtasks: SubtaskMetrics[];
  /** Records emitted by source subtasks so far. */
  sourceRecords: number;
  /** Milliseconds since the job started running. */
  elapsedMs: number;
}

/** One completed checkpoint of a local job. */
export interface LocalCheckpointStats {
  checkpointId: number;
  attempt: number;
  /** Trigger to completion. */
  durationMs: number;
  /** Sum of every subtask's snapshot size. */
  bytes: number;
  /** Longest barrier alignment of any subtask. */
  alignmentMs: number;
  /** Longest synchronous part (snapshot and encode, in the task thread) of any subtask. */
  syncMs: number;
  /** Longest asynchronous part (writing to storage) of any subtask. */
  asyncMs: number;
  /** Only final states (the checkpoint at the end of bounded input). */
  final: boolean;
}

/** A restart of a local job, as `onRestart` reports it. */
export interface LocalRestart {
  /** The attempt that starts next. */
  attempt: number;
  /** Its wait before it starts. */
  delayMs: number;
  /** The checkpoint it restores, if any. */
  checkpointId: number | undefined;
  /** Why the previous attempt failed. */
  error: SerializedError;
  /** A staged BATCH job: the one region that runs again (`PipelinedRegion.index`); the whole job otherwise. */
  region?: number;
}

/** Options of {@link runLocalJob}. */
export interface LocalJobOptions {
  /** The program to re-plan in every worker. */
  program: ProgramSpec;
  /** The optimized job graph (its `planHash` must match the program's plan). */
  jobGraph: JobGraph;
  /** Worker threads. @default min(largest vertex parallelism, os.availableParallelism()) */
  slots?: number;
  /** Fails the job (FAILED, "timed out", no restart) after this long. @default no limit */
  timeoutMs?: number;
  /** Called about once a second while the job runs. */
  onMetrics?: (metrics: LocalJobMetrics) => void;
  /** Cancels the job (it ends CANCELED). */
  signal?: AbortSignal;
  /**
   * Module (file URL or specifier) exporting `loadStreamGraph(spec)`, and
   * optionally `computePlanHash(graph)` and `createOperator(node)`, used by
   * the workers instead of the program loader. For tests that build graphs by hand.
   */
  loader?: string;
  /** Task loop tuning. */
  settings?: Partial<TaskSettings>;
  /** Batches a consumer can hold per channel. @default 16 (`DEFAULT_INITIAL_CREDITS`) */
  initialCredits?: number;
  /**
   * Checkpoint storage: `<checkpointDir>/<jobId>/chk-<N>/...`, kept after the
   * job (the retained checkpoints). @default a temporary directory, deleted when the job ends
   */
  checkpointDir?: string;
  /** The job's id in checkpoint storage and in user functions' runtime context. @default `local-<uuid>` */
  jobId?: string;
  /** Replaces the job's restart strategy (default: the JobGraph's, else the default for its checkpointing). */
  restartStrategy?: RestartStrategySpec;
  /** Called when a checkpoint completed. */
  onCheckpoint?: (checkpoint: LocalCheckpointStats) => void;
  /** Called when a failed attempt is about to be restarted. */
  onRestart?: (restart: LocalRestart) => void;
  /**
   * Start from a savepoint or a retained checkpoint (`freshet run --local
   * -s PATH`): its state, mapped onto this job graph by operator uid
   * (`assignRestoredState`), at any parallelism; checkpoint ids continue
   * after its own. Until the job's first checkpoint completes, a restart
   * restores from it again.
   */
  restoreFrom?: { point: RestorePoint; assignment: StateAssignment };
  /**
   * A staged BATCH job: bytes of blocking partitions held in memory before
   * they spill to files. @default 64 MiB (a TaskManager's `--partition-memory-mib`)
   */
  partitionMemoryBytes?: number;
  /**
   * A staged BATCH job: where spilled partitions go, in a fresh
   * sub-directory removed when the job ends. @default the OS temporary directory
   */
  partitionDir?: string;
  /** A staged BATCH job: called before each wave of regions is deployed, with their indexes (for tests). */
  onStageWave?: (regions: readonly number[]) => void;
}

/** How a local job ended. */
export interface LocalJobResult {
  /** The id user functions saw as `jobId`. */
  jobId: string;
  status: 'FINISHED' | 'FAILED' | 'CANCELED';
  /**
   * The job's accumulators, merged across subtasks by name (final values of
   * finished subtasks, the latest of the others); see `mergeAccumulators`.
   */
  accumulators: Record<string, AccumulatorResult>;
  /**
   * Records of each collect sink, by collect id (per subtask in order;
   * subtasks interleaved). At-least-once: after a restart, the records since
   * the restored checkpoint are collected again — except in a staged BATCH
   * job, which hands on a region's records only once its run finished.
   */
  collected: Record<string, unknown[]>;
  error?: {
    message: string;
    stack?: string;
    operator?: string;
    subtask?: number;
    name?: string;
    vertex?: string;
  };
  durationMs: number;
  metrics: LocalJobMetrics;
  /** How often the job restarted. */
  restarts: number;
  /** Every checkpoint that completed, in order. */
  checkpoints: LocalCheckpointStats[];
}

/** Default number of slots for a job graph. */
export function defaultSlots(jobGraph: JobGraph): number {
  const maxP = Math.max(1, ...jobGraph.vertices.map((v) => v.parallelism));
  return Math.max(1, Math.min(maxP, availableParallelism()));
}

/** A copy of `bytes` that owns its whole ArrayBuffer (so it can be transferred without detaching anything else). */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

/** Runs a job in worker threads of this process until it finishes, fails for good or is cancelled. */
export async function runLocalJob(opts: LocalJobOptions): Promise<LocalJobResult> {
  const started = performance.now();
  const { jobGraph } = opts;
  const slots = opts.slots ?? defaultSlots(jobGraph);
  if (!(Number.isInteger(slots) && slots >= 1))
    throw new RangeError(`slots must be a positive integer (got ${slots})`);
  const jobId = opts.jobId ?? `local-${randomUUID()}`;
  const ownDir = opts.checkpointDir === undefined;
  const storage = new DirectoryCheckpointStorage(
    opts.checkpointDir ?? mkdtempSync(join(tmpdir(), 'freshet-checkpoints-')),
  );
  const strategy = createRestartStrategy(
    opts.restartStrategy ??
      effectiveRestartStrategy(jobGraph.restartStrategy, jobGraph.checkpointing !== undefined),
  );

  const collected: Record<string, unknown[]> = {};
  const latest = new Map<string, SubtaskMetrics>();
  const checkpoints: LocalCheckpointStats[] = [];
  const sources = new Set(jobGraph.vertices.filter((v) => v.isSource).map((v) => v.id));
  let runningSince: number | undefined;
  const metricsNow = (): LocalJobMetrics => {
    const subtasks = [...latest.values()].sort((a, b) =>
      a.vertexId === b.vertexId ? a.subtask - b.subtask : a.vertexId < b.vertexId ? -1 : 1,
    );
    return {
      subtasks,
      sourceRecords: subtasks.filter((m) => sources.has(m.vertexId)).reduce((s, m) => s + m.recordsIn, 0),
      elapsedMs: performance.now() - (runningSince ?? performance.now()),
    };
  };

  // The job's end: FINISHED, CANCELED, a timeout, or a failure the strategy will not restart.
  let current: LocalAttempt | undefined;
  let staged: LocalStages | undefined;
  let final: AttemptOutcome | undefined;
  let wakeUp: (() => void) | undefined;
  const endJob = (o: AttemptOutcome): void => {
    final ??= o;
    current?.end(o);
    staged?.end(o);
    wakeUp?.();
  };
  const ofCurrent = (attempt: number): LocalAttempt | undefined =>
    current?.attempt === attempt ? current : undefined;

  const coordinator = new CheckpointCoordinator({
    jobId,
    jobGraph,
    ...(opts.restoreFrom === undefined
      ? {}
      : { nextCheckpointId: opts.restoreFrom.assignment.checkpointId + 1 }),
    hooks: {
      triggerSources: (c) => {
        ofCurrent(c.attempt)?.broadcast({
          type: 'triggerCheckpoint',
          checkpointId: c.checkpointId,
          timestamp: c.triggeredAt,
        });
      },
      persistCompleted: async (c: CompletedCheckpoint) => {
        await storage.writeMetadata(checkpointMetadataOf(jobGraph, c));
        const stats: LocalCheckpointStats = {
          checkpointId: c.checkpointId,
          attempt: c.attempt,
          durationMs: c.durationMs,
          bytes: c.bytes,
          alignmentMs: c.alignmentMs,
          syncMs: Math.max(0, ...c.subtasks.map((s) => s.syncMs)),
          asyncMs: Math.max(0, ...c.subtasks.map((s) => s.asyncMs)),
          final: c.subtasks.every((s) => s.final),
        };
        checkpoints.push(stats);
        opts.onCheckpoint?.(stats);
      },
      notifyComplete: (checkpointId, attempt) => {
        ofCurrent(attempt)?.broadcast({ type: 'notifyCheckpointComplete', checkpointId });
      },
      notifyAborted: (checkpointId, _reason, attempt) => {
        ofCurrent(attempt)?.broadcast({ type: 'notifyCheckpointAborted', checkpointId });
      },
      finishExecutions: (checkpointId, executions, attempt) => {
        ofCurrent(attempt)?.broadcast({ type: 'finishTasks', checkpointId, tasks: [...executions] });
      },
      discard: (request) => {
        // Best effort: data left behind is harmless (no checkpoint refers to it) and goes with the directory.
        storage.discard(jobId, request).catch(() => undefined);
      },
      failJob: (error) => {
        current?.end({ status: 'FAILED', error: { name: error.name, message: error.message } });
      },
    },
  });

  const alignment = new WatermarkAlignmentCoordinator();

  const onMessage = (attempt: number, m: WorkerMessage): void => {
    switch (m.type) {
      case 'ready':
        for (const id of m.collectIds) collected[id] ??= [];
        return;
      case 'collect': {
        const list = (collected[m.id] ??= []);
        for (const v of m.values) list.push(v);
        return;
      }
      case 'metrics':
        for (const s of m.metrics) latest.set(`${s.vertexId}#${s.subtask}`, s);
        return;
      case 'taskFinished':
        latest.set(`${m.metrics.vertexId}#${m.metrics.subtask}`, m.metrics);
        return;
      case 'checkpoint': {
        const t0 = performance.now();
        const location = {
          jobId,
          checkpointId: m.checkpointId,
          attempt,
          vertexId: m.vertexId,
          subtask: m.subtask,
        };
        storage.writeState(location, m.state).then(
          (handle) => {
            coordinator.acknowledge({
              checkpointId: m.checkpointId,
              vertexId: m.vertexId,
              subtask: m.subtask,
              attempt,
              handle,
              bytes: m.state.byteLength,
              pieces: m.pieces,
              alignmentMs: m.alignmentMs,
              syncMs: m.syncMs,
              // Packing after the barrier (an asynchronous snapshot) and writing it out.
              asyncMs: (m.encodeMs ?? 0) + performance.now() - t0,
            });
          },
          (error: unknown) => {
            coordinator.decline(
              m.checkpointId,
              m.vertexId,
              m.subtask,
              attempt,
              `storing the snapshot failed: ${String(error)}`,
            );
          },
        );
        return;
      }
      case 'finalState': {
        const t0 = performance.now();
        const location = {
          jobId,
          checkpointId: 'final' as const,
          attempt,
          vertexId: m.vertexId,
          subtask: m.subtask,
        };
        storage.writeState(location, m.state).then(
          (handle) => {
            coordinator.acknowledgeFinalState({
              vertexId: m.vertexId,
              subtask: m.subtask,
              attempt,
              handle,
              bytes: m.state.byteLength,
              syncMs: m.syncMs,
              asyncMs: performance.now() - t0,
              afterCheckpointId: m.afterCheckpointId,
            });
          },
          (error: unknown) => {
            ofCurrent(attempt)?.end({
              status: 'FAILED',
              error: {
                name: 'CheckpointStorageError',
                message: `storing the final state of ${m.vertexId}#${m.subtask} failed: ${String(error)}`,
              },
            });
          },
        );
        return;
      }
      case 'declineCheckpoint':
        coordinator.decline(m.checkpointId, m.vertexId, m.subtask, attempt, m.reason);
        return;
      case 'alignment':
        ofCurrent(attempt)?.broadcast({
          type: 'allowWatermarks',
          announcements: alignment.report(m.reports),
        });
        return;
      default:
        return;
    }
  };

  /** What every attempt's (or staged region's) slots run, and how. */
  const slotOptions = {
    program: opts.program,
    jobGraph,
    jobId,
    slots,
    ...(opts.loader !== undefined ? { loader: opts.loader } : {}),
    ...(opts.settings !== undefined ? { settings: opts.settings } : {}),
    ...(opts.initialCredits !== undefined ? { initialCredits: opts.initialCredits } : {}),
  };

  /** The state of every subtask, read from the latest completed checkpoint. */
  const readRestore = async (checkpoint: CompletedCheckpoint): Promise<SlotRestore> => {
    const r: SlotRestore = { checkpointId: checkpoint.checkpointId, subtasks: {} };
    for (const s of checkpoint.subtasks) {
      const bytes = ownBuffer(
        await readSubtaskState(
          s,
          (h) => storage.readState(jobId, h),
          subtaskStateName(checkpoint.checkpointId, s.vertexId, s.subtask),
        ),
      );
      r.subtasks[`${s.vertexId}#${s.subtask}`] = { states: [bytes], final: s.final };
    }
    return r;
  };

  /** The state of every subtask, from the restore point the job started from. */
  const readInitialRestore = async (
    from: NonNullable<LocalJobOptions['restoreFrom']>,
  ): Promise<SlotRestore> => {
    const r: SlotRestore = { checkpointId: from.assignment.checkpointId, subtasks: {} };
    for (const [key, assigned] of from.assignment.subtasks) {
      const states: Uint8Array[] = [];
      for (const part of assigned.parts)
        states.push(ownBuffer(renumberSnapshot(await from.point.readState(part.handle), part)));
      r.subtasks[key] = { states, final: assigned.final };
    }
    return r;
  };

  /** `restore` split by the slot each subtask runs in. */
  const bySlot = (restore: SlotRestore): Map<number, SlotRestore> => {
    const out = new Map<number, SlotRestore>();
    for (const [key, state] of Object.entries(restore.subtasks)) {
      const slot = Number(key.slice(key.lastIndexOf('#') + 1)) % slots;
      let r = out.get(slot);
      if (!r) out.set(slot, (r = { checkpointId: restore.checkpointId, subtasks: {} }));
      r.subtasks[key] = state;
    }
    return out;
  };

  /** Why the state to start from cannot be read. */
  const restoreFailed = (error: unknown, checkpoint: CompletedCheckpoint | undefined): AttemptOutcome => ({
    status: 'FAILED',
    error: {
      name: 'CheckpointRestoreError',
      message:
        checkpoint === undefined
          ? `${opts.restoreFrom!.point.kind} ${opts.restoreFrom!.point.path} cannot be restored: ${String(error)}`
          : `checkpoint ${checkpoint.checkpointId} cannot be restored: ${String(error)}`,
    },
  });

  /**
   * A staged BATCH job: its regions wave by wave over blocking partitions
   * held here (spilled to a temporary directory, removed at the end).
   */
  const runStaged = async (
    stages: NonNullable<ReturnType<typeof computeStages>>,
  ): Promise<{ outcome: AttemptOutcome; restarts: number }> => {
    // A collect sink that gets no record still has its (empty) entry, as in a pipelined run.
    for (const v of jobGraph.vertices)
      for (const op of v.operators) if (op.collectId !== undefined) collected[op.collectId] ??= [];
    let restore: SlotRestore | undefined;
    try {
      if (opts.restoreFrom) restore = await readInitialRestore(opts.restoreFrom);
    } catch (error) {
      return { outcome: restoreFailed(error, undefined), restarts: 0 };
    }
    const partitions = new PartitionStore({
      dir: mkdtempSync(join(opts.partitionDir ?? tmpdir(), 'freshet-partitions-')),
      ...(opts.partitionMemoryBytes !== undefined ? { memoryBytes: opts.partitionMemoryBytes } : {}),
    });
    try {
      staged = runLocalStages({
        ...slotOptions,
        stages,
        strategy,
        partitions,
        ...(restore ? { restore } : {}),
        ...(opts.onStageWave ? { onWave: opts.onStageWave } : {}),
        onRunning: () => {
          runningSince ??= performance.now();
        },
        onMetrics: (metrics) => {
          for (const m of metrics) latest.set(`${m.vertexId}#${m.subtask}`, m);
        },
        onCollected: (id, values) => {
          const list = (collected[id] ??= []);
          for (const v of values) list.push(v);
        },
        onRestart: (r) => {
          opts.onRestart?.({
            attempt: r.attempt,
            delayMs: r.delayMs,
            checkpointId: undefined,
            error: r.error,
            region: r.region,
          });
        },
      });
      if (final !== undefined) staged.end(final);
      return await staged.outcome;
    } finally {
      partitions.clear();
    }
  };

  const onAbort = (): void => {
    endJob({ status: 'CANCELED' });
  };
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timeout =
    opts.timeoutMs !== undefined
      ? setTimeout(() => {
          endJob({
            status: 'FAILED',
            error: { name: 'TimeoutError', message: `job timed out after ${opts.timeoutMs} ms` },
          });
        }, opts.timeoutMs)
      : undefined;
  const metricsTimer = opts.onMetrics
    ? setInterval(() => {
        if (runningSince !== undefined) opts.onMetrics!(metricsNow());
      }, 1000)
    : undefined;

  let restarts = 0;
  let outcome: AttemptOutcome = { status: 'CANCELED' };
  try {
    const stages = computeStages(jobGraph);
    if (stages !== undefined) ({ outcome, restarts } = await runStaged(stages));
    // A pipelined job: attempt after attempt, each restoring the latest completed checkpoint.
    for (let attempt = 0; stages === undefined && final === undefined; attempt++) {
      const restoreFrom = coordinator.latestCompleted;
      let restore: Map<number, SlotRestore> | undefined;
      const initial = restoreFrom === undefined ? opts.restoreFrom : undefined;
      try {
        restore = restoreFrom
          ? bySlot(await readRestore(restoreFrom))
          : initial
            ? bySlot(await readInitialRestore(initial))
            : undefined;
      } catch (error) {
        outcome = restoreFailed(error, restoreFrom);
      }
      if (restore !== undefined || (restoreFrom === undefined && initial === undefined)) {
        latest.clear();
        alignment.reset();
        coordinator.startAttempt(attempt);
        const a = startLocalAttempt({
          ...slotOptions,
          attempt,
          ...(restore ? { restore } : {}),
          onRunning: () => {
            runningSince ??= performance.now();
            strategy.onRunning(Date.now());
            for (const e of executionVertices(jobGraph))
              coordinator.executionRunning(e.vertexId, e.subtask, attempt);
          },
          onMessage: (m) => {
            onMessage(attempt, m);
          },
        });
        current = a;
        if (final !== undefined) a.end(final);
        outcome = await a.outcome;
        // No checkpoint of this attempt may complete after the restore point of the next is chosen.
        await coordinator.quiesce(`job attempt ${attempt} ended ${outcome.status}`);
        await a.stop();
      }
      if (final !== undefined || outcome.status !== 'FAILED') break;
      const decision = strategy.onFailure(Date.now());
      if (!decision.restart) break;
      restarts++;
      opts.onRestart?.({
        attempt: attempt + 1,
        delayMs: decision.delayMs,
        checkpointId: coordinator.latestCompleted?.checkpointId,
        error: outcome.error ?? { name: 'Error', message: 'the attempt failed' },
      });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, decision.delayMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
    }
  } finally {
    coordinator.stop();
    clearTimeout(timeout);
    clearInterval(metricsTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (ownDir) rmSync(storage.root, { recursive: true, force: true });
  }

  const result = final ?? outcome;
  const finalMetrics = metricsNow();
  const out: LocalJobResult = {
    jobId,
    status: result.status,
    accumulators: mergeAccumulators(
      finalMetrics.subtasks.flatMap((m) => (m.accumulators ? [m.accumulators] : [])),
    ).results,
    collected,
    durationMs: performance.now() - started,
    metrics: finalMetrics,
    restarts,
    checkpoints,
  };
  if (result.error) {
    const e = result.error;
    const error: NonNullable<LocalJobResult['error']> = { message: e.message, name: e.name };
    if (e.stack !== undefined) error.stack = e.stack;
    if (e.operator !== undefined) error.operator = e.operator;
    if (e.subtask !== undefined) error.subtask = e.subtask;
    if (e.vertex !== undefined) error.vertex = e.vertex;
    out.error = error;
  }
  return out;
}
