/**
 * Fusing a chain: each operator's {@link Output} calls the next operator(s)
 * directly, and the last one(s) write into record writers. An operator's side
 * outputs go to the edges (or chained operators) that carry that tag.
 */
import type { StreamOperator, Output } from '../operator.js';
import type { RecordWriter } from '../network/record-writer.js';
import type { SourceAlignment } from './source-alignment.js';

/** Something records flow into: a chained operator's input or a record writer. */
export interface RecordTarget {
  push(value: unknown, timestamp: number): void;
  watermark(watermark: number): void;
}

/** Input 0 of a chained operator. */
export class OperatorInput1 implements RecordTarget {
  constructor(readonly op: StreamOperator) {}
  push(value: unknown, timestamp: number): void {
    this.op.processElement(value, timestamp);
  }
  watermark(watermark: number): void {
    this.op.processWatermark(watermark);
  }
}

/** Input 1 of a chained two-input operator. */
export class OperatorInput2 implements RecordTarget {
  constructor(readonly op: StreamOperator) {}
  push(value: unknown, timestamp: number): void {
    this.op.processElement2!(value, timestamp);
  }
  watermark(watermark: number): void {
    this.op.processWatermark(watermark);
  }
}

/** A record writer as a chain target. */
export class WriterTarget implements RecordTarget {
  constructor(readonly writer: RecordWriter) {}
  push(value: unknown, timestamp: number): void {
    this.writer.emit(value, timestamp);
  }
  watermark(watermark: number): void {
    this.writer.broadcastEvent({ kind: 'watermark', watermark });
  }
}

type Collect = (value: unknown, timestamp: number) => void;

/**
 * Compiles `body` into a fresh function of `params` and calls it with `args`,
 * so that what it returns has type feedback of its own: a shared function (a
 * `collect`, the `push` behind it, a batch loop) sees every operator of the
 * thread at one call site, and V8 gives up on inlining there. Callers pass
 * constant source text only. Undefined where code generation from strings is
 * disallowed; the caller then keeps its shared path.
 */
function compiledPerInstance(params: readonly string[], body: string, args: readonly unknown[]): unknown {
  try {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- constant source text, compiled per instance for its own type feedback
    const make = new Function(...params, `'use strict'; ${body}`) as (...a: unknown[]) => unknown;
    return make(...args);
  } catch {
    return undefined;
  }
}

/** A `collect` of its own for one link of a chain (see {@link compiledPerInstance}). */
function linkCollect(
  out: ChainOutput,
  receiver: object,
  method: 'processElement' | 'processElement2' | 'emit',
): Collect | undefined {
  return compiledPerInstance(
    ['out', 'receiver'],
    `return function collect(value, timestamp) { out.count++; receiver.${method}(value, timestamp); };`,
    [out, receiver],
  ) as Collect | undefined;
}

/** Hands one batch of an input channel to the head operator of a task. */
export type BatchDelivery = (values: ArrayLike<unknown>, timestamps: ArrayLike<number>) => void;

/**
 * The loop that hands a batch to a task's head operator on input 0 or 1,
 * compiled per task (see {@link compiledPerInstance}).
 */
export function batchDelivery(op: StreamOperator, input: 0 | 1): BatchDelivery {
  const method = input === 0 ? 'processElement' : 'processElement2';
  const compiled = compiledPerInstance(
    ['op'],
    `return function deliver(values, timestamps) { for (let i = 0, n = values.length; i < n; i++) op.${method}(values[i], timestamps[i]); };`,
    [op],
  ) as BatchDelivery | undefined;
  if (compiled !== undefined) return compiled;
  if (input === 0) {
    return (values, timestamps) => {
      for (let i = 0; i < values.length; i++) op.processElement(values[i], timestamps[i]!);
    };
  }
  return (values, timestamps) => {
    for (let i = 0; i < values.length; i++) op.processElement2!(values[i], timestamps[i]!);
  };
}

/** The Output an operator of a chain writes to. */
export class ChainOutput implements Output {
  private readonly single: RecordTarget | undefined;
  /** Records emitted on the main output. */
  count = 0;
  /** Emits a record on the main output. */
  readonly collect: Collect;

  constructor(
    private readonly main: readonly RecordTarget[],
    private readonly side: ReadonlyMap<string, readonly RecordTarget[]>,
    private readonly onIdle: (idle: boolean) => void,
    /** Watermark alignment watching this operator's watermarks (the aligned member of a source task). */
    private readonly alignment?: SourceAlignment,
  ) {
    const single = main.length === 1 ? main[0] : undefined;
    this.single = single;
    let collect: Collect | undefined;
    if (single instanceof OperatorInput1) collect = linkCollect(this, single.op, 'processElement');
    else if (single instanceof OperatorInput2) collect = linkCollect(this, single.op, 'processElement2');
    else if (single instanceof WriterTarget) collect = linkCollect(this, single.writer, 'emit');
    this.collect =
      collect ??
      ((value, timestamp) => {
        this.collectShared(value, timestamp);
      });
  }

  private collectShared(value: unknown, timestamp: number): void {
    this.count++;
    const single = this.single;
    if (single !== undefined) {
      single.push(value, timestamp);
      return;
    }
    const main = this.main;
    for (let i = 0; i < main.length; i++) main[i]!.push(value, timestamp);
  }

  collectSide(tagId: string, value: unknown, timestamp: number): void {
    const targets = this.side.get(tagId);
    if (targets === undefined) return;
    for (let i = 0; i < targets.length; i++) targets[i]!.push(value, timestamp);
  }

  emitWatermark(watermark: number): void {
    this.alignment?.onWatermark(watermark);
    for (let i = 0; i < this.main.length; i++) this.main[i]!.watermark(watermark);
    for (const targets of this.side.values()) for (const t of targets) t.watermark(watermark);
  }

  markIdle(idle: boolean): void {
    this.alignment?.onIdle(idle);
    this.onIdle(idle);
  }
}
