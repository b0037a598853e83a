/**
 * The built-in sinks, one per `SinkSpec` type:
 *
 * - `print`: one line per record on stdout (stderr with `stderr`), strings as
 *   they are and other values as JSON; with parallelism > 1 each line starts
 *   with the 1-based subtask number and `> ` (Flink's format), preceded by
 *   `prefix:` when a prefix is set.
 * - `collect`: records go to the executor, which returns them under the id.
 * - `jsonLines`, `text`: shorthands for `@freshet/connectors`' exactly-once
 *   `FileSink` (parts roll at every checkpoint only; a run without restored
 *   state replaces the previous run's part files): a directory of committed
 *   `part-<subtask>-<counter>.jsonl` (`.txt`) files.
 * - `connector`: a sink of the writer/committer framework (`connector/sink-operator.ts`).
 * - `discard`: drops everything (benchmarks).
 *
 * `print` and `collect` are at-least-once: what they emitted before a
 * failure is not taken back, and the records replayed from the latest
 * checkpoint after a restart are emitted again.
 */
import type { StreamNode } from '@freshet/graph';
import { loadedConnectors } from './connectors-module.js';
import { ConnectorSinkOperator } from './connector/sink-operator.js';
import { toTextLine } from './format.js';
import type { OperatorContext, OperatorSnapshot, StreamOperator } from '../operator.js';

/** What sinks need from the host. */
export interface SinkContext {
  /** Ships collected records of collect sink `id` to the executor. */
  collect(id: string, values: unknown[]): void;
  /**
   * Collect sinks ship their records only once their input ended, and an
   * attempt that fails or is cancelled before that ships none: set for a
   * BATCH job that takes no checkpoint before its input ends, which re-runs
   * a failed region from scratch (the executor keeps every record it was
   * sent, so records shipped by an attempt that then failed would be there
   * twice after the re-run).
   */
  commitAtEnd?: boolean;
}

/** Base class of the built-in sinks. */
abstract class BaseSink implements StreamOperator {
  protected ctx!: OperatorContext;
  constructor(readonly node: StreamNode) {}
  open(ctx: OperatorContext): void {
    this.ctx = ctx;
    this.setup();
  }
  protected setup(): void {}
  abstract processElement(value: unknown, timestamp: number): void;
  processWatermark(): void {
    this.flush();
  }
  endInput(): void {
    this.flush();
  }
  snapshotState(): OperatorSnapshot {
    this.flush();
    return {};
  }
  /** Writes out what is buffered. */
  protected flush(): void {}
  close(): void {
    this.flush();
  }
}

/** Buffers lines and writes them in chunks; flushes soon after the first buffered line. */
class PrintSink extends BaseSink {
  private lines: string[] = [];
  private prefix = '';
  private cancelTimer: (() => void) | undefined;
  private readonly stderr: boolean;
  constructor(node: StreamNode) {
    super(node);
    this.stderr = node.spec.sink?.type === 'print' && node.spec.sink.stderr === true;
  }
  protected override setup(): void {
    const spec = this.node.spec.sink;
    const user = spec?.type === 'print' && spec.prefix ? `${spec.prefix}:` : '';
    this.prefix = this.ctx.parallelism > 1 ? `${user}${this.ctx.subtaskIndex + 1}> ` : user ? `${user} ` : '';
  }
  processElement(value: unknown): void {
    this.lines.push(this.prefix + toTextLine(value));
    if (this.lines.length >= 512) this.flush();
    else if (this.cancelTimer === undefined) {
      this.cancelTimer = this.ctx.processingTime.schedule(Date.now() + 20, () => {
        this.cancelTimer = undefined;
        this.flush();
      });
    }
  }
  protected override flush(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.join('\n') + '\n';
    this.lines = [];
    (this.stderr ? process.stderr : process.stdout).write(text);
  }
  override close(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    super.close();
  }
}

/**
 * Sends records to the executor in chunks: when 4096 are buffered, or soon
 * after the first one (so a slow unbounded job's records reach its live
 * output within a fraction of a second, not after thousands more). With
 * {@link SinkContext.commitAtEnd} it holds them until its input ended and
 * drops them when closed before that (the attempt failed or was cancelled).
 */
class CollectSink extends BaseSink {
  private buffer: unknown[] = [];
  private cancelTimer: (() => void) | undefined;
  private readonly atEnd: boolean;
  private ended = false;
  constructor(
    node: StreamNode,
    private readonly id: string,
    private readonly sink: SinkContext,
  ) {
    super(node);
    this.atEnd = sink.commitAtEnd === true;
  }
  processElement(value: unknown): void {
    this.buffer.push(value);
    if (this.atEnd) return;
    if (this.buffer.length >= 4096) this.flush();
    else if (this.cancelTimer === undefined) {
      this.cancelTimer = this.ctx.processingTime.schedule(this.ctx.processingTime.now() + 200, () => {
        this.cancelTimer = undefined;
        this.flush();
      });
    }
  }
  override endInput(): void {
    this.ended = true;
    this.flush();
  }
  protected override flush(): void {
    if (this.buffer.length === 0 || (this.atEnd && !this.ended)) return;
    const values = this.buffer;
    this.buffer = [];
    this.sink.collect(this.id, values);
  }
  override close(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    super.close();
    // Closed before its input ended (commitAtEnd): the attempt's records are not the job's output.
    this.buffer = [];
  }
}

/** Drops records. */
class DiscardSink extends BaseSink {
  /** Records dropped, reported as `recordsWritten` so a benchmark can check its output count. */
  private records = 0;
  processElement(): void {
    this.records++;
  }
  override processWatermark(): void {}
  connectorMetrics(): Record<string, number> {
    return { recordsWritten: this.records };
  }
}

/** Instantiates the sink operator of a `sink` StreamNode. */
export function createSinkOperator(node: StreamNode, sink: SinkContext): StreamOperator {
  const spec = node.spec.sink;
  if (!spec) throw new Error(`sink node '${node.name}' (id ${node.id}) has no sink spec`);
  switch (spec.type) {
    case 'print':
      return new PrintSink(node);
    case 'collect':
      return new CollectSink(node, spec.id, sink);
    case 'jsonLines':
    case 'text': {
      const { FileSink, RowEncoders } = loadedConnectors();
      const encoder = spec.type === 'jsonLines' ? RowEncoders.jsonLines() : RowEncoders.text();
      const fileSink = FileSink.forRowFormat(spec.path, encoder)
        .withRollingPolicy({
          maxPartSizeBytes: Infinity,
          rolloverIntervalMs: Infinity,
          inactivityIntervalMs: Infinity,
        })
        .overwrite()
        .build();
      return new ConnectorSinkOperator({ ...node, fns: { ...node.fns, sink: fileSink } });
    }
    case 'discard':
      return new DiscardSink(node);
    case 'connector':
      return new ConnectorSinkOperator(node);
  }
}
