/**
 * Micro benchmark of the fused operator hot path: map -> filter -> keyed
 * reduce (and a keyed tumbling window) over pre-built records, into a
 * counting output. Run from the repository root:
 *
 *   node --conditions=@freshet/source --import tsx bench/src/micro-bench.ts [records]
 */
import type { StreamNode } from '@freshet/graph';
import {
  ChainedOutput,
  createOperator,
  keyGroupRange,
  ManualProcessingTimeService,
  testNode,
  type OperatorContext,
  type Output,
  type StreamOperator,
} from '@freshet/runtime/testing';

/** Counts what reaches the end of the chain. */
class CountingOutput implements Output {
  count = 0;
  last: unknown;
  collect(value: unknown): void {
    this.count++;
    this.last = value;
  }
  collectSide(): void {
    // Not measured.
  }
  emitWatermark(): void {
    // Not measured.
  }
  markIdle(): void {
    // Not measured.
  }
}

type Rec = { k: number; v: number };

function openChain(nodes: StreamNode[], sink: Output): StreamOperator[] {
  const ops = nodes.map((n) => createOperator(n));
  const clock = new ManualProcessingTimeService(0);
  for (let i = ops.length - 1; i >= 0; i--) {
    const ctx: OperatorContext = {
      node: nodes[i]!,
      job: {
        name: 'bench',
        parallelism: 1,
        maxParallelism: 128,
        runtimeMode: 'STREAMING',
        autoWatermarkIntervalMs: 200,
        bufferTimeoutMs: 10,
      },
      subtaskIndex: 0,
      parallelism: 1,
      maxParallelism: 128,
      attempt: 0,
      keyGroupRange: keyGroupRange(128, 1, 0),
      output: i + 1 < ops.length ? new ChainedOutput(ops[i + 1]!, sink) : sink,
      processingTime: clock,
      reportUserError: (error: unknown): never => {
        throw error;
      },
    };
    ops[i]!.open(ctx);
  }
  return ops;
}

function run(
  name: string,
  nodes: StreamNode[],
  records: Rec[],
  rounds: number,
  withWatermarks: boolean,
): void {
  for (let r = 0; r < rounds; r++) {
    const sink = new CountingOutput();
    const ops = openChain(nodes, sink);
    const head = ops[0]!;
    const batch = 1024;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < records.length; i += batch) {
      const end = Math.min(i + batch, records.length);
      for (let j = i; j < end; j++) head.processElement(records[j], j);
      if (withWatermarks) head.processWatermark(end - 1);
    }
    head.processWatermark(Number.POSITIVE_INFINITY);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const rate = (records.length / ms) * 1000;
    console.log(
      `${name} round ${r + 1}: ${records.length} records in ${ms.toFixed(0)} ms = ${(rate / 1e6).toFixed(2)} M records/s (out ${sink.count})`,
    );
    for (const op of ops) op.close();
  }
}

const n = Number(process.argv[2] ?? 5_000_000);
const records: Rec[] = new Array<Rec>(n);
for (let i = 0; i < n; i++) records[i] = { k: i % 1000, v: i & 0xff };

const mapFilterReduce = (): StreamNode[] => [
  testNode({ kind: 'map', fns: { fn: (r: Rec) => ({ k: r.k, v: r.v * 2 }) } }),
  testNode({ kind: 'filter', fns: { fn: (r: Rec) => r.v % 3 !== 0 } }),
  testNode({
    kind: 'reduce',
    keyed: true,
    fns: { key: (r: never) => (r as Rec).k, reduce: (a: Rec, b: Rec) => ({ k: a.k, v: a.v + b.v }) },
  }),
];
const window = (): StreamNode[] => [
  testNode({
    kind: 'window',
    keyed: true,
    spec: {
      window: {
        assigner: { type: 'tumbling', time: 'event', sizeMs: 100_000, offsetMs: 0 },
        keyed: true,
        function: 'reduce',
        withProcess: false,
        allowedLatenessMs: 0,
        customTrigger: false,
      },
    },
    fns: { key: (r: never) => (r as Rec).k, reduce: (a: Rec, b: Rec) => ({ k: a.k, v: a.v + b.v }) },
  }),
];

run('map->filter->keyed reduce', mapFilterReduce(), records, 3, false);
run('keyed tumbling window reduce (watermark per 1024)', window(), records, 3, true);
