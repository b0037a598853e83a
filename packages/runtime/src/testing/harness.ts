/**
 * A test harness for operators (Flink's OneInputStreamOperatorTestHarness in
 * spirit): drives one operator, or a small fused chain, with records,
 * watermarks, end of input and a manual processing-time clock; collects main
 * and side outputs, watermarks and idleness changes; snapshots and restores.
 */
import type { JobConfig, NodeKind, StreamNode } from '@freshet/graph';
import { keyGroupRange } from '../keygroups.js';
import {
  NO_TIMESTAMP,
  type OperatorContext,
  type OperatorSnapshot,
  type Output,
  type ProcessingTimeService,
  type StreamOperator,
} from '../operator.js';
import { SubtaskMetricRegistry } from '../metrics/user-metrics.js';
import { createOperator } from '../operators/create.js';

/** One emitted record. */
export interface Emitted {
  /** The record. */
  value: unknown;
  /** Its timestamp (NO_TIMESTAMP if none). */
  timestamp: number;
}

/** A processing-time service whose clock only moves when told to. */
export class ManualProcessingTimeService implements ProcessingTimeService {
  private time: number;
  private seq = 0;
  private readonly pending = new Map<number, { time: number; callback: (time: number) => void }>();
  constructor(startTime = 0) {
    this.time = startTime;
  }
  now(): number {
    return this.time;
  }
  schedule(time: number, callback: (time: number) => void): () => void {
    const id = this.seq++;
    this.pending.set(id, { time, callback });
    return () => {
      this.pending.delete(id);
    };
  }
  /** Number of scheduled callbacks. */
  numScheduled(): number {
    return this.pending.size;
  }
  /** Moves the clock to `time` and runs every callback due by then, in time order (also ones scheduled meanwhile). */
  advanceTo(time: number): void {
    if (time > this.time) this.time = time;
    for (;;) {
      let next: number | undefined;
      let nextTime = Number.POSITIVE_INFINITY;
      for (const [id, p] of this.pending) {
        if (
          p.time <= this.time &&
          (p.time < nextTime || (p.time === nextTime && next !== undefined && id < next))
        ) {
          next = id;
          nextTime = p.time;
        }
      }
      if (next === undefined) return;
      const p = this.pending.get(next)!;
      this.pending.delete(next);
      p.callback(p.time);
    }
  }
}

/** An {@link Output} that records everything. */
export class CollectingOutput implements Output {
  /** Main-output records, in order. */
  readonly records: Emitted[] = [];
  /** Side-output records per tag id. */
  readonly side = new Map<string, Emitted[]>();
  /** Watermarks, in order. */
  readonly watermarks: number[] = [];
  /** Idleness changes, in order. */
  readonly idleness: boolean[] = [];
  collect(value: unknown, timestamp: number): void {
    this.records.push({ value, timestamp });
  }
  collectSide(tagId: string, value: unknown, timestamp: number): void {
    let list = this.side.get(tagId);
    if (!list) this.side.set(tagId, (list = []));
    list.push({ value, timestamp });
  }
  emitWatermark(watermark: number): void {
    this.watermarks.push(watermark);
  }
  markIdle(idle: boolean): void {
    this.idleness.push(idle);
  }
  /** Forgets everything collected so far. */
  clear(): void {
    this.records.length = 0;
    this.side.clear();
    this.watermarks.length = 0;
    this.idleness.length = 0;
  }
}

/** Feeds one operator's output into the next operator of a chain (side outputs go to the chain's sink). */
export class ChainedOutput implements Output {
  constructor(
    private readonly next: StreamOperator,
    private readonly sink: Output,
  ) {}
  collect(value: unknown, timestamp: number): void {
    this.next.processElement(value, timestamp);
  }
  collectSide(tagId: string, value: unknown, timestamp: number): void {
    this.sink.collectSide(tagId, value, timestamp);
  }
  emitWatermark(watermark: number): void {
    this.next.processWatermark(watermark);
  }
  markIdle(idle: boolean): void {
    this.sink.markIdle(idle);
  }
}

/** Options of an {@link OperatorHarness}. */
export interface HarnessOptions {
  /** @default 1 */
  parallelism?: number;
  /** @default 0 */
  subtaskIndex?: number;
  /** @default 128 */
  maxParallelism?: number;
  /** @default 0 */
  attempt?: number;
  /** Overrides of the job configuration (e.g. `autoWatermarkIntervalMs`). */
  job?: Partial<JobConfig>;
  /** Initial processing time. @default 0 */
  startTime?: number;
  /** Directory of the operators' local files (the disk state backend's stores). @default os.tmpdir() */
  localStateDir?: string;
  /** A shared clock (e.g. to drive several harnesses together). */
  clock?: ManualProcessingTimeService;
  /** Job id the operators see. @default '' */
  jobId?: string;
  /** Task name the operators see. @default each operator's name */
  taskName?: string;
  /** User metrics and accumulators registry (as a task shares one across its chain). @default a fresh one */
  metrics?: SubtaskMetricRegistry;
}

/** Drives one operator or a chain of operators in tests. */
export class OperatorHarness {
  /** The operators, head first. */
  readonly operators: StreamOperator[];
  /** Everything the chain emitted. */
  readonly output = new CollectingOutput();
  /** The manual processing-time clock. */
  readonly clock: ManualProcessingTimeService;
  /** The chain's user metrics and accumulators. */
  readonly metrics: SubtaskMetricRegistry;
  /** User-function errors reported through `reportUserError`. */
  readonly reportedErrors: { error: unknown; where: string }[] = [];
  /** Errors of asynchronous work, reported through `failTask` (the task would fail). */
  readonly failures: unknown[] = [];
  /** Operators that currently hold back their input (`setBackpressured(true)`). */
  readonly heldBack = new Set<StreamOperator>();
  private readonly contexts: OperatorContext[];

  constructor(
    readonly nodes: readonly StreamNode[],
    readonly options: HarnessOptions = {},
    operators?: readonly StreamOperator[],
  ) {
    if (nodes.length === 0) throw new RangeError('OperatorHarness needs at least one node');
    this.operators = operators ? [...operators] : nodes.map((n) => createOperator(n));
    this.clock = options.clock ?? new ManualProcessingTimeService(options.startTime ?? 0);
    this.metrics = options.metrics ?? new SubtaskMetricRegistry({ now: () => this.clock.now() });
    const parallelism = options.parallelism ?? 1;
    const maxParallelism = options.maxParallelism ?? 128;
    const subtaskIndex = options.subtaskIndex ?? 0;
    const job: JobConfig = {
      name: 'test',
      parallelism,
      maxParallelism,
      runtimeMode: 'STREAMING',
      autoWatermarkIntervalMs: 200,
      bufferTimeoutMs: 10,
      ...options.job,
    };
    this.contexts = this.operators.map((_, i) => ({
      node: nodes[i]!,
      job,
      subtaskIndex,
      parallelism,
      maxParallelism,
      attempt: options.attempt ?? 0,
      jobId: options.jobId ?? '',
      ...(options.taskName === undefined ? {} : { taskName: options.taskName }),
      metrics: this.metrics,
      keyGroupRange: keyGroupRange(maxParallelism, parallelism, subtaskIndex),
      ...(options.localStateDir === undefined ? {} : { localStateDir: options.localStateDir }),
      output:
        i + 1 < this.operators.length ? new ChainedOutput(this.operators[i + 1]!, this.output) : this.output,
      processingTime: this.clock,
      reportUserError: (error: unknown, where: string): never => {
        this.reportedErrors.push({ error, where });
        throw error;
      },
      failTask: (error: unknown): void => {
        this.failures.push(error);
      },
      setBackpressured: (backpressured: boolean): void => {
        if (backpressured) this.heldBack.add(this.operators[i]!);
        else this.heldBack.delete(this.operators[i]!);
      },
    }));
  }

  /** A harness for one node. */
  static of(node: StreamNode, options?: HarnessOptions): OperatorHarness {
    return new OperatorHarness([node], options);
  }

  /** A harness for a fused chain of nodes (head first). */
  static chain(nodes: readonly StreamNode[], options?: HarnessOptions): OperatorHarness {
    return new OperatorHarness(nodes, options);
  }

  /** The head operator. */
  get head(): StreamOperator {
    return this.operators[0]!;
  }

  /**
   * Opens the operators, tail first (as a task does). `restored` gives each
   * operator's snapshots from one or several former subtasks: for a single
   * operator a list of snapshots, for a chain one list per operator.
   */
  open(restored?: readonly OperatorSnapshot[] | readonly (readonly OperatorSnapshot[])[]): this {
    const perOperator =
      this.operators.length === 1 && restored && !Array.isArray(restored[0])
        ? [restored as readonly OperatorSnapshot[]]
        : (restored as readonly (readonly OperatorSnapshot[])[] | undefined);
    for (let i = this.operators.length - 1; i >= 0; i--) {
      this.operators[i]!.open(this.contexts[i]!, perOperator?.[i]);
    }
    return this;
  }

  /** A record on input 0 of the head. */
  processElement(value: unknown, timestamp: number = NO_TIMESTAMP): this {
    this.head.processElement(value, timestamp);
    return this;
  }

  /** A record on input 1 of a two-input head. */
  processElement2(value: unknown, timestamp: number = NO_TIMESTAMP): this {
    const op = this.head;
    if (!op.processElement2) throw new TypeError(`Operator '${this.nodes[0]!.name}' has no second input`);
    op.processElement2(value, timestamp);
    return this;
  }

  /** Several records with timestamps: `[value, timestamp]` pairs. */
  processElements(records: readonly (readonly [unknown, number])[]): this {
    for (const [v, t] of records) this.head.processElement(v, t);
    return this;
  }

  /** A watermark on the head's combined input. */
  processWatermark(watermark: number): this {
    this.head.processWatermark(watermark);
    return this;
  }

  /** End of input: calls `endInput` on each operator, head first. */
  endInput(): this {
    for (const op of this.operators) op.endInput();
    return this;
  }

  /**
   * End of input as a task ends it: each operator, head first, first emits
   * the work it has in flight (`finishPending`, async I/O), then `endInput`.
   * Resolves when the whole chain ended.
   */
  async endInputWhenDrained(): Promise<void> {
    for (const op of this.operators) {
      await new Promise<void>((resolve) => {
        if (op.finishPending?.(resolve) !== true) resolve();
      });
      op.endInput();
    }
  }

  /** Sets the processing time and runs due timers/callbacks. */
  setProcessingTime(time: number): this {
    this.clock.advanceTo(time);
    return this;
  }

  /** Snapshot of the head operator. */
  snapshot(checkpointId = 1): OperatorSnapshot {
    return this.head.snapshotState(checkpointId);
  }

  /** Snapshots of every operator of the chain, head first. */
  snapshotAll(checkpointId = 1): OperatorSnapshot[] {
    return this.operators.map((op) => op.snapshotState(checkpointId));
  }

  /**
   * Waits for the operators' asynchronous work (commits, a writer's start):
   * until none holds back its input and none reports pending work, or one
   * reported a failure (see {@link failures}).
   */
  async settle(timeoutMs = 30_000): Promise<this> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
      // A failed task stops: what it held back stays held.
      if (this.failures.length > 0) return this;
      let busy = this.heldBack.size > 0;
      for (const op of this.operators) {
        const work = op.pendingWork?.();
        if (work !== undefined) {
          busy = true;
          await work.catch(() => undefined);
        }
      }
      if (!busy) return this;
    }
    throw new Error(
      `OperatorHarness.settle: the operators still held back their input after ${timeoutMs} ms`,
    );
  }

  /** Closes every operator, head first. */
  close(): void {
    for (const op of this.operators) op.close();
  }

  /** Values emitted on the main output. */
  values<T = unknown>(): T[] {
    return this.output.records.map((r) => r.value as T);
  }

  /** Records emitted on the main output. */
  records(): Emitted[] {
    return this.output.records.slice();
  }

  /** Values emitted on side output `tagId`. */
  sideValues<T = unknown>(tagId: string): T[] {
    return (this.output.side.get(tagId) ?? []).map((r) => r.value as T);
  }

  /** Watermarks emitted. */
  watermarks(): number[] {
    return this.output.watermarks.slice();
  }

  /** Forgets collected output. */
  clearOutput(): this {
    this.output.clear();
    return this;
  }
}

/** Fields of a test node (everything optional except `kind`). */
export type TestNodeInit = Partial<StreamNode> & { kind: NodeKind };

let nextTestNodeId = 1;

/** Builds a StreamNode by hand for tests (until the API's builder is used). */
export function testNode(init: TestNodeInit): StreamNode {
  const twoInput = [
    'coMap',
    'coFlatMap',
    'coProcess',
    'keyedCoProcess',
    'broadcastProcess',
    'keyedBroadcastProcess',
    'windowJoin',
    'intervalJoin',
  ].includes(init.kind);
  return {
    id: init.id ?? nextTestNodeId++,
    name: init.name ?? init.kind,
    chaining: 'ALWAYS',
    slotSharingGroup: 'default',
    inputs: twoInput ? 2 : init.kind === 'source' ? 0 : 1,
    keyed: false,
    spec: {},
    fns: {},
    ...init,
  };
}
