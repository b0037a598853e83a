import { afterEach, describe, expect, it, vi } from 'vitest';
import { SlotTaps, type TappableTask } from '../taskexecutor/slot-taps.js';
import type { WorkerMessage } from '../taskexecutor/messages.js';
import type { ChannelEvent } from '../codec/events.js';
import { EdgeTap, previewRecord } from './edge-tap.js';
import { OutputChannel } from './output-channel.js';
import { RecordWriter } from './record-writer.js';

/** A writer of one FORWARD channel whose batches land in `sent`. */
function writer(sent: unknown[][]): RecordWriter {
  const channel = new OutputChannel(
    0,
    (e: ChannelEvent) => {
      if (e.kind === 'batch') sent.push(e.values);
      return 0;
    },
    1_000_000,
  );
  return new RecordWriter([channel], { partitioning: 'FORWARD' }, 4, () => undefined, 0);
}

/** A record whose every read is counted: proves whether anything looked at it. */
function watched(reads: { n: number }): object {
  return {
    get id() {
      reads.n++;
      return 7;
    },
  };
}

describe('previewRecord', () => {
  it('renders plain records as their JSON', () => {
    expect(previewRecord({ word: 'a', count: 2, tags: ['x'] })).toEqual({
      preview: '{"word":"a","count":2,"tags":["x"]}',
      truncated: false,
    });
    expect(previewRecord('text').preview).toBe('"text"');
    expect(previewRecord(undefined).preview).toBe('null');
  });

  it('shows what JSON cannot carry as words, and cuts cycles', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const p = JSON.parse(
      previewRecord({
        big: 12n,
        nan: NaN,
        inf: -Infinity,
        at: new Date(0),
        m: new Map([[1, 'x']]),
        s: new Set([2]),
        cyclic,
      }).preview,
    ) as Record<string, unknown>;
    expect(p).toEqual({
      big: '12n',
      nan: 'NaN',
      inf: '-Infinity',
      at: '1970-01-01T00:00:00.000Z',
      m: { '1': 'x' },
      s: [2],
      cyclic: { a: 1, self: '…' },
    });
  });

  it('bounds long strings, wide containers, depth and the whole size', () => {
    const long = previewRecord('x'.repeat(1000), { maxStringChars: 10 });
    expect(long).toEqual({ preview: `"${'x'.repeat(10)}…"`, truncated: true });
    const wide = JSON.parse(previewRecord([1, 2, 3, 4, 5], { maxEntries: 2 }).preview) as unknown[];
    expect(wide).toEqual([1, 2, '… 3 more']);
    const deep = JSON.parse(previewRecord({ a: { b: { c: 1 } } }, { maxDepth: 2 }).preview) as unknown;
    expect(deep).toEqual({ a: { b: '…' } });
    const huge = previewRecord(
      Array.from({ length: 20 }, () => 'y'.repeat(256)),
      { maxPreviewChars: 100 },
    );
    expect(huge.truncated).toBe(true);
    expect(huge.preview.length).toBe(100);
  });

  it('never throws: a failing getter shows as text', () => {
    const hostile = {
      get boom(): never {
        throw new Error('no reading me');
      },
    };
    expect(previewRecord(hostile)).toEqual({ preview: '"[unrenderable: no reading me]"', truncated: true });
  });
});

describe('EdgeTap', () => {
  it('takes at most its budget between drains and counts the rest', () => {
    const tap = new EdgeTap({ perInterval: 3 });
    for (let i = 0; i < 10; i++) tap.offer({ i }, i === 0 ? Number.NEGATIVE_INFINITY : 1000 + i);
    expect(tap.seen).toBe(10);
    expect(tap.skipped).toBe(7);
    expect(tap.drain()).toEqual([
      { timestamp: null, preview: '{"i":0}', truncated: false },
      { timestamp: 1001, preview: '{"i":1}', truncated: false },
      { timestamp: 1002, preview: '{"i":2}', truncated: false },
    ]);
    // The budget starts over with the next interval.
    for (let i = 10; i < 15; i++) tap.offer({ i }, 0);
    expect(tap.drain().map((s) => s.preview)).toEqual(['{"i":10}', '{"i":11}', '{"i":12}']);
    expect(tap.drain()).toEqual([]);
  });

  it('holds at most its capacity when the drains fall behind', () => {
    const tap = new EdgeTap({ perInterval: 10, capacity: 2 });
    for (let i = 0; i < 5; i++) tap.offer(i, 0);
    expect(tap.drain().map((s) => s.preview)).toEqual(['3', '4']);
  });
});

describe('RecordWriter with a tap', () => {
  it('does not look at records while no tap is set, and samples them while one is', () => {
    const sent: unknown[][] = [];
    const w = writer(sent);
    const reads = { n: 0 };
    for (let i = 0; i < 100; i++) w.emit(watched(reads), 0);
    expect(reads.n).toBe(0);
    const tap = new EdgeTap({ perInterval: 2 });
    w.tap = tap;
    for (let i = 0; i < 100; i++) w.emit(watched(reads), 0);
    // Two records were rendered (one read each); the other 98 were only counted.
    expect(reads.n).toBe(2);
    expect(tap.drain().map((s) => s.preview)).toEqual(['{"id":7}', '{"id":7}']);
    w.flush();
    // Every record still went out, tapped or not.
    expect(sent.flat()).toHaveLength(200);
  });
});

describe('SlotTaps', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function slot(): {
    tasks: TappableTask[];
    writers: RecordWriter[];
    posted: WorkerMessage[];
    taps: SlotTaps;
  } {
    const writers = [writer([]), writer([])];
    const tasks: TappableTask[] = writers.map((w, i) => ({
      vertex: { id: 'v1' },
      subtaskIndex: i,
      writerOf: (edgeId: string) => (edgeId === 'e1-2' ? w : undefined),
    }));
    const posted: WorkerMessage[] = [];
    const taps = new SlotTaps({ tasks: () => tasks, post: (m) => posted.push(m), intervalMs: 100 });
    return { tasks, writers, posted, taps };
  }

  it('samples every subtask writing into the edge at the rate asked, per subtask', () => {
    vi.useFakeTimers();
    const { writers, posted, taps } = slot();
    taps.tap('e1-2', 10_000, 20);
    taps.tap('e9-9', 10_000, 20);
    for (let i = 0; i < 50; i++) {
      writers[0]!.emit({ s: 0, i }, i);
      writers[1]!.emit({ s: 1, i }, i);
    }
    vi.advanceTimersByTime(100);
    // 20 per second, drained every 100 ms: 2 records per subtask and interval; an edge nobody writes gets nothing.
    expect(posted).toEqual([
      {
        type: 'tapSamples',
        edgeId: 'e1-2',
        samples: [
          { timestamp: 0, preview: '{"s":0,"i":0}', truncated: false, vertexId: 'v1', subtask: 0 },
          { timestamp: 1, preview: '{"s":0,"i":1}', truncated: false, vertexId: 'v1', subtask: 0 },
          { timestamp: 0, preview: '{"s":1,"i":0}', truncated: false, vertexId: 'v1', subtask: 1 },
          { timestamp: 1, preview: '{"s":1,"i":1}', truncated: false, vertexId: 'v1', subtask: 1 },
        ],
      },
    ]);
    taps.close();
  });

  it('takes the tap off when its time to live ran out without a renewal', () => {
    vi.useFakeTimers();
    const { writers, taps } = slot();
    taps.tap('e1-2', 250, 10);
    expect(writers.every((w) => w.tap !== null)).toBe(true);
    vi.advanceTimersByTime(200);
    // Renewed: lives on past its first expiry.
    taps.tap('e1-2', 250, 10);
    vi.advanceTimersByTime(200);
    expect(taps.active).toBe(1);
    expect(writers.every((w) => w.tap !== null)).toBe(true);
    vi.advanceTimersByTime(200);
    expect(taps.active).toBe(0);
    // Back to the null check only, and no timer left running.
    expect(writers.every((w) => w.tap === null)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('untap stops at once and posts what was sampled last', () => {
    vi.useFakeTimers();
    const { writers, posted, taps } = slot();
    taps.tap('e1-2', 10_000, 10);
    writers[0]!.emit('last', 5);
    taps.untap('e1-2');
    expect(writers.every((w) => w.tap === null)).toBe(true);
    expect(posted).toEqual([
      {
        type: 'tapSamples',
        edgeId: 'e1-2',
        samples: [{ timestamp: 5, preview: '"last"', truncated: false, vertexId: 'v1', subtask: 0 }],
      },
    ]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
