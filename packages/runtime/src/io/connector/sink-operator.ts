/**
 * The sink operator of the writer/committer framework
 * (`sinkTo(connectorSink)`): a {@link ConnectorSink}'s writer in a sink
 * subtask and, for two-phase-commit sinks, its committer.
 *
 * At a checkpoint barrier the writer flushes and hands over its
 * committables, which join the operator's state as *pending for that
 * checkpoint*. When a checkpoint completes, the committer commits every
 * pending checkpoint up to it, one after the other in checkpoint order, in
 * the background; a committable leaves the state only once its commit
 * succeeded, so a checkpoint taken while a commit is in flight still holds
 * it and a restore commits it again (committers are idempotent). A restored
 * subtask commits the pending committables of its checkpoint first — they
 * belong to a checkpoint that completed — and its writer discards what it
 * had begun after that checkpoint.
 *
 * The task waits for the last commit before it reports FINISHED
 * (`pendingWork`), and feeds no record until the restored commits are done
 * and the writer started.
 */
import { randomUUID } from 'node:crypto';
import type { Committer, ConnectorSink, SinkWriter, SinkWriterContext } from '@freshet/api';
import type { StreamNode } from '@freshet/graph';
import type { OperatorContext, OperatorSnapshot, StreamOperator } from '../../operator.js';
import { OperatorUsageError } from '../../operators/errors.js';
import { MetricsRegistry } from './source-operator.js';

/** Committables of one checkpoint, waiting for it (or a later one) to complete. */
export interface PendingCommit {
  checkpointId: number;
  committables: unknown[];
}

/** The operator state of a connector sink subtask. */
export interface ConnectorSinkState {
  /** Layout version. */
  v: 1;
  subtask: number;
  /** The run id (see `SinkWriterContext.runId`). */
  runId: string;
  /** The writer's own state. */
  writer?: unknown;
  /** Not yet committed, oldest first. */
  pending: PendingCommit[];
}

type AnySink = ConnectorSink<unknown>;

/** Runs a framework sink in a sink subtask. */
export class ConnectorSinkOperator implements StreamOperator {
  private readonly sink: AnySink;
  private ctx!: OperatorContext;
  private writer!: SinkWriter<unknown, unknown, unknown>;
  private committer: Committer<unknown> | undefined;
  private runId = '';
  private pending: PendingCommit[] = [];
  /** Highest checkpoint whose commit was started. */
  private committing = 0;
  private inFlight = 0;
  private chain: Promise<void> = Promise.resolve();
  private drained = false;
  private closed = false;
  private failed = false;
  private readonly metrics = new MetricsRegistry();
  private records = 0;

  constructor(readonly node: StreamNode) {
    const sink = node.fns.sink as AnySink | undefined;
    if (typeof sink?.createWriter !== 'function') {
      throw new OperatorUsageError(`sink '${node.name}' (node ${node.id}) has no sink object in fns.sink`);
    }
    this.sink = sink;
  }

  open(ctx: OperatorContext, restored?: readonly OperatorSnapshot[]): void {
    this.ctx = ctx;
    // A copy (a rescale's overlapping former subtask another new subtask owns) commits nothing
    // here: each former subtask's pending commits and writer state are restored exactly once.
    const states = (restored ?? [])
      .filter((s) => s.copy !== true)
      .map((s) => s.operator as ConnectorSinkState | undefined)
      .filter((s): s is ConnectorSinkState => s?.v === 1 && Array.isArray(s.pending));
    this.runId = states[0]?.runId ?? randomUUID();
    const writerCtx: SinkWriterContext = {
      subtaskIndex: ctx.subtaskIndex,
      parallelism: ctx.parallelism,
      attempt: ctx.attempt,
      jobName: ctx.job.name,
      operatorId: this.node.uid ?? this.node.name,
      runId: this.runId,
      checkpointIntervalMs: ctx.job.checkpointing?.intervalMs,
      metrics: this.metrics,
      now: () => ctx.processingTime.now(),
      schedule: (time, callback) => ctx.processingTime.schedule(time, callback),
      fail: (error) => {
        this.failAsync(error);
      },
      setBackpressured: (backpressured) => {
        ctx.setBackpressured?.(backpressured);
      },
    };
    this.committer = this.sink.createCommitter?.(writerCtx);
    this.writer = this.sink.createWriter(
      writerCtx,
      states.map((s) => s.writer).filter((w) => w !== undefined),
    );
    // What the restored checkpoint prepared is committed first: that checkpoint completed.
    const restoredPending = states.flatMap((s) => s.pending).sort((a, b) => a.checkpointId - b.checkpointId);
    if (this.committer !== undefined && restoredPending.length > 0) {
      this.pending = restoredPending;
      for (const p of restoredPending) this.enqueueCommit(p);
    }
    // The writer starts once those commits are done: its recovery (deleting files begun after the
    // checkpoint, fencing an older attempt's transactions) must not undo what they commit.
    // Records wait until then.
    ctx.setBackpressured?.(true);
    this.chain
      .then(() => this.writer.start?.())
      .then(
        () => {
          if (!this.closed) ctx.setBackpressured?.(false);
        },
        (error: unknown) => {
          this.failAsync(error);
        },
      );
  }

  private failAsync(error: unknown): void {
    // One failure is reported: a failed commit also fails what was chained after it.
    if (this.closed || this.failed) return;
    this.failed = true;
    if (this.ctx.failTask) this.ctx.failTask(error);
    else throw error;
  }

  processElement(value: unknown, timestamp: number): void {
    this.records++;
    this.writer.write(value, timestamp);
  }

  processWatermark(watermark: number): void {
    this.writer.writeWatermark?.(watermark);
  }

  endInput(): void {
    this.writer.flush?.(true);
  }

  snapshotState(checkpointId: number): OperatorSnapshot {
    this.writer.flush?.(false);
    const committables = this.writer.prepareCommit?.(checkpointId) ?? [];
    if (this.committer !== undefined && committables.length > 0)
      this.pending.push({ checkpointId, committables });
    const state: ConnectorSinkState = {
      v: 1,
      subtask: this.ctx.subtaskIndex,
      runId: this.runId,
      pending: this.pending.map((p) => ({ checkpointId: p.checkpointId, committables: [...p.committables] })),
    };
    const writerState = this.writer.snapshotState?.(checkpointId);
    if (writerState !== undefined) state.writer = writerState;
    return { operator: state };
  }

  notifyCheckpointComplete(checkpointId: number): void {
    if (this.committer === undefined) return;
    for (const p of this.pending) {
      if (p.checkpointId > checkpointId) break;
      if (p.checkpointId > this.committing) this.enqueueCommit(p);
    }
  }

  /** Commits `p` after every commit started before it; it leaves the state once committed. */
  private enqueueCommit(p: PendingCommit): void {
    const committer = this.committer!;
    this.committing = Math.max(this.committing, p.checkpointId);
    this.inFlight++;
    this.chain = this.chain
      .then(() => committer.commit(p.checkpointId, p.committables))
      .then(
        () => {
          this.inFlight--;
          this.metrics.inc('committedCheckpoints', 1);
          const i = this.pending.indexOf(p);
          if (i >= 0) this.pending.splice(i, 1);
        },
        (error: unknown) => {
          this.inFlight--;
          this.failAsync(error);
          throw error;
        },
      );
  }

  pendingWork(): Promise<void> | undefined {
    if (this.inFlight > 0) return this.chain;
    if (!this.drained && this.writer.drain !== undefined) {
      this.drained = true;
      return this.writer.drain();
    }
    return undefined;
  }

  connectorMetrics(): Record<string, number> {
    return { ...this.metrics.values, recordsWritten: this.records };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const writer = this.writer;
    const committer = this.committer;
    // Clients disconnect in the background; a failure to close is not the job's failure.
    void Promise.resolve()
      .then(() => writer?.close())
      .catch(() => undefined);
    void this.chain
      .catch(() => undefined)
      .then(() => committer?.close?.())
      .catch(() => undefined);
  }
}
