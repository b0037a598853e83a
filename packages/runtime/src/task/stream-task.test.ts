/**
 * Tasks wired in one thread (every subtask in slot 0, channels in memory):
 * watermarks, idleness, end of input, barrier alignment and bounded memory
 * under backpressure, deterministic and fast.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StreamGraph, StreamNode } from '@freshet/graph';
import { DEFAULT_INITIAL_CREDITS, NetworkEnvironment } from '../network/environment.js';
import {
  MAX_WATERMARK,
  NO_TIMESTAMP,
  type OperatorContext,
  type OperatorSnapshot,
  type SourceOperator,
  type StreamOperator,
} from '../operator.js';
import { decodeSubtaskSnapshot } from '../checkpoint/snapshot-codec.js';
import { jobGraphOf, makeGraph, makeNode } from '../testing/fixture-graphs.js';
import { deploySlot, defaultOperatorFactory, type TaskRestore } from './deploy.js';
import type { StreamTask, TaskCheckpointing } from './stream-task.js';
import { WatermarkValve } from './watermark-valve.js';

type Step = { value: unknown } | { watermark: number } | { idle: boolean };

/** A source driven by the test: emits what is pushed, ends when closed. */
class ScriptedSource implements SourceOperator {
  readonly queue: Step[] = [];
  closed = false;
  private ctx!: OperatorContext;
  private wake: (() => void) | undefined;
  open(ctx: OperatorContext): void {
    this.ctx = ctx;
  }
  setWakeUp(wake: () => void): void {
    this.wake = wake;
  }
  push(...steps: Step[]): void {
    this.queue.push(...steps);
    this.wake?.();
  }
  end(): void {
    this.closed = true;
    this.wake?.();
  }
  idleDelayMs(): number {
    return 50;
  }
  emitNext(max: number): 'MORE' | 'IDLE' | 'END' {
    let n = 0;
    while (n < max && this.queue.length > 0) {
      const s = this.queue.shift()!;
      if ('value' in s) this.ctx.output.collect(s.value, NO_TIMESTAMP);
      else if ('watermark' in s) this.ctx.output.emitWatermark(s.watermark);
      else this.ctx.output.markIdle(s.idle);
      n++;
    }
    if (this.queue.length > 0) return 'MORE';
    return this.closed ? 'END' : 'IDLE';
  }
  processElement(): void {}
  processWatermark(w: number): void {
    this.ctx.output.emitWatermark(w);
  }
  endInput(): void {}
  snapshotState(): OperatorSnapshot {
    return {};
  }
  close(): void {}
}

/** Records what reaches it; optionally slow. */
class Recorder implements StreamOperator {
  readonly seen: string[] = [];
  readonly watermarks: number[] = [];
  /** `snapshot N`, `complete N`, `aborted N`, `closed`, in order. */
  readonly lifecycle: string[] = [];
  ended = false;
  constructor(private readonly slowUs = 0) {}
  open(): void {}
  processElement(value: unknown): void {
    if (this.slowUs > 0) {
      const until = performance.now() + this.slowUs / 1000;
      while (performance.now() < until) {
        // a slow consumer
      }
    }
    this.seen.push(String(value));
  }
  processElement2(value: unknown): void {
    this.seen.push(String(value));
  }
  processWatermark(w: number): void {
    this.watermarks.push(w);
  }
  endInput(): void {
    this.ended = true;
  }
  snapshotState(checkpointId: number): OperatorSnapshot {
    this.lifecycle.push(`snapshot ${checkpointId}`);
    return { operator: [...this.seen] };
  }
  notifyCheckpointComplete(checkpointId: number): void {
    this.lifecycle.push(`complete ${checkpointId}`);
  }
  notifyCheckpointAborted(checkpointId: number): void {
    this.lifecycle.push(`aborted ${checkpointId}`);
  }
  close(): void {
    this.lifecycle.push('closed');
  }
}

interface Harness {
  tasks: StreamTask[];
  sources: Map<string, ScriptedSource[]>;
  recorders: Recorder[];
  finished: StreamTask[];
  checkpoints: {
    vertex: string;
    id: number;
    snapshots: Map<number, OperatorSnapshot>;
    alignmentMs: number;
  }[];
  finals: { vertex: string; afterCheckpointId: number; snapshots: Map<number, OperatorSnapshot> }[];
  declines: { vertex: string; id: number; reason: string }[];
  network: NetworkEnvironment;
}

interface DeployOptions {
  slowUs?: number;
  scripted?: boolean;
  checkpointing?: TaskCheckpointing;
  restoreFor?: (vertexId: string, subtask: number) => TaskRestore | undefined;
}

let running: Harness | undefined;
afterEach(() => {
  for (const t of running?.tasks ?? []) t.cancel();
  running = undefined;
});

function deploy(graph: StreamGraph, opts: DeployOptions = {}): Harness {
  const jobGraph = jobGraphOf(graph);
  const network = new NetworkEnvironment({ slot: 0, connections: new Map() });
  const h: Harness = {
    tasks: [],
    sources: new Map(),
    recorders: [],
    finished: [],
    checkpoints: [],
    finals: [],
    declines: [],
    network,
  };
  h.tasks = deploySlot({
    ...(opts.checkpointing ? { checkpointing: opts.checkpointing } : {}),
    ...(opts.restoreFor ? { restoreFor: opts.restoreFor } : {}),
    jobGraph,
    streamGraph: graph,
    slot: 0,
    slotOf: () => 0,
    network,
    sink: { collect: () => undefined },
    createOperator: (node: StreamNode, sink) => {
      if (node.kind === 'source' && opts.scripted !== false) {
        const s = new ScriptedSource();
        h.sources.set(node.name, [...(h.sources.get(node.name) ?? []), s]);
        return s;
      }
      if (node.name.startsWith('rec')) {
        const r = new Recorder(opts.slowUs);
        h.recorders.push(r);
        return r;
      }
      return defaultOperatorFactory(node, sink);
    },
    hooks: {
      onFinished: (t) => h.finished.push(t),
      onFailed: (_t, e) => {
        throw new Error(e.message);
      },
      onCheckpoint: (t, c) => {
        h.checkpoints.push({
          vertex: t.vertex.name,
          id: c.checkpointId,
          snapshots: decodeSubtaskSnapshot(c.state),
          alignmentMs: c.alignmentMs,
        });
      },
      onFinalState: (t, f) => {
        h.finals.push({
          vertex: t.vertex.name,
          afterCheckpointId: f.afterCheckpointId,
          snapshots: decodeSubtaskSnapshot(f.state),
        });
      },
      onCheckpointDeclined: (t, id, reason) => {
        h.declines.push({ vertex: t.vertex.name, id, reason });
      },
    },
  });
  for (const t of h.tasks) t.start();
  running = h;
  return h;
}

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Waits until `done()` holds (a loaded machine delays the tasks' loops), at most 5 s. */
const settle = async (done: () => boolean): Promise<void> => {
  for (const end = Date.now() + 5000; !done() && Date.now() < end;) await tick();
};

describe('WatermarkValve', () => {
  it('forwards the minimum over active channels and skips idle ones', () => {
    const v = new WatermarkValve(2);
    expect(v.onWatermark(0, 10)).toBeUndefined();
    expect(v.onWatermark(1, 20)).toBe(10);
    expect(v.onWatermark(0, 30)).toBe(20);
    expect(v.onStatus(1, true)).toBe(30);
    expect(v.allIdle).toBe(false);
    expect(v.onStatus(0, true)).toBeUndefined();
    expect(v.allIdle).toBe(true);
    // A channel coming back behind the current watermark does not move it back.
    expect(v.onWatermark(1, 25)).toBeUndefined();
    expect(v.current).toBe(30);
    expect(v.onWatermark(1, 40)).toBe(40);
    expect(v.onEnd(1)).toBeUndefined();
    expect(v.onEnd(0)).toBe(MAX_WATERMARK);
  });
});

describe('StreamTask', () => {
  it('takes the watermark minimum across channels, ignores idle channels, ends input', async () => {
    const graph = makeGraph(
      [makeNode(1, 'source', 'src', { parallelism: 2 }), makeNode(2, 'map', 'rec', { parallelism: 1 })],
      [{ source: 1, target: 2, inputIndex: 0, partitioning: 'REBALANCE' }],
    );
    const h = deploy(graph);
    const [s0, s1] = h.sources.get('src')!;
    const rec = h.recorders[0]!;
    s0!.push({ value: 'a' }, { watermark: 10 });
    await tick(20);
    expect(rec.watermarks).toEqual([]);
    s1!.push({ watermark: 20 });
    await tick(20);
    expect(rec.watermarks).toEqual([10]);
    s0!.push({ watermark: 30 });
    await tick(20);
    expect(rec.watermarks).toEqual([10, 20]);
    s1!.push({ idle: true });
    await tick(20);
    expect(rec.watermarks).toEqual([10, 20, 30]);
    expect(rec.ended).toBe(false);
    s0!.end();
    await tick(20);
    expect(rec.ended).toBe(false);
    s1!.end();
    await tick(30);
    expect(rec.watermarks.at(-1)).toBe(MAX_WATERMARK);
    expect(rec.ended).toBe(true);
    expect(rec.seen).toEqual(['a']);
    expect(h.finished).toHaveLength(3);
  });

  it('sends a partly filled batch as soon as it runs out of input, not after the buffer timeout', async () => {
    const graph = makeGraph(
      [makeNode(1, 'source', 'src', { parallelism: 1 }), makeNode(2, 'map', 'rec', { parallelism: 2 })],
      [{ source: 1, target: 2, inputIndex: 0, partitioning: 'REBALANCE' }],
    );
    // A buffer timeout far beyond the test's wait: only going idle can send the records.
    graph.config.bufferTimeoutMs = 60_000;
    const h = deploy(graph);
    const [s] = h.sources.get('src')!;
    s!.push({ value: 'a' }, { value: 'b' }, { value: 'c' });
    const seen = () => h.recorders.flatMap((r) => r.seen).sort();
    await settle(() => seen().length === 3);
    expect(seen()).toEqual(['a', 'b', 'c']);
    // And again for the next record, a moment later.
    s!.push({ value: 'd' });
    await settle(() => seen().length === 4);
    expect(seen()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('aligns checkpoint barriers of two inputs', async () => {
    const graph = makeGraph(
      [
        makeNode(1, 'source', 'srcA'),
        makeNode(2, 'source', 'srcB'),
        makeNode(3, 'coMap', 'rec', { inputs: 2 }),
      ],
      [
        { source: 1, target: 3, inputIndex: 0 },
        { source: 2, target: 3, inputIndex: 1 },
      ],
    );
    const h = deploy(graph);
    const a = h.sources.get('srcA')![0]!;
    const b = h.sources.get('srcB')![0]!;
    const rec = h.recorders[0]!;
    const taskOf = (name: string): StreamTask => h.tasks.find((t) => t.vertex.name === name)!;
    a.push({ value: 'a1' }, { value: 'a2' });
    await tick(20);
    expect(taskOf('srcA').triggerCheckpoint(1, 0)).toBe(true);
    a.push({ value: 'a3' });
    b.push({ value: 'b1' });
    await settle(() => rec.seen.includes('b1'));
    await tick(30);
    // a3 waits behind the barrier of input 0; input 1 keeps flowing.
    expect(rec.seen).toEqual(['a1', 'a2', 'b1']);
    expect(h.checkpoints.filter((c) => c.vertex === 'rec')).toHaveLength(0);
    taskOf('srcB').triggerCheckpoint(1, 0);
    b.push({ value: 'b2' });
    await settle(() => rec.seen.length === 5 && h.checkpoints.length === 3);
    const snap = h.checkpoints.find((c) => c.vertex === 'rec')!;
    expect(snap.id).toBe(1);
    expect(snap.snapshots.get(3)!.operator).toEqual(['a1', 'a2', 'b1']);
    expect([...rec.seen].sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    expect(h.checkpoints.map((c) => c.vertex).sort()).toEqual(['rec', 'srcA', 'srcB']);
  });

  it('stops a fast producer with credit-based flow control (bounded memory, backpressure measured)', async () => {
    const graph = makeGraph(
      [
        makeNode(1, 'source', 'seq', {
          bounded: true,
          spec: { source: { type: 'sequence', from: 0, to: 5_000_000 } },
        }),
        makeNode(2, 'map', 'rec'),
      ],
      [{ source: 1, target: 2, inputIndex: 0, partitioning: 'REBALANCE' }],
    );
    const h = deploy(graph, { slowUs: 5, scripted: false });
    let maxQueued = 0;
    const inputs = (h.network as unknown as { inputs: Map<number, { size: number }> }).inputs;
    for (let i = 0; i < 30; i++) {
      await tick(10);
      for (const ch of inputs.values()) maxQueued = Math.max(maxQueued, ch.size);
    }
    const producer = h.tasks.find((t) => t.vertex.isSource)!;
    const m = producer.sampleMetrics();
    // At most the granted credits (batches) plus a control event wait at the consumer.
    expect(maxQueued).toBeLessThanOrEqual(DEFAULT_INITIAL_CREDITS + 1);
    expect(m.backpressuredMs).toBeGreaterThan(0);
    expect(m.recordsOut).toBeLessThan(5_000_000);
    expect(h.recorders[0]!.seen.length).toBeGreaterThan(0);
  });

  it('hands over a final state after its end of partition and finishes only when told, committing that checkpoint', async () => {
    const graph = makeGraph(
      [makeNode(1, 'source', 'src'), makeNode(2, 'map', 'rec', { chaining: 'HEAD' })],
      [{ source: 1, target: 2, inputIndex: 0 }],
    );
    const h = deploy(graph, { checkpointing: { finalCheckpoint: true } });
    const src = h.sources.get('src')![0]!;
    const rec = h.recorders[0]!;
    const taskOf = (name: string): StreamTask => h.tasks.find((t) => t.vertex.name === name)!;
    src.push({ value: 'a' });
    await tick(20);
    taskOf('src').triggerCheckpoint(3, 0);
    src.push({ value: 'b' });
    src.end();
    await tick(30);
    expect(rec.ended).toBe(true);
    expect(h.finals.map((f) => [f.vertex, f.afterCheckpointId])).toEqual([
      ['src', 3],
      ['rec', 3],
    ]);
    expect(h.finals[1]!.snapshots.get(2)!.operator).toEqual(['a', 'b']);
    // The final snapshot is taken for the next checkpoint, the first it belongs to.
    expect(rec.lifecycle).toEqual(['snapshot 3', 'snapshot 4']);
    expect(h.finished).toEqual([]);
    expect(taskOf('rec').isAwaitingFinish).toBe(true);
    taskOf('rec').notifyCheckpointComplete(3);
    taskOf('rec').finish(5);
    taskOf('src').finish(5);
    await tick(10);
    expect(rec.lifecycle).toEqual(['snapshot 3', 'snapshot 4', 'complete 3', 'complete 5', 'closed']);
    expect(h.finished.map((t) => t.state)).toEqual(['FINISHED', 'FINISHED']);
  });

  it('stops a source at a stop-with-savepoint barrier: nothing follows it', async () => {
    const graph = makeGraph(
      [makeNode(1, 'source', 'src'), makeNode(2, 'map', 'rec', { chaining: 'HEAD' })],
      [{ source: 1, target: 2, inputIndex: 0 }],
    );
    const h = deploy(graph, { checkpointing: { finalCheckpoint: true } });
    const src = h.sources.get('src')![0]!;
    const rec = h.recorders[0]!;
    const taskOf = (name: string): StreamTask => h.tasks.find((t) => t.vertex.name === name)!;
    src.push({ value: 'a' });
    await settle(() => rec.seen.length === 1);
    expect(taskOf('src').triggerCheckpoint(7, 0, true)).toBe(true);
    src.push({ value: 'b' });
    await settle(() => h.checkpoints.length === 2);
    await tick(30);
    expect(h.checkpoints.map((c) => [c.vertex, c.id])).toEqual([
      ['src', 7],
      ['rec', 7],
    ]);
    expect(rec.seen).toEqual(['a']);
    expect(rec.ended).toBe(false);
    // A stopped source takes no further checkpoint.
    expect(taskOf('src').triggerCheckpoint(8, 0)).toBe(false);
  });

  it('drains a source on request: the MAX watermark, the end of input and final states', async () => {
    const graph = makeGraph(
      [makeNode(1, 'source', 'src'), makeNode(2, 'map', 'rec', { chaining: 'HEAD' })],
      [{ source: 1, target: 2, inputIndex: 0 }],
    );
    const h = deploy(graph, { checkpointing: { finalCheckpoint: true } });
    const src = h.sources.get('src')![0]!;
    const rec = h.recorders[0]!;
    const taskOf = (name: string): StreamTask => h.tasks.find((t) => t.vertex.name === name)!;
    src.push({ value: 'a' });
    await settle(() => rec.seen.length === 1);
    expect(taskOf('rec').drain()).toBe(false);
    expect(taskOf('src').drain()).toBe(true);
    await settle(() => h.finals.length === 2);
    expect(rec.ended).toBe(true);
    expect(rec.watermarks.at(-1)).toBe(Number.POSITIVE_INFINITY);
    expect(h.finals.map((f) => f.vertex)).toEqual(['src', 'rec']);
    expect(taskOf('src').drain()).toBe(false);
  });

  it('without a coordinator, commits as if its final checkpoint completed at once and finishes', async () => {
    const graph = makeGraph(
      [makeNode(1, 'source', 'src'), makeNode(2, 'map', 'rec', { chaining: 'HEAD' })],
      [{ source: 1, target: 2, inputIndex: 0 }],
    );
    const h = deploy(graph);
    h.sources.get('src')![0]!.end();
    await tick(30);
    expect(h.finals).toEqual([]);
    expect(h.recorders[0]!.lifecycle).toEqual(['snapshot 1', 'complete 1', 'closed']);
    expect(h.finished).toHaveLength(2);
  });

  it('restored from its final state, emits nothing, ends its outputs and finishes at once', async () => {
    const graph = makeGraph(
      [makeNode(1, 'source', 'src'), makeNode(2, 'map', 'rec', { chaining: 'HEAD' })],
      [{ source: 1, target: 2, inputIndex: 0 }],
    );
    const h = deploy(graph, {
      checkpointing: { finalCheckpoint: true },
      restoreFor: (vertexId) =>
        vertexId === 'v1' ? { checkpointId: 7, snapshots: new Map(), final: true } : undefined,
    });
    await tick(30);
    const rec = h.recorders[0]!;
    expect(rec.seen).toEqual([]);
    expect(rec.ended).toBe(true);
    expect(h.finished.map((t) => t.vertex.name)).toEqual(['src']);
    // The consumer was restored without state: it hands over its final state as usual, after checkpoint 0.
    expect(h.finals.map((f) => [f.vertex, f.afterCheckpointId])).toEqual([['rec', 0]]);
  });

  it('declines a checkpoint whose alignment a newer barrier abandoned, and passes aborts to the operators', async () => {
    const graph = makeGraph(
      [
        makeNode(1, 'source', 'srcA'),
        makeNode(2, 'source', 'srcB'),
        makeNode(3, 'coMap', 'rec', { inputs: 2 }),
      ],
      [
        { source: 1, target: 3, inputIndex: 0 },
        { source: 2, target: 3, inputIndex: 1 },
      ],
    );
    const h = deploy(graph);
    const taskOf = (name: string): StreamTask => h.tasks.find((t) => t.vertex.name === name)!;
    taskOf('srcA').triggerCheckpoint(1, 0);
    await tick(20);
    taskOf('srcA').triggerCheckpoint(2, 0);
    await tick(20);
    // Input 0 is blocked behind barrier 1, so barrier 2 is not seen yet; barrier 2 on input 1 abandons checkpoint 1.
    taskOf('srcB').triggerCheckpoint(2, 0);
    await tick(30);
    expect(h.declines).toEqual([
      { vertex: 'rec', id: 1, reason: 'the barrier of checkpoint 2 arrived while aligning' },
    ]);
    expect(h.checkpoints.filter((c) => c.vertex === 'rec').map((c) => c.id)).toEqual([2]);
    expect(h.checkpoints.find((c) => c.vertex === 'rec')!.alignmentMs).toBeGreaterThan(0);
    taskOf('rec').notifyCheckpointAborted(9);
    expect(h.recorders[0]!.lifecycle.at(-1)).toBe('aborted 9');
  });
});
