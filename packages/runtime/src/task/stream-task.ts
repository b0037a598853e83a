/**
 * A subtask: one parallel instance of a JobVertex. It runs the vertex's fused
 * chain on the thread's event loop in short slices — polling input channels
 * (or calling a source's `emitNext`) for a few milliseconds, then yielding —
 * so checkpoint barriers, timers, credit and cancellation get through between
 * slices. Everything a task does happens on one thread, so operators need no
 * locking. Nothing here depends on worker threads: the transport is behind
 * the channels of `network/`.
 */
import type {
  CheckpointingMode,
  JobConfig,
  JobEdge,
  JobVertex,
  StreamEdge,
  StreamNode,
} from '@freshet/graph';
import { encodeSubtaskSnapshot, pieceRefsOf } from '../checkpoint/snapshot-codec.js';
import { END_OF_PARTITION, type ChannelEvent } from '../codec/events.js';
import { keyGroupRange } from '../keygroups.js';
import type { InputChannel } from '../network/input-channel.js';
import type { OutputChannel } from '../network/output-channel.js';
import {
  MAX_WATERMARK,
  MIN_WATERMARK,
  type OperatorContext,
  type OperatorSnapshot,
  type ProcessingTimeService,
  type SourceOperator,
  type StreamOperator,
} from '../operator.js';
import {
  ChainOutput,
  OperatorInput1,
  OperatorInput2,
  WriterTarget,
  batchDelivery,
  type BatchDelivery,
  type RecordTarget,
} from './chain.js';
import { CheckpointBarrierHandler } from './checkpoint-barrier-handler.js';
import { serializeError, type SerializedError } from './errors.js';
import { InputGate } from '../network/input-gate.js';
import type { SubtaskMetrics } from './metrics.js';
import { SubtaskMetricRegistry } from '../metrics/user-metrics.js';
import { UserFunctionError } from '../operators/errors.js';
import { DEFAULT_KEY_GROUPED_MEMORY_BYTES } from '../operators/key-grouped-input.js';
import { RecordWriter, type PartitionerSpec } from '../network/record-writer.js';
import { WatermarkValve } from './watermark-valve.js';
import { DeferredSnapshot, type DeferredSnapshotInfo } from './deferred-snapshot.js';
import { cloneStateData, NotClonableError } from '../state/snapshot-guard.js';
import { SourceAlignment, type AlignmentReport } from './source-alignment.js';

/** Lifecycle of a subtask. */
export type TaskState = 'CREATED' | 'RUNNING' | 'FINISHING' | 'FINISHED' | 'FAILED' | 'CANCELED';

/** Tuning of a task's loop. */
export interface TaskSettings {
  /** Records per output batch. @default 1024 */
  batchSize: number;
  /** Longest slice before yielding to the event loop, in ms. @default 5 */
  sliceMs: number;
  /** Records asked of a source per `emitNext` call. @default 512 */
  sourceBatchSize: number;
  /** Delay before polling an idle source again, in ms. @default 2 */
  idlePollMs: number;
  /**
   * BATCH input grouped by key: estimated heap bytes a keyed operator's
   * buffered input (or a rolling aggregation's accumulators) may take
   * before a sorted run spills to disk (`KeyGroupedInputOperator`).
   * @default 64 MiB
   */
  groupedInputMemoryBytes: number;
  /** Directory for the spill files of BATCH grouped input. @default os.tmpdir() */
  groupedInputDir?: string;
  /**
   * Asynchronous heap snapshots: a checkpoint's keyed state is packed after
   * the barrier, a key group at a time between processing slices, when
   * every stateful operator of the chain guards what it holds until then
   * (`state/snapshot-guard.ts`). false: packed at the barrier. @default true
   */
  asyncSnapshots: boolean;
  /** Longest step of packing an asynchronous snapshot before the task goes on, in ms. @default 1 */
  snapshotStepMs: number;
}

/** Default {@link TaskSettings}. */
export const DEFAULT_TASK_SETTINGS: Readonly<TaskSettings> = Object.freeze({
  batchSize: 1024,
  sliceMs: 5,
  sourceBatchSize: 512,
  idlePollMs: 2,
  groupedInputMemoryBytes: DEFAULT_KEY_GROUPED_MEMORY_BYTES,
  asyncSnapshots: true,
  snapshotStepMs: 1,
});

/** A task's snapshot for a checkpoint: every operator of its chain, encoded (the synchronous part is done). */
export interface TaskSnapshot {
  checkpointId: number;
  /** The encoded snapshots of the chain (`encodeSubtaskSnapshot`); the buffer owns its ArrayBuffer. */
  state: Uint8Array;
  /**
   * The checkpoints whose stored pieces (this subtask's snapshot in them)
   * the snapshot refers to for key groups it did not write again (an
   * incremental snapshot of the disk backend); empty for a full one.
   */
  pieces: number[];
  /** From the first barrier to the last (0 at a source). */
  alignmentMs: number;
  /** Snapshotting the operators at the barrier (and encoding them, unless {@link encodeMs} is set). */
  syncMs: number;
  /** Packing the snapshot after the barrier, between processing slices (an asynchronous snapshot). */
  encodeMs?: number;
}

/** A task's final state: its input ended, it flushed and sent its end of partition. */
export interface FinalTaskSnapshot {
  /** The newest checkpoint whose barrier (or trigger) the task saw before; 0 if none. */
  afterCheckpointId: number;
  /** The encoded snapshots of the chain. */
  state: Uint8Array;
  syncMs: number;
}

/** What a task tells its host. */
export interface TaskHooks {
  /** All output was sent and the operators closed. */
  onFinished(task: StreamTask): void;
  /** The task failed (a user function threw, or the runtime did); the host cancels the job. */
  onFailed(task: StreamTask, error: SerializedError): void;
  /** The task took its snapshot for a checkpoint; the host stores it and acknowledges it. */
  onCheckpoint?(task: StreamTask, snapshot: TaskSnapshot): void;
  /**
   * The task's input ended and it took its final state (with
   * `finalCheckpoint`); it waits for {@link StreamTask.finish} before it
   * commits and closes.
   */
  onFinalState?(task: StreamTask, snapshot: FinalTaskSnapshot): void;
  /** The task could not take checkpoint `checkpointId` (it abandoned its alignment, or its state cannot be encoded). */
  onCheckpointDeclined?(task: StreamTask, checkpointId: number, reason: string): void;
  /**
   * A slice of the task's work (where its user functions run) starts
   * (`running` true) or ends: a watchdog names the task whose slice does
   * not end.
   */
  onSlice?(task: StreamTask, running: boolean): void;
}

/** How a task takes part in checkpoints. */
export interface TaskCheckpointing {
  /** Aligned barriers, or not. @default 'EXACTLY_ONCE' */
  mode?: CheckpointingMode;
  /**
   * Whether a checkpoint coordinator runs: a task whose input ended then
   * hands over its final state and waits to be told to finish (its output
   * commits with the checkpoint that holds that state). Without one, a task
   * commits and finishes as soon as its input ended. @default false
   */
  finalCheckpoint?: boolean;
}

/** One operator of the chain. */
export interface ChainMember {
  node: StreamNode;
  operator: StreamOperator;
}

/** One output edge of the task with the channels of this subtask, in consumer order. */
export interface TaskOutput {
  edge: JobEdge;
  channels: OutputChannel[];
  partitioner: PartitionerSpec;
  /** Operator blamed when the HASH key selector throws. */
  keyOperatorName?: string;
}

/** Everything needed to build a subtask. */
export interface StreamTaskConfig {
  job: JobConfig;
  vertex: JobVertex;
  subtaskIndex: number;
  attempt?: number;
  /** Id of the job, for user functions' runtime context. @default '' */
  jobId?: string;
  /** Operators in chain order (head first). */
  chain: ChainMember[];
  /** StreamGraph edges between members of the chain. */
  chainEdges: StreamEdge[];
  /** Input channels of both inputs. */
  inputs: InputChannel[];
  outputs: TaskOutput[];
  hooks: TaskHooks;
  settings?: Partial<TaskSettings>;
  /** State to restore, per StreamNode id. */
  restored?: ReadonlyMap<number, readonly OperatorSnapshot[]>;
  /** The checkpoint `restored` comes from. @default 0 (none) */
  restoredCheckpointId?: number;
  /** `restored` is this subtask's final state: it commits and finishes at once, emitting nothing. */
  restoredFinal?: boolean;
  checkpointing?: TaskCheckpointing;
  /**
   * The host coordinates watermark alignment (reports {@link StreamTask.alignmentReport},
   * hands back {@link StreamTask.allowWatermark}): an aligned source pauses
   * when ahead of its group. Without it `withWatermarkAlignment` has no effect.
   * @default false
   */
  alignWatermarks?: boolean;
}

/** Optional extras a source operator may implement so the task need not poll it blindly. */
export interface SchedulableSource {
  /** Milliseconds until the source may have records again (after it returned 'IDLE'). */
  idleDelayMs?(): number;
  /** Registers a callback the source calls when records arrive (I/O sources). */
  setWakeUp?(wakeUp: () => void): void;
}

const now = (): number => performance.now();

/** A running subtask. */
export class StreamTask {
  /** Current lifecycle state. */
  state: TaskState = 'CREATED';
  readonly vertex: JobVertex;
  readonly subtaskIndex: number;
  private readonly settings: TaskSettings;
  private readonly chain: ChainMember[];
  private readonly head: StreamOperator;
  /** Batches of input 0 and input 1 into the head operator (none for a task without inputs: a source). */
  private readonly deliver1: BatchDelivery | undefined;
  private readonly deliver2: BatchDelivery | undefined;
  private readonly source: (SourceOperator & SchedulableSource) | undefined;
  private readonly gate: InputGate;
  private readonly valve: WatermarkValve;
  private readonly writers: RecordWriter[] = [];
  private readonly headOutput: ChainOutput;
  private readonly memberOutputs: ChainOutput[];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private scheduled = false;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly runSliceBound = (): void => {
    this.runSlice();
  };
  private readonly flushBound = (): void => {
    this.flushTimeout();
  };
  private pendingSnapshot: DeferredSnapshot | undefined;
  private snapshotStepScheduled = false;
  private readonly snapshotStepBound = (): void => {
    this.snapshotStep();
  };
  private readonly scheduleBound = (): void => {
    this.schedule();
  };
  private readonly barriers: CheckpointBarrierHandler;
  private endedChannels = 0;
  private outputIdle = false;
  private recordsIn = 0;
  private busyMs = 0;
  private backpressuredMs = 0;
  private backpressuredSince = -1;
  private lastSample = { at: now(), busy: 0, bp: 0 };
  private sourceWatermark = MIN_WATERMARK;
  /** The newest checkpoint whose barrier or trigger this task saw (or restored from). */
  private lastCheckpointId: number;
  /** The final state was handed over: wait for {@link finish} before closing. */
  private awaitingFinish = false;
  /** Operators holding back their input (asynchronous writes behind). */
  private readonly heldBack = new Set<StreamOperator>();
  /** Waiting for operators' asynchronous work before finishing. */
  private awaitingWork = false;
  /** User metrics and accumulators of the chain's functions. */
  private readonly userMetrics = new SubtaskMetricRegistry();
  /** The input ended; the chain's end may wait for operators with work in flight. */
  private ending = false;
  /** A source stopped by a stop-with-savepoint barrier: it emits nothing more. */
  private suspended = false;
  /** Watermark alignment of a source task whose chain has an aligned watermark strategy. */
  private readonly alignment: SourceAlignment | undefined;

  constructor(private readonly config: StreamTaskConfig) {
    this.vertex = config.vertex;
    this.subtaskIndex = config.subtaskIndex;
    this.settings = { ...DEFAULT_TASK_SETTINGS, ...config.settings };
    this.chain = config.chain;
    const head = config.chain[0];
    if (!head) throw new Error(`vertex ${config.vertex.id} has an empty chain`);
    this.head = head.operator;
    const hasInputs = config.inputs.length > 0;
    this.deliver1 = hasInputs ? batchDelivery(this.head, 0) : undefined;
    this.deliver2 =
      hasInputs && this.head.processElement2 !== undefined ? batchDelivery(this.head, 1) : undefined;
    this.source = config.vertex.isSource ? (head.operator as SourceOperator & SchedulableSource) : undefined;
    this.gate = new InputGate(config.inputs);
    this.gate.onAvailable = this.scheduleBound;
    this.valve = new WatermarkValve(config.inputs.length);
    this.lastCheckpointId = config.restoredCheckpointId ?? 0;
    const aligned = config.vertex.isSource && config.alignWatermarks === true;
    const spec = aligned ? config.chain.find((m) => m.node.spec.watermarks?.alignment)?.node.spec : undefined;
    this.alignment = spec?.watermarks?.alignment ? new SourceAlignment(spec.watermarks.alignment) : undefined;
    const gate = this.gate;
    this.barriers = new CheckpointBarrierHandler(
      config.inputs.length,
      {
        blockChannel: (ch) => {
          gate.block(ch);
        },
        unblockAllChannels: () => {
          gate.unblockAll();
        },
        checkpointAligned: (checkpointId, timestamp, alignmentMs) => {
          this.performCheckpoint(checkpointId, timestamp, alignmentMs);
        },
        checkpointAborted: (checkpointId, reason) => {
          this.config.hooks.onCheckpointDeclined?.(this, checkpointId, reason);
        },
      },
      { mode: config.checkpointing?.mode ?? 'EXACTLY_ONCE' },
    );

    for (const out of config.outputs) {
      const writer = new RecordWriter(
        out.channels,
        out.partitioner,
        this.settings.batchSize,
        () => {
          this.armFlush();
        },
        config.subtaskIndex,
        out.keyOperatorName,
      );
      this.writers.push(writer);
      for (const ch of out.channels)
        ch.onWritable = () => {
          this.onWritable();
        };
    }
    this.memberOutputs = this.buildOutputs();
    this.headOutput = this.memberOutputs[0]!;
  }

  /** Opens the operators (tail first, so downstream is ready when upstream emits) and starts running. */
  start(): void {
    if (this.state !== 'CREATED') return;
    const { job, vertex, subtaskIndex } = this.config;
    this.state = 'RUNNING';
    try {
      const outs = this.memberOutputs;
      for (let i = this.chain.length - 1; i >= 0; i--) {
        const m = this.chain[i]!;
        const ctx: OperatorContext = {
          node: m.node,
          job,
          subtaskIndex,
          parallelism: vertex.parallelism,
          maxParallelism: vertex.maxParallelism,
          attempt: this.config.attempt ?? 0,
          jobId: this.config.jobId ?? '',
          taskName: vertex.name,
          metrics: this.userMetrics,
          keyGroupRange: keyGroupRange(vertex.maxParallelism, vertex.parallelism, subtaskIndex),
          ...(this.settings.groupedInputDir !== undefined
            ? { localStateDir: this.settings.groupedInputDir }
            : {}),
          output: outs[i]!,
          processingTime: this.processingTime,
          reportUserError: (error: unknown): never => {
            throw error;
          },
          failTask: (error: unknown): void => {
            this.fail(error);
          },
          setBackpressured: (backpressured: boolean): void => {
            this.setHeldBack(m.operator, backpressured);
          },
        };
        m.operator.open(ctx, this.config.restored?.get(m.node.id));
      }
      if (this.config.restoredFinal) {
        this.finishRestoredFinal();
        return;
      }
      this.source?.setWakeUp?.(this.scheduleBound);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.schedule();
  }

  /** The record writer of output edge `edgeId` (for an edge tap), if this subtask writes into that edge. */
  writerOf(edgeId: string): RecordWriter | undefined {
    const i = this.config.outputs.findIndex((o) => o.edge.id === edgeId);
    return i < 0 ? undefined : this.writers[i];
  }

  /**
   * Restored from its final state: everything it had to emit was emitted
   * and committed before (restoring committed its output), so it only tells
   * its consumers that it ended, and finishes.
   */
  private finishRestoredFinal(): void {
    for (const w of this.writers) {
      w.broadcastEvent({ kind: 'watermark', watermark: MAX_WATERMARK });
      w.broadcastEvent(END_OF_PARTITION);
    }
    if (this.source) this.sourceWatermark = MAX_WATERMARK;
    this.state = 'FINISHING';
    this.maybeFinished();
  }

  /** Wires every chain member's Output: chained operators first, then the writers of its edges. */
  private buildOutputs(): ChainOutput[] {
    const { chain, chainEdges, outputs } = this.config;
    const byNode = new Map<number, StreamOperator>();
    for (const m of chain) byNode.set(m.node.id, m.operator);
    const onIdle = (idle: boolean): void => {
      this.setOutputIdle(idle);
    };
    return chain.map((m) => {
      const main: RecordTarget[] = [];
      const side = new Map<string, RecordTarget[]>();
      const add = (tag: string | undefined, t: RecordTarget): void => {
        if (tag === undefined) main.push(t);
        else side.set(tag, [...(side.get(tag) ?? []), t]);
      };
      for (const e of chainEdges) {
        if (e.source !== m.node.id) continue;
        const target = byNode.get(e.target);
        if (!target) continue;
        add(e.sideOutput, e.inputIndex === 1 ? new OperatorInput2(target) : new OperatorInput1(target));
      }
      outputs.forEach((out, i) => {
        if (out.edge.sourceNodeId === m.node.id) add(out.edge.sideOutput, new WriterTarget(this.writers[i]!));
      });
      const aligned = this.alignment !== undefined && m.node.spec.watermarks?.alignment !== undefined;
      return new ChainOutput(main, side, onIdle, aligned ? this.alignment : undefined);
    });
  }

  /** Processing-time timers on this thread; callbacks run between slices. */
  private readonly processingTime: ProcessingTimeService = {
    now: () => Date.now(),
    schedule: (time, callback) => {
      const handle = setTimeout(
        () => {
          this.timers.delete(handle);
          if (this.state !== 'RUNNING') return;
          const t0 = now();
          try {
            callback(time);
          } catch (error) {
            this.fail(error);
          }
          this.busyMs += now() - t0;
          this.afterWork();
        },
        Math.max(0, time - Date.now()),
      );
      this.timers.add(handle);
      return () => {
        clearTimeout(handle);
        this.timers.delete(handle);
      };
    },
  };

  private schedule(): void {
    if (this.scheduled || (this.state !== 'RUNNING' && this.state !== 'FINISHING')) return;
    this.scheduled = true;
    setImmediate(this.runSliceBound);
  }

  private get backlogged(): boolean {
    if (this.heldBack.size > 0) return true;
    const w = this.writers;
    for (let i = 0; i < w.length; i++) if (w[i]!.backlogged) return true;
    return false;
  }

  private setHeldBack(operator: StreamOperator, held: boolean): void {
    if (held) this.heldBack.add(operator);
    else if (this.heldBack.delete(operator)) this.onWritable();
  }

  private runSlice(): void {
    this.scheduled = false;
    if (this.state !== 'RUNNING' || this.ending) return;
    if (this.backlogged) {
      this.startBackpressure();
      return;
    }
    const t0 = now();
    const deadline = t0 + this.settings.sliceMs;
    let more = false;
    const hooks = this.config.hooks;
    hooks.onSlice?.(this, true);
    try {
      if (this.source) more = this.runSourceSlice(deadline);
      else more = this.runInputSlice(deadline);
    } catch (error) {
      this.fail(error);
    }
    hooks.onSlice?.(this, false);
    this.busyMs += now() - t0;
    // Out of input (or a paced source waiting for its next records): nothing more would join the
    // partly filled output batches soon, so they go now instead of waiting out the buffer timeout.
    // A busy task (more to do) keeps filling them, so batches stay full under load.
    if (this.settings.sliceMs >= 0 && (!more || this.config.job.bufferTimeoutMs === 0)) this.flushAll();
    if (more) this.afterWork();
  }

  /** Reschedules if work is pending, or starts counting backpressure. */
  private afterWork(): void {
    if (this.state !== 'RUNNING') return;
    if (this.backlogged) this.startBackpressure();
    else if (this.source ? this.idleTimer === undefined : this.gate.hasAvailable) this.schedule();
  }

  private runSourceSlice(deadline: number): boolean {
    if (this.suspended) return false;
    const source = this.source!;
    const batch = this.settings.sourceBatchSize;
    const alignment = this.alignment;
    for (;;) {
      // Ahead of its group: read nothing until allowWatermark lets it go on.
      if (alignment !== undefined && alignment.shouldPause(now())) return false;
      const before = this.headOutput.count;
      const r = source.emitNext(batch);
      this.recordsIn += this.headOutput.count - before;
      if (r === 'END') {
        this.endOfInput();
        return false;
      }
      if (r === 'IDLE') {
        const delay = source.idleDelayMs?.() ?? this.settings.idlePollMs;
        this.idleTimer = setTimeout(
          () => {
            this.idleTimer = undefined;
            this.schedule();
          },
          Math.max(1, Math.min(delay, 1000)),
        );
        return false;
      }
      if (this.state !== 'RUNNING' || this.backlogged || now() >= deadline) return true;
    }
  }

  private runInputSlice(deadline: number): boolean {
    const gate = this.gate;
    for (;;) {
      const event = gate.poll();
      if (event === undefined) return false;
      this.handleEvent(event, gate.lastChannel);
      if (this.state !== 'RUNNING' || this.ending) return false;
      if (this.backlogged || now() >= deadline) return true;
    }
  }

  private handleEvent(event: ChannelEvent, ch: number): void {
    switch (event.kind) {
      case 'batch': {
        const { values, timestamps } = event;
        this.recordsIn += values.length;
        if (this.gate.channels[ch]!.inputIndex === 0) this.deliver1!(values, timestamps);
        else this.deliver2!(values, timestamps);
        return;
      }
      case 'watermark': {
        const w = this.valve.onWatermark(ch, event.watermark);
        this.syncInputIdle();
        if (w !== undefined) this.head.processWatermark(w);
        return;
      }
      case 'status': {
        const w = this.valve.onStatus(ch, event.idle);
        this.syncInputIdle();
        if (w !== undefined) this.head.processWatermark(w);
        return;
      }
      case 'barrier':
        this.barriers.onBarrier(ch, event.checkpointId, event.timestamp);
        return;
      case 'end': {
        this.endedChannels++;
        const w = this.valve.onEnd(ch);
        if (w !== undefined) this.head.processWatermark(w);
        this.barriers.onEndOfPartition(ch);
        if (this.endedChannels === this.gate.channels.length) this.endOfInput();
        return;
      }
    }
  }

  private syncInputIdle(): void {
    if (this.valve.allIdle !== this.outputIdle) this.setOutputIdle(this.valve.allIdle);
  }

  private setOutputIdle(idle: boolean): void {
    if (idle === this.outputIdle) return;
    this.outputIdle = idle;
    for (const w of this.writers) w.broadcastEvent({ kind: 'status', idle });
  }

  // ------------------------------------------------------------ watermark alignment

  /** The aligned source's report for its group's coordinator; undefined when the task is not aligned. */
  alignmentReport(): (AlignmentReport & { maxDriftMs: number; updateIntervalMs: number }) | undefined {
    const a = this.alignment;
    if (a === undefined) return undefined;
    const ended = this.state !== 'RUNNING' || this.ending;
    return {
      ...a.report(this.vertex.id, this.subtaskIndex, ended),
      maxDriftMs: a.spec.maxDriftMs,
      updateIntervalMs: a.spec.updateIntervalMs,
    };
  }

  /** The coordinator allows the sources of `group` watermarks up to `maxAllowed`: a paused one may go on. */
  allowWatermark(group: string, maxAllowed: number): void {
    const a = this.alignment;
    if (a === undefined || a.spec.group !== group) return;
    if (a.allow(maxAllowed)) this.schedule();
  }

  // ------------------------------------------------------------ checkpoints
  // Barriers from the inputs are aligned by `this.barriers` (checkpoint-barrier-handler.ts).

  /**
   * Injects a checkpoint barrier at a source task (between slices): sends
   * the barrier downstream behind the records emitted so far and snapshots
   * the chain. Returns false when the task cannot (not a running source; a
   * source whose input ended is covered by its final state).
   */
  triggerCheckpoint(checkpointId: number, timestamp: number = Date.now(), stopSources = false): boolean {
    if (this.state !== 'RUNNING' || !this.source || this.ending || this.suspended) return false;
    try {
      this.performCheckpoint(checkpointId, timestamp, 0);
    } catch (error) {
      this.fail(error);
      return false;
    }
    // Stop with a savepoint: nothing follows the barrier, so the savepoint is where the job stops.
    if (stopSources) this.suspended = true;
    return true;
  }

  /**
   * Stop with `--drain`: a running source ends its input now, as a bounded
   * one does (the MAX watermark first, then its final state). Returns false
   * when the task is no running source.
   */
  drain(): boolean {
    if (this.state !== 'RUNNING' || !this.source || this.ending) return false;
    this.suspended = false;
    try {
      this.endOfInput();
    } catch (error) {
      this.fail(error);
      return false;
    }
    return true;
  }

  private performCheckpoint(checkpointId: number, timestamp: number, alignmentMs: number): void {
    if (checkpointId > this.lastCheckpointId) this.lastCheckpointId = checkpointId;
    // The previous checkpoint's snapshot is reported first (acknowledgements in order).
    this.completePendingSnapshot();
    // Barrier first (Flink's order): downstream can start aligning while this task snapshots.
    const barrier: ChannelEvent = { kind: 'barrier', checkpointId, timestamp };
    for (const w of this.writers) w.broadcastEvent(barrier);
    const t0 = now();
    let state: Uint8Array;
    let pieces: number[];
    try {
      const snapshots = this.snapshotOperators(checkpointId, false);
      pieces = pieceRefsOf(snapshots);
      if (this.settings.asyncSnapshots) {
        const deferred = this.deferSnapshot(snapshots, { checkpointId, pieces, alignmentMs, syncMs: 0 });
        if (deferred !== undefined) {
          deferred.info.syncMs = now() - t0;
          this.pendingSnapshot = deferred;
          this.scheduleSnapshotStep();
          return;
        }
      }
      state = encodeSubtaskSnapshot(snapshots);
    } catch (error) {
      this.declineCheckpoint(checkpointId, error);
      return;
    }
    this.config.hooks.onCheckpoint?.(this, { checkpointId, state, pieces, alignmentMs, syncMs: now() - t0 });
  }

  private declineCheckpoint(checkpointId: number, error: unknown): void {
    this.config.hooks.onCheckpointDeclined?.(
      this,
      checkpointId,
      error instanceof Error ? error.message : String(error),
    );
  }

  /**
   * The snapshot to pack after the barrier, or undefined to pack it now:
   * every operator holding keyed state guards it until then, operator state
   * is copied now (it is small, and operators change it freely), and some
   * key group is left to pack.
   */
  private deferSnapshot(
    snapshots: Map<number, OperatorSnapshot>,
    info: DeferredSnapshotInfo,
  ): DeferredSnapshot | undefined {
    const deferred = new DeferredSnapshot(snapshots, info, () => {
      this.completePendingSnapshot();
    });
    if (deferred.remaining === 0) return undefined;
    for (const m of this.chain) {
      const snapshot = snapshots.get(m.node.id);
      if (snapshot === undefined) continue;
      let guarded = true;
      if (snapshot.keyed !== undefined) {
        for (const _ in snapshot.keyed) {
          guarded = m.operator.guardSnapshot?.(deferred) === true;
          break;
        }
      }
      if (guarded && snapshot.operator !== undefined) {
        try {
          snapshot.operator = cloneStateData(snapshot.operator);
        } catch (error) {
          if (!(error instanceof NotClonableError)) throw error;
          guarded = false;
        }
      }
      if (!guarded) {
        deferred.release();
        return undefined;
      }
    }
    return deferred;
  }

  private scheduleSnapshotStep(): void {
    if (this.snapshotStepScheduled) return;
    this.snapshotStepScheduled = true;
    setImmediate(this.snapshotStepBound);
  }

  /** Packs the pending snapshot for a step, and reports it once it is packed. */
  private snapshotStep(): void {
    this.snapshotStepScheduled = false;
    const pending = this.pendingSnapshot;
    if (pending === undefined) return;
    let done: boolean;
    try {
      done = pending.step(this.settings.snapshotStepMs);
    } catch {
      done = true; // completePendingSnapshot meets the error again and declines
    }
    if (done) this.completePendingSnapshot();
    else this.scheduleSnapshotStep();
  }

  /** Packs and reports the pending asynchronous snapshot, if any (at once). */
  private completePendingSnapshot(): void {
    const pending = this.pendingSnapshot;
    if (pending === undefined) return;
    this.pendingSnapshot = undefined;
    let state: Uint8Array;
    try {
      state = pending.finish();
    } catch (error) {
      this.declineCheckpoint(pending.info.checkpointId, error);
      return;
    }
    this.config.hooks.onCheckpoint?.(this, { ...pending.info, state, encodeMs: pending.encodeMs });
  }

  /** Drops the pending asynchronous snapshot (the task failed or was canceled: it is never reported). */
  private dropPendingSnapshot(): void {
    this.pendingSnapshot?.release();
    this.pendingSnapshot = undefined;
  }

  /** Snapshots every operator of the chain (`full`: no references to earlier pieces). */
  private snapshotOperators(checkpointId: number, full: boolean): Map<number, OperatorSnapshot> {
    const snapshots = new Map<number, OperatorSnapshot>();
    for (const m of this.chain) snapshots.set(m.node.id, m.operator.snapshotState(checkpointId, full));
    return snapshots;
  }

  /** The checkpoint completed everywhere (two-phase-commit sinks commit now). */
  notifyCheckpointComplete(checkpointId: number): void {
    if (this.state !== 'RUNNING' && this.state !== 'FINISHING') return;
    try {
      for (const m of this.chain) m.operator.notifyCheckpointComplete?.(checkpointId);
    } catch (error) {
      this.fail(error);
    }
  }

  /** The checkpoint was aborted: stop aligning it and tell the operators. */
  notifyCheckpointAborted(checkpointId: number): void {
    if (this.state !== 'RUNNING' && this.state !== 'FINISHING') return;
    this.barriers.abortCheckpoint(checkpointId);
    try {
      for (const m of this.chain) m.operator.notifyCheckpointAborted?.(checkpointId);
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Checkpoint `checkpointId`, which holds this task's final state, completed:
   * commit (`notifyCheckpointComplete`), close the operators once the output
   * is sent, and report FINISHED.
   */
  finish(checkpointId: number): void {
    if (this.state !== 'FINISHING' || !this.awaitingFinish) return;
    this.awaitingFinish = false;
    this.notifyCheckpointComplete(checkpointId);
    this.maybeFinished();
  }

  /** Whether the task handed over its final state and waits for {@link finish}. */
  get isAwaitingFinish(): boolean {
    return this.awaitingFinish;
  }

  // ------------------------------------------------------------ end, failure, cancel

  private endOfInput(): void {
    if (this.ending) return;
    this.ending = true;
    if (this.source) {
      this.sourceWatermark = MAX_WATERMARK;
      this.head.processWatermark(MAX_WATERMARK);
    } else if (this.valve.current < MAX_WATERMARK) {
      this.valve.current = MAX_WATERMARK;
      this.head.processWatermark(MAX_WATERMARK);
    }
    this.endChainFrom(0);
  }

  /**
   * Ends the chain's operators in order from `from`; one with work in flight
   * (async I/O) first emits all of it, and the rest of the chain waits.
   * Throws (into the slice's handler) when called from the slice.
   */
  private endChainFrom(from: number): void {
    const chain = this.chain;
    for (let i = from; i < chain.length; i++) {
      const op = chain[i]!.operator;
      if (
        op.finishPending?.(() => {
          this.endPendingMember(i);
        }) === true
      )
        return;
      op.endInput();
    }
    this.afterEndOfInput();
  }

  /** Member `i` emitted its work in flight (called from its callback): end it and the rest. */
  private endPendingMember(i: number): void {
    if (this.state !== 'RUNNING') return;
    try {
      this.chain[i]!.operator.endInput();
      this.endChainFrom(i + 1);
    } catch (error) {
      this.fail(error);
    }
  }

  private afterEndOfInput(): void {
    // The last checkpoint's snapshot goes before the final state.
    this.completePendingSnapshot();
    for (const w of this.writers) w.broadcastEvent(END_OF_PARTITION);
    this.state = 'FINISHING';
    this.clearTimers();
    // The final state: what the operators hold now that everything was emitted (e.g. a file sink's last part).
    // It belongs to every checkpoint after the last one this task saw.
    const finalId = this.lastCheckpointId + 1;
    if (this.config.checkpointing?.finalCheckpoint) {
      const t0 = now();
      // Full: the final state may outlive every checkpoint whose pieces an incremental one would refer to.
      const state = encodeSubtaskSnapshot(this.snapshotOperators(finalId, true));
      this.awaitingFinish = true;
      this.config.hooks.onFinalState?.(this, {
        afterCheckpointId: this.lastCheckpointId,
        state,
        syncMs: now() - t0,
      });
      return;
    }
    // No coordinator: behave as if that final checkpoint completed at once.
    for (const m of this.chain) m.operator.snapshotState(finalId, true);
    for (const m of this.chain) m.operator.notifyCheckpointComplete?.(finalId);
    this.maybeFinished();
  }

  private maybeFinished(): void {
    if (this.state !== 'FINISHING' || this.awaitingFinish || this.awaitingWork || this.backlogged) return;
    for (const m of this.chain) {
      const work = m.operator.pendingWork?.();
      if (work === undefined) continue;
      // A sink's last commit is still on its way: finish once it settled (a failure fails the task).
      this.awaitingWork = true;
      work.then(
        () => {
          this.awaitingWork = false;
          this.maybeFinished();
        },
        (error: unknown) => {
          this.awaitingWork = false;
          this.fail(error);
        },
      );
      return;
    }
    this.stopBackpressure();
    try {
      this.closeOperators();
    } catch (error) {
      this.state = 'RUNNING';
      this.fail(error);
      return;
    }
    this.state = 'FINISHED';
    this.config.hooks.onFinished(this);
  }

  private onWritable(): void {
    if (this.backlogged) return;
    this.stopBackpressure();
    if (this.state === 'FINISHING') this.maybeFinished();
    else if (this.state === 'RUNNING') this.schedule();
  }

  private startBackpressure(): void {
    if (this.backpressuredSince < 0) this.backpressuredSince = now();
  }

  private stopBackpressure(): void {
    if (this.backpressuredSince >= 0) {
      this.backpressuredMs += now() - this.backpressuredSince;
      this.backpressuredSince = -1;
    }
  }

  private armFlush(): void {
    const timeout = this.config.job.bufferTimeoutMs;
    if (this.flushTimer !== undefined || timeout <= 0) return;
    this.flushTimer = setTimeout(this.flushBound, timeout);
  }

  private flushTimeout(): void {
    this.flushTimer = undefined;
    if (this.state !== 'RUNNING') return;
    this.flushAll();
  }

  private flushAll(): void {
    for (const w of this.writers) w.flush();
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.idleTimer = undefined;
    this.flushTimer = undefined;
  }

  private closeOperators(): void {
    let first: unknown;
    for (const m of this.chain) {
      try {
        m.operator.close();
      } catch (error) {
        first ??= error;
      }
    }
    if (first !== undefined)
      throw first instanceof Error ? first : new Error('an operator failed to close', { cause: first });
  }

  /** Fails the task with `error` (reported once to the host). */
  fail(error: unknown): void {
    if (this.state === 'FAILED' || this.state === 'CANCELED' || this.state === 'FINISHED') return;
    this.state = 'FAILED';
    this.dropPendingSnapshot();
    this.clearTimers();
    this.stopBackpressure();
    try {
      this.closeOperators();
    } catch {
      // The first failure is the one reported.
    }
    this.config.hooks.onFailed(
      this,
      serializeError(error, {
        vertex: this.vertex.name,
        subtask: this.subtaskIndex,
        operator: this.vertex.name,
      }),
    );
  }

  /** Stops the task without sending anything further. */
  cancel(): void {
    if (this.state === 'FAILED' || this.state === 'CANCELED' || this.state === 'FINISHED') return;
    this.barriers.cancel();
    this.state = 'CANCELED';
    this.dropPendingSnapshot();
    this.clearTimers();
    this.stopBackpressure();
    try {
      this.closeOperators();
    } catch {
      // Cancellation ignores close failures.
    }
  }

  /** Metrics since the previous call (ratios) and in total (counters). */
  sampleMetrics(): SubtaskMetrics {
    const t = now();
    const bpNow = this.backpressuredMs + (this.backpressuredSince >= 0 ? t - this.backpressuredSince : 0);
    const span = Math.max(1e-3, t - this.lastSample.at);
    const m: SubtaskMetrics = {
      vertexId: this.vertex.id,
      vertexName: this.vertex.name,
      subtask: this.subtaskIndex,
      state: this.state,
      recordsIn: this.recordsIn,
      recordsOut: this.writers.reduce((s, w) => s + w.recordsOut, 0),
      bytesIn: this.gate.channels.reduce((s, c) => s + c.bytesIn, 0),
      bytesOut: this.writers.reduce((s, w) => s + w.bytesOut, 0),
      busyRatio: Math.min(1, (this.busyMs - this.lastSample.busy) / span),
      backpressureRatio: Math.min(1, (bpNow - this.lastSample.bp) / span),
      busyMs: this.busyMs,
      backpressuredMs: bpNow,
      inputWatermark: this.source ? this.sourceWatermark : this.valve.current,
    };
    if (this.alignment !== undefined)
      m.watermarkAlignment = { pauses: this.alignment.pauses, pausedMs: this.alignment.pausedMs(t) };
    for (const member of this.chain) {
      const c = member.operator.connectorMetrics?.();
      if (c !== undefined) m.connector = m.connector === undefined ? c : { ...m.connector, ...c };
    }
    if (!this.userMetrics.isEmpty) {
      m.user = this.userMetrics.sampleMetrics();
      try {
        m.accumulators = this.userMetrics.sampleAccumulators();
      } catch (error) {
        // A custom accumulator that cannot report its value is a bug in the program: the job fails with it.
        this.fail(new UserFunctionError(this.vertex.name, 'accumulator toValue', error));
      }
    }
    this.lastSample = { at: t, busy: this.busyMs, bp: bpNow };
    return m;
  }
}
