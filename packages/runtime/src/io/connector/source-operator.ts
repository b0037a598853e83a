/**
 * The source operator of the split framework (`env.fromSource`): runs a
 * {@link Source}'s enumerator replica and reader in a source subtask.
 *
 * - **Splits.** The enumerator discovers splits at start and, for a
 *   continuous source, every `discoveryIntervalMs`; this subtask keeps the
 *   ones `splitOwner` gives it and adds them to its reader.
 * - **Records.** The task calls `emitNext` between other work; the reader
 *   emits what it has at hand through one output per split, which assigns
 *   timestamps (the watermark strategy's assigner) and tracks the split's
 *   event time.
 * - **Watermarks** are per split ({@link SplitWatermarks}), emitted every
 *   `autoWatermarkIntervalMs`.
 * - **Checkpoints.** The state is the reader's unfinished splits with their
 *   positions, the enumerator's state and each split's highest timestamp.
 *   A restored subtask keeps the splits it owns at its (possibly new)
 *   parallelism out of every state it is given, so restoring at another
 *   parallelism only needs every former subtask's state handed to every
 *   new one (Flink's union redistribution).
 */
import {
  stableHash,
  type ConnectorMetrics,
  type ReaderOutput,
  type Source,
  type SourceContext,
  type SourceReader,
  type SourceReaderContext,
  type SourceSplit,
  type SplitEnumerator,
  type SplitOutput,
} from '@freshet/api';
import type { StreamNode } from '@freshet/graph';
import {
  MAX_WATERMARK,
  NO_TIMESTAMP,
  type OperatorContext,
  type OperatorSnapshot,
  type Output,
  type SourceOperator,
} from '../../operator.js';
import { OperatorUsageError } from '../../operators/errors.js';
import { surfaceUserError } from '../../operators/errors.js';
import type { SchedulableSource } from '../../task/stream-task.js';
import { SplitWatermarks, type SplitClock } from './split-watermarks.js';

/** The operator state of a connector source subtask. */
export interface ConnectorSourceState {
  /** Layout version. */
  v: 1;
  subtask: number;
  parallelism: number;
  /** Unfinished splits with their positions. */
  splits: SourceSplit[];
  /** The enumerator replica's state. */
  enumerator: unknown;
  /** Highest timestamp per split. */
  watermarks: Record<string, number>;
}

/** A connector's counters and gauges, as the subtask reports them. */
export class MetricsRegistry implements ConnectorMetrics {
  readonly values: Record<string, number> = {};
  inc(name: string, n: number): void {
    this.values[name] = (this.values[name] ?? 0) + n;
  }
  set(name: string, value: number): void {
    this.values[name] = value;
  }
}

type AnySource = Source<unknown>;

/** Runs a framework source in a source subtask. */
export class ConnectorSourceOperator implements SourceOperator, SchedulableSource, ReaderOutput<unknown> {
  private readonly source: AnySource;
  private ctx!: OperatorContext;
  private out!: Output;
  private enumerator!: SplitEnumerator<SourceSplit, unknown>;
  private reader!: SourceReader<unknown, SourceSplit>;
  private watermarks!: SplitWatermarks;
  private readonly outputs = new Map<string, SplitOutputImpl>();
  private readonly metrics = new MetricsRegistry();
  private assign: ((value: unknown, previous: number | undefined) => number) | undefined;
  private started = false;
  private closed = false;
  private ended = false;
  private wakeUpTask: (() => void) | undefined;
  private cancelTick: (() => void) | undefined;
  private cancelDiscovery: (() => void) | undefined;
  private tickMs = 0;
  /** The first discovery completed: the subtask knows its splits. */
  private discovered = false;
  /** Records emitted, for the connector metrics. */
  records = 0;

  constructor(readonly node: StreamNode) {
    const source = node.fns.source as AnySource | undefined;
    if (typeof source?.createReader !== 'function') {
      throw new OperatorUsageError(
        `source '${node.name}' (node ${node.id}) has no source object in fns.source`,
      );
    }
    this.source = source;
  }

  open(ctx: OperatorContext, restored?: readonly OperatorSnapshot[]): void {
    this.ctx = ctx;
    this.out = ctx.output;
    const assigner = this.node.fns.timestampAssigner;
    if (typeof assigner === 'function')
      this.assign = assigner as (value: unknown, previous: number | undefined) => number;
    const now = ctx.processingTime.now();
    this.watermarks = new SplitWatermarks(this.node.spec.watermarks);

    const states = (restored ?? [])
      .map((s) => s.operator as ConnectorSourceState | undefined)
      .filter((s): s is ConnectorSourceState => s?.v === 1 && Array.isArray(s.splits));
    const mine: SourceSplit[] = [];
    for (const state of states) {
      for (const split of state.splits) {
        if (this.owner(split) !== ctx.subtaskIndex) continue;
        mine.push(split);
        const ts = state.watermarks[split.splitId];
        if (typeof ts === 'number') this.watermarks.restore(split.splitId, ts, now);
      }
    }
    const base: SourceContext = {
      subtaskIndex: ctx.subtaskIndex,
      parallelism: ctx.parallelism,
      attempt: ctx.attempt,
      jobName: ctx.job.name,
      operatorName: this.node.name,
    };
    const readerCtx: SourceReaderContext = {
      ...base,
      metrics: this.metrics,
      wakeUp: () => {
        this.wakeUpTask?.();
      },
      fail: (error) => {
        this.failAsync(error);
      },
    };
    this.enumerator = this.source.createEnumerator(
      base,
      states.map((s) => s.enumerator).filter((e) => e !== undefined),
    );
    this.reader = this.source.createReader(readerCtx);
    if (mine.length > 0) this.assignSplits(mine);

    this.discover();
    Promise.resolve(this.reader.start?.()).then(
      () => {
        this.started = true;
        this.wakeUpTask?.();
      },
      (error: unknown) => {
        this.failAsync(error);
      },
    );
    if (this.watermarks.enabled) {
      const interval = ctx.job.autoWatermarkIntervalMs > 0 ? ctx.job.autoWatermarkIntervalMs : 200;
      const idleness = this.node.spec.watermarks?.idlenessMs ?? 0;
      this.tickMs = idleness > 0 ? Math.min(interval, idleness) : interval;
      this.cancelTick = ctx.processingTime.schedule(now + this.tickMs, this.tickBound);
    }
  }

  /**
   * Hands splits to the reader. Each holds back the watermark from now on,
   * before its first record: a partition that has not been read yet may
   * hold the earliest records (unless it goes idle).
   */
  private assignSplits(splits: SourceSplit[]): void {
    const now = this.ctx.processingTime.now();
    for (const split of splits) this.watermarks.clock(split.splitId, now);
    this.reader.addSplits(splits);
  }

  /** The subtask that reads `split` at the current parallelism. */
  private owner(split: SourceSplit): number {
    const p = this.ctx.parallelism;
    const owner = this.source.splitOwner ? this.source.splitOwner(split, p) : stableHash(split.splitId) % p;
    if (!Number.isInteger(owner) || owner < 0 || owner >= p) {
      throw new OperatorUsageError(
        `source '${this.node.name}': splitOwner gave ${owner} for split '${split.splitId}', not a subtask index in 0..${p - 1}`,
      );
    }
    return owner;
  }

  private discover(): void {
    this.cancelDiscovery = undefined;
    this.enumerator.discoverSplits().then(
      (splits) => {
        if (this.closed) return;
        const mine: SourceSplit[] = [];
        for (const split of splits) if (this.owner(split) === this.ctx.subtaskIndex) mine.push(split);
        if (mine.length > 0) this.assignSplits(mine);
        this.discovered = true;
        const interval = this.source.discoveryIntervalMs;
        if (this.source.boundedness === 'BOUNDED' || interval === undefined || !(interval > 0)) {
          this.reader.notifyNoMoreSplits();
        } else {
          this.cancelDiscovery = this.ctx.processingTime.schedule(
            this.ctx.processingTime.now() + interval,
            () => {
              this.discover();
            },
          );
        }
        this.wakeUpTask?.();
      },
      (error: unknown) => {
        this.failAsync(error);
      },
    );
  }

  private failAsync(error: unknown): void {
    if (this.closed) return;
    if (this.ctx.failTask) this.ctx.failTask(error);
    else throw error;
  }

  setWakeUp(wakeUp: () => void): void {
    this.wakeUpTask = wakeUp;
  }

  idleDelayMs(): number {
    // Readers wake the task when records arrive; this is a safety net.
    return 50;
  }

  emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END' {
    if (!this.started || this.closed) return 'IDLE';
    if (this.ended) return 'END';
    const status = this.reader.pollNext(this, maxRecords);
    if (status === 'END_OF_INPUT') {
      this.ended = true;
      return 'END';
    }
    return status === 'MORE_AVAILABLE' ? 'MORE' : 'IDLE';
  }

  // ReaderOutput

  forSplit(splitId: string): SplitOutput<unknown> {
    let o = this.outputs.get(splitId);
    if (o === undefined) {
      o = new SplitOutputImpl(this, this.watermarks.clock(splitId, this.ctx.processingTime.now()));
      this.outputs.set(splitId, o);
    }
    return o;
  }

  splitFinished(splitId: string): void {
    this.outputs.delete(splitId);
    this.watermarks.remove(splitId);
  }

  /** Emits one record of a split (called by {@link SplitOutputImpl}). */
  emit(clock: SplitClock, value: unknown, timestamp: number | undefined): void {
    let ts = timestamp ?? NO_TIMESTAMP;
    if (this.assign !== undefined) {
      try {
        ts = this.assign(value, timestamp);
      } catch (error) {
        surfaceUserError(error, this.node.name, 'timestampAssigner', this.ctx.reportUserError);
      }
    }
    if (ts > clock.maxTimestamp) clock.maxTimestamp = ts;
    clock.recordsSinceTick++;
    if ((clock.idle || this.watermarks.outputIdle) && this.watermarks.wake(clock)) this.out.markIdle(false);
    this.records++;
    this.out.collect(value, ts);
  }

  private readonly tickBound = (time: number): void => {
    this.tick(time);
  };

  private tick(time: number): void {
    this.cancelTick = undefined;
    if (this.closed || this.ended) return;
    const r = this.watermarks.tick(time, this.discovered);
    if (r.idle === true) this.out.markIdle(true);
    if (r.watermark !== undefined) this.out.emitWatermark(r.watermark);
    this.cancelTick = this.ctx.processingTime.schedule(time + this.tickMs, this.tickBound);
  }

  processElement(): void {
    throw new OperatorUsageError(`source '${this.node.name}' has no input`);
  }

  processWatermark(watermark: number): void {
    // The task sends +Infinity at the end of a bounded source.
    if (watermark === MAX_WATERMARK) {
      this.cancelTick?.();
      this.cancelTick = undefined;
      if (this.watermarks.outputIdle) this.out.markIdle(false);
    }
    this.out.emitWatermark(watermark);
  }

  endInput(): void {}

  snapshotState(checkpointId: number): OperatorSnapshot {
    const state: ConnectorSourceState = {
      v: 1,
      subtask: this.ctx.subtaskIndex,
      parallelism: this.ctx.parallelism,
      splits: this.reader.snapshotState(checkpointId),
      enumerator: this.enumerator.snapshotState(),
      watermarks: this.watermarks.snapshot(),
    };
    return { operator: state };
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.reader.notifyCheckpointComplete?.(checkpointId);
  }

  connectorMetrics(): Record<string, number> {
    return { ...this.metrics.values, recordsRead: this.records };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelTick?.();
    this.cancelDiscovery?.();
    // Clients disconnect in the background; a failure to close is not the job's failure.
    void Promise.resolve()
      .then(() => this.reader.close())
      .catch(() => undefined);
    void Promise.resolve()
      .then(() => this.enumerator.close?.())
      .catch(() => undefined);
  }
}

/** One split's output: assigns timestamps and tracks the split's event time. */
class SplitOutputImpl implements SplitOutput<unknown> {
  constructor(
    private readonly op: ConnectorSourceOperator,
    private readonly clock: SplitClock,
  ) {}
  collect(value: unknown, timestamp?: number): void {
    this.op.emit(this.clock, value, timestamp);
  }
}
