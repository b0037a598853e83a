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
  constructor(private readonly op: StreamOperator) {}
  push(value: unknown, timestamp: number): void {
    this.op.processElement(value, timestamp);
  }
  watermark(watermark: number): void {
    this.op.processWatermark(watermark);
  }
}

/** Input 1 of a chained two-input operator. */
export class OperatorInput2 implements RecordTarget {
  constructor(private readonly op: StreamOperator) {}
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

/** The Output an operator of a chain writes to. */
export class ChainOutput implements Output {
  private readonly single: RecordTarget | undefined;
  /** Records emitted on the main output. */
  count = 0;

  constructor(
    private readonly main: readonly RecordTarget[],
    private readonly side: ReadonlyMap<string, readonly RecordTarget[]>,
    private readonly onIdle: (idle: boolean) => void,
    /** Watermark alignment watching this operator's watermarks (the aligned member of a source task). */
    private readonly alignment?: SourceAlignment,
  ) {
    this.single = main.length === 1 ? main[0] : undefined;
  }

  collect(value: unknown, timestamp: number): void {
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
