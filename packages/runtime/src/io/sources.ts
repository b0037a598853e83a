/**
 * The built-in sources, one per `SourceSpec` type. How each splits its work
 * across `p` subtasks:
 *
 * - `elements`, `sequence`: contiguous ranges (subtask `i` gets items
 *   `[i·n/p, (i+1)·n/p)`), so each subtask keeps the order of its share.
 * - `generator`, `nexmark`: index `k` goes to subtask `k mod p`.
 * - `textFile`: a shorthand for `@freshet/connectors`' `FileSource` over
 *   text lines (a large file is read in byte ranges; a line belongs to the
 *   range that holds its first byte).
 * - `connector`: a source of the split framework (`connector/source-operator.ts`).
 * - `socket`: not parallel; subtask 0 connects, the others end at once.
 *
 * Restored at another parallelism (a rescale), `elements`, `sequence` and
 * `generator` share out what every former subtask had left
 * (`redistributeRuns`); `nexmark` and `socket` start their share afresh.
 *
 * Rates (`ratePerSecond`) are for the whole source, split evenly.
 */
import { connect, type Socket } from 'node:net';
import type { SourceSpec, StreamNode } from '@freshet/graph';
import { NexmarkGenerator, eventTime, type NexmarkEvent } from '@freshet/nexmark';
import { NO_TIMESTAMP } from '../operator.js';
import { BaseSource, RateLimiter, contiguousShare, type IndexRun } from './source-base.js';
import { ConnectorSourceOperator } from './connector/source-operator.js';
import { loadedConnectors } from './connectors-module.js';

/** `fromElements` / `fromCollection`. */
export class ElementsSource extends BaseSource {
  private next = 0;
  private end = 0;
  constructor(
    node: StreamNode,
    private readonly elements: readonly unknown[],
  ) {
    super(node);
  }
  protected init(position: number | undefined): void {
    const share = contiguousShare(this.elements.length, this.ctx.subtaskIndex, this.ctx.parallelism);
    this.next = position ?? share.start;
    this.end = share.end;
  }
  protected position(): number {
    return this.next;
  }
  protected override naturalRun(subtask: number, parallelism: number, position: number): IndexRun {
    return { next: position, step: 1, end: contiguousShare(this.elements.length, subtask, parallelism).end };
  }
  emitNext(maxRecords: number): 'MORE' | 'END' {
    const el = this.elements;
    const out = this.output;
    if (this.runs !== undefined) {
      return emitRuns(this.runs, maxRecords, (i) => {
        out.collect(el[i], NO_TIMESTAMP);
      });
    }
    const stop = Math.min(this.end, this.next + maxRecords);
    for (let i = this.next; i < stop; i++) out.collect(el[i], NO_TIMESTAMP);
    this.next = stop;
    return stop >= this.end ? 'END' : 'MORE';
  }
}

/**
 * Emits up to `max` indexes of bounded step-1 `runs` in order (the runs of
 * an elements or sequence source restored at another parallelism), through
 * `emit`; consumed runs are removed. 'END' once none is left.
 */
function emitRuns(runs: IndexRun[], max: number, emit: (index: number) => void): 'MORE' | 'END' {
  let n = 0;
  while (n < max && runs.length > 0) {
    const r = runs[0]!;
    const end = r.end ?? Number.POSITIVE_INFINITY;
    const stop = Math.min(end, r.next + (max - n));
    for (let i = r.next; i < stop; i++) emit(i);
    n += stop - r.next;
    r.next = stop;
    if (r.next >= end) runs.shift();
  }
  return runs.length === 0 ? 'END' : 'MORE';
}

/** `fromSequence(from, to)`: the integers `from..to`, both included. */
export class SequenceSource extends BaseSource {
  private next = 0;
  private end = 0;
  constructor(
    node: StreamNode,
    private readonly spec: Extract<SourceSpec, { type: 'sequence' }>,
  ) {
    super(node);
  }
  protected init(position: number | undefined): void {
    const n = Math.max(0, this.spec.to - this.spec.from + 1);
    const share = contiguousShare(n, this.ctx.subtaskIndex, this.ctx.parallelism);
    this.next = position ?? share.start;
    this.end = share.end;
    if (this.spec.ratePerSecond)
      this.limiter = new RateLimiter(this.spec.ratePerSecond / this.ctx.parallelism);
  }
  protected position(): number {
    return this.next;
  }
  protected override naturalRun(subtask: number, parallelism: number, position: number): IndexRun {
    const n = Math.max(0, this.spec.to - this.spec.from + 1);
    return { next: position, step: 1, end: contiguousShare(n, subtask, parallelism).end };
  }
  emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END' {
    const from = this.spec.from;
    const out = this.output;
    if (this.runs !== undefined) {
      if (this.runs.length === 0) return 'END';
      const budget = this.budget(maxRecords);
      if (budget === 0) return 'IDLE';
      let emitted = 0;
      const state = emitRuns(this.runs, budget, (i) => {
        out.collect(from + i, NO_TIMESTAMP);
        emitted++;
      });
      this.limiter?.record(emitted);
      return state;
    }
    if (this.next >= this.end) return 'END';
    const budget = this.budget(maxRecords);
    if (budget === 0) return 'IDLE';
    const stop = Math.min(this.end, this.next + budget);
    for (let i = this.next; i < stop; i++) out.collect(from + i, NO_TIMESTAMP);
    this.limiter?.record(stop - this.next);
    this.next = stop;
    return stop >= this.end ? 'END' : 'MORE';
  }
}

/** `fromGenerator(fn, count?)`: `fn(k)` for every index `k` of this subtask's share; unbounded without `count`. */
export class GeneratorSource extends BaseSource {
  private next = 0;
  private count = Number.POSITIVE_INFINITY;
  private fn!: (index: number) => unknown;
  constructor(
    node: StreamNode,
    private readonly spec: Extract<SourceSpec, { type: 'generator' }>,
  ) {
    super(node);
  }
  protected init(position: number | undefined): void {
    const fn = this.node.fns.generator;
    if (typeof fn !== 'function')
      throw new Error(`generator source '${this.node.name}' has no element function`);
    this.fn = fn;
    this.next = position ?? this.ctx.subtaskIndex;
    this.count = this.spec.count ?? Number.POSITIVE_INFINITY;
    if (this.spec.ratePerSecond)
      this.limiter = new RateLimiter(this.spec.ratePerSecond / this.ctx.parallelism);
  }
  protected position(): number {
    return this.next;
  }
  protected override naturalRun(_subtask: number, parallelism: number, position: number): IndexRun {
    return { next: position, step: parallelism, end: this.spec.count ?? null };
  }
  /** `fn(k)` for the runs of a restore at another parallelism: the smallest pending index first. */
  private emitFromRuns(runs: IndexRun[], budget: number): 'MORE' | 'END' {
    const out = this.output;
    let n = 0;
    while (n < budget && runs.length > 0) {
      let at = 0;
      for (let j = 1; j < runs.length; j++) if (runs[j]!.next < runs[at]!.next) at = j;
      const r = runs[at]!;
      const k = r.next;
      let value: unknown;
      try {
        value = this.fn(k);
      } catch (error) {
        this.fail(error, 'generator');
      }
      out.collect(value, NO_TIMESTAMP);
      r.next = k + r.step;
      if (r.end !== null && r.next >= r.end) runs.splice(at, 1);
      n++;
    }
    this.limiter?.record(n);
    return runs.length === 0 ? 'END' : 'MORE';
  }
  emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END' {
    if (this.runs !== undefined) {
      if (this.runs.length === 0) return 'END';
      const budget = this.budget(maxRecords);
      return budget === 0 ? 'IDLE' : this.emitFromRuns(this.runs, budget);
    }
    if (this.next >= this.count) return 'END';
    const budget = this.budget(maxRecords);
    if (budget === 0) return 'IDLE';
    const p = this.ctx.parallelism;
    const out = this.output;
    const fn = this.fn;
    let k = this.next;
    let n = 0;
    while (n < budget && k < this.count) {
      let value: unknown;
      try {
        value = fn(k);
      } catch (error) {
        this.next = k;
        this.fail(error, 'generator');
      }
      out.collect(value, NO_TIMESTAMP);
      k += p;
      n++;
    }
    this.next = k;
    this.limiter?.record(n);
    return k >= this.count ? 'END' : 'MORE';
  }
}

/** The Nexmark generator; records carry their event time as timestamp. */
export class NexmarkSource extends BaseSource {
  private gen!: NexmarkGenerator;
  private readonly buffer: NexmarkEvent[] = [];
  constructor(
    node: StreamNode,
    private readonly spec: Extract<SourceSpec, { type: 'nexmark' }>,
  ) {
    super(node);
  }
  protected init(position: number | undefined): void {
    const opts: ConstructorParameters<typeof NexmarkGenerator>[0] = {
      ...this.spec.config,
      seed: this.spec.seed,
      subtaskIndex: this.ctx.subtaskIndex,
      parallelism: this.ctx.parallelism,
    };
    if (this.spec.events !== undefined) opts.events = this.spec.events;
    if (this.spec.ratePerSecond !== undefined) opts.ratePerSecond = this.spec.ratePerSecond;
    if (position !== undefined) opts.startIndex = position;
    this.gen = new NexmarkGenerator(opts);
  }
  protected position(): number {
    return this.gen.position;
  }
  override idleDelayMs(): number {
    return Math.max(1, Math.ceil(this.gen.delayMs()));
  }
  emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END' {
    const gen = this.gen;
    if (!gen.hasNext()) return 'END';
    if (this.spec.ratePerSecond !== undefined && this.spec.ratePerSecond > 0) {
      // Emit while events are due (the generator paces by its own clock).
      let n = 0;
      while (n < maxRecords && gen.hasNext() && gen.delayMs() === 0) {
        const ev = gen.next();
        this.output.collect(ev, eventTime(ev));
        n++;
      }
      if (!gen.hasNext()) return 'END';
      return n === 0 ? 'IDLE' : 'MORE';
    }
    const buf = this.buffer;
    const n = gen.nextBatch(buf, maxRecords);
    const out = this.output;
    for (let i = 0; i < n; i++) {
      const ev = buf[i]!;
      out.collect(ev, eventTime(ev));
    }
    buf.length = 0;
    return gen.hasNext() ? 'MORE' : 'END';
  }
}

/**
 * `socketTextStream(host, port, delimiter)`: lines from a TCP server. Only
 * subtask 0 connects. When the peer closes the connection the source ends
 * (bounded by the peer, like Flink's socket source without retries): the rest
 * of the buffer is emitted and the stream ends with the +Infinity watermark.
 * A connection that cannot be established is retried 5 times, 500 ms apart,
 * then the task fails.
 */
export class SocketSource extends BaseSource {
  private socket: Socket | undefined;
  private lines: string[] = [];
  private head = 0;
  private partial = '';
  private closed = false;
  private error: Error | undefined;
  private wakeUp: (() => void) | undefined;
  private retries = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private emittedLines = 0;
  constructor(
    node: StreamNode,
    private readonly spec: Extract<SourceSpec, { type: 'socket' }>,
  ) {
    super(node);
  }
  setWakeUp(wakeUp: () => void): void {
    this.wakeUp = wakeUp;
  }
  protected init(): void {
    if (this.ctx.subtaskIndex !== 0) {
      this.closed = true;
      return;
    }
    this.connect();
  }
  private connect(): void {
    const socket = connect({ host: this.spec.host, port: this.spec.port });
    this.socket = socket;
    socket.setEncoding('utf8');
    let connected = false;
    socket.on('connect', () => {
      connected = true;
    });
    socket.on('data', (chunk: string) => {
      const parts = (this.partial + chunk).split(this.spec.delimiter || '\n');
      this.partial = parts.pop() ?? '';
      for (const p of parts) this.lines.push(p);
      this.wakeUp?.();
    });
    socket.on('error', (err) => {
      if (!connected && this.retries < 5) {
        this.retries++;
        this.retryTimer = setTimeout(() => {
          this.connect();
        }, 500);
        return;
      }
      this.error = err;
      this.wakeUp?.();
    });
    socket.on('close', () => {
      if (!connected) return;
      if (this.partial.length > 0) this.lines.push(this.partial);
      this.partial = '';
      this.closed = true;
      this.wakeUp?.();
    });
  }
  protected position(): number {
    return this.emittedLines;
  }
  override idleDelayMs(): number {
    // Woken by the socket; poll rarely as a safety net.
    return 200;
  }
  emitNext(maxRecords: number): 'MORE' | 'IDLE' | 'END' {
    if (this.error)
      throw new Error(`socket source ${this.spec.host}:${this.spec.port}: ${this.error.message}`);
    let n = 0;
    while (n < maxRecords && this.head < this.lines.length) {
      this.output.collect(this.lines[this.head++], NO_TIMESTAMP);
      n++;
    }
    this.emittedLines += n;
    if (this.head >= this.lines.length) {
      this.lines = [];
      this.head = 0;
      return this.closed ? 'END' : n > 0 ? 'MORE' : 'IDLE';
    }
    return 'MORE';
  }
  override close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.socket?.destroy();
  }
}

/** Instantiates the source operator of a `source` StreamNode. */
export function createSourceOperator(node: StreamNode): BaseSource | ConnectorSourceOperator {
  const spec = node.spec.source;
  if (!spec) throw new Error(`source node '${node.name}' (id ${node.id}) has no source spec`);
  switch (spec.type) {
    case 'elements':
      return new ElementsSource(node, spec.elements);
    case 'sequence':
      return new SequenceSource(node, spec);
    case 'generator':
      return new GeneratorSource(node, spec);
    case 'textFile': {
      // A shorthand for FileSource over text lines (byte ranges, positions in checkpoints).
      const { FileSource, textLines } = loadedConnectors();
      const source = FileSource.forFormat(textLines(), spec.path).build();
      return new ConnectorSourceOperator({ ...node, fns: { ...node.fns, source } });
    }
    case 'socket':
      return new SocketSource(node, spec);
    case 'nexmark':
      return new NexmarkSource(node, spec);
    case 'connector':
      return new ConnectorSourceOperator(node);
  }
}
