import {
  ContinuousEventTimeTrigger,
  CountTrigger,
  PurgingTrigger,
  type TimeWindow,
  type Trigger,
} from '@freshet/api';
import type { WindowAssignerSpec } from '@freshet/graph';
import { describe, expect, it } from 'vitest';
import { keyGroupOf, subtaskForKey } from '../keygroups.js';
import { MAX_WATERMARK } from '../operator.js';
import { decodeKeyGroup } from '../state/disk-store.js';
import type { InternalTimerService } from '../timers/timer-service.js';
import { OperatorHarness, testNode, type HarnessOptions } from '../testing/harness.js';
import { createWindowAssigner } from './assigners.js';

type Ev = { k: string; v: number };
const ev = (k: string, v: number): Ev => ({ k, v });

const tumbling = (
  sizeMs: number,
  time: 'event' | 'processing' = 'event',
  offsetMs = 0,
): WindowAssignerSpec => ({
  type: 'tumbling',
  time,
  sizeMs,
  offsetMs,
});

const slidingEvent = (sizeMs: number, slideMs: number): WindowAssignerSpec => ({
  type: 'sliding',
  time: 'event',
  sizeMs,
  slideMs,
  offsetMs: 0,
});

interface WinOpts {
  assigner: WindowAssignerSpec;
  function?: 'reduce' | 'aggregate' | 'process';
  withProcess?: boolean;
  allowedLatenessMs?: number;
  lateTag?: string;
  trigger?: Trigger<unknown>;
  keyed?: boolean;
  fns?: Record<string, unknown>;
}

const sumReduce = (a: Ev, b: Ev): Ev => ({ k: a.k, v: a.v + b.v });

function windowNode(o: WinOpts) {
  const keyed = o.keyed ?? true;
  return testNode({
    kind: 'window',
    name: 'win',
    keyed,
    spec: {
      window: {
        assigner: o.assigner,
        keyed,
        function: o.function ?? 'reduce',
        withProcess: o.withProcess ?? false,
        allowedLatenessMs: o.allowedLatenessMs ?? 0,
        ...(o.lateTag ? { lateTag: o.lateTag } : {}),
        customTrigger: o.trigger !== undefined,
      },
    },
    fns: {
      ...(keyed ? { key: (e: never) => (e as Ev).k } : {}),
      reduce: sumReduce,
      ...(o.trigger ? { trigger: o.trigger } : {}),
      ...o.fns,
    },
  });
}

function harness(o: WinOpts, options?: HarnessOptions) {
  return OperatorHarness.of(windowNode(o), options).open();
}

describe('window assigners', () => {
  const starts = (spec: WindowAssignerSpec, ts: number) => {
    const a = createWindowAssigner(spec, 'w');
    const out: number[] = [];
    const n = a.assign(ts, out);
    return out.slice(0, n).map((s) => [s, a.endOf(s)]);
  };
  it('tumbling windows are epoch-aligned and half-open, with offset and negative timestamps', () => {
    expect(starts(tumbling(10), 0)).toEqual([[0, 10]]);
    expect(starts(tumbling(10), 9)).toEqual([[0, 10]]);
    expect(starts(tumbling(10), 10)).toEqual([[10, 20]]);
    expect(starts(tumbling(10, 'event', 3), 12)).toEqual([[3, 13]]);
    expect(starts(tumbling(10, 'event', 3), 13)).toEqual([[13, 23]]);
    expect(starts(tumbling(10), -1)).toEqual([[-10, 0]]);
  });
  it('sliding windows assign size/slide windows', () => {
    expect(starts({ type: 'sliding', time: 'event', sizeMs: 10, slideMs: 5, offsetMs: 0 }, 7)).toEqual([
      [5, 15],
      [0, 10],
    ]);
    expect(starts({ type: 'sliding', time: 'event', sizeMs: 15, slideMs: 5, offsetMs: 0 }, 10)).toHaveLength(
      3,
    );
  });
  it('rejects bad sizes', () => {
    expect(() => createWindowAssigner(tumbling(0), 'w')).toThrow(/size must be > 0/);
  });
});

describe('event-time windows', () => {
  it('tumbling reduce fires per key when the watermark passes the end, with timestamp end - 1', () => {
    const h = harness({ assigner: tumbling(10) });
    h.processElements([
      [ev('a', 1), 1],
      [ev('b', 2), 2],
      [ev('a', 3), 9],
      [ev('a', 4), 10],
    ]);
    h.processWatermark(8);
    expect(h.values()).toEqual([]);
    h.processWatermark(9);
    expect(h.records()).toEqual([
      { value: ev('a', 4), timestamp: 9 },
      { value: ev('b', 2), timestamp: 9 },
    ]);
    expect(h.watermarks()).toEqual([8, 9]);
    h.clearOutput().processWatermark(MAX_WATERMARK);
    expect(h.records()).toEqual([{ value: ev('a', 4), timestamp: 19 }]);
  });

  it('sliding windows emit each element in size/slide windows', () => {
    const h = harness({ assigner: { type: 'sliding', time: 'event', sizeMs: 10, slideMs: 5, offsetMs: 0 } });
    h.processElements([
      [ev('a', 1), 1],
      [ev('a', 10), 7],
      [ev('a', 100), 12],
    ]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.records()).toEqual([
      { value: ev('a', 1), timestamp: 4 }, // [-5,5)
      { value: ev('a', 11), timestamp: 9 }, // [0,10)
      { value: ev('a', 110), timestamp: 14 }, // [5,15)
      { value: ev('a', 100), timestamp: 19 }, // [10,20)
    ]);
  });

  it('aligned windows fire each window once, its keys in first-arrival order, also for keys that come back', () => {
    const h = harness({ assigner: slidingEvent(10, 5) });
    h.processElements([
      [ev('b', 1), 6], // [0, 10) and [5, 15)
      [ev('a', 2), 3], // [-5, 5) and [0, 10)
      [ev('b', 4), 1],
    ]);
    h.processWatermark(9); // [-5, 5): a, then b; [0, 10): b first, then a
    expect(h.values<Ev>().map((e) => `${e.k}${e.v}`)).toEqual(['a2', 'b4', 'b5', 'a2']);
    expect((h.head as unknown as { numKeysWithWindows(): number }).numKeysWithWindows()).toBe(1);
    // 'a' has no window left and comes back after 'c' (reusing its entry); 'b' keeps [5, 15) open.
    h.clearOutput().processElements([
      [ev('c', 8), 16],
      [ev('a', 16), 12],
      [ev('b', 32), 14],
    ]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.records().map((r) => [`${(r.value as Ev).k}${(r.value as Ev).v}`, r.timestamp])).toEqual([
      ['b33', 14], // [5, 15): b's 1 and 32, then a
      ['a16', 14],
      ['c8', 19], // [10, 20): c, a, b
      ['a16', 19],
      ['b32', 19],
      ['c8', 24], // [15, 25)
    ]);
  });

  it('session windows merge per key and fire once the gap passed', () => {
    const h = harness({ assigner: { type: 'session', time: 'event', gapMs: 5 } });
    h.processElements([
      [ev('a', 1), 0],
      [ev('a', 2), 4], // merges: [0, 9)
      [ev('b', 10), 3],
      [ev('a', 4), 20], // new session [20, 25)
      [ev('a', 8), 12], // [12,17): separate
    ]);
    h.processWatermark(10);
    expect(h.records()).toEqual([
      { value: ev('b', 10), timestamp: 7 },
      { value: ev('a', 3), timestamp: 8 },
    ]);
    h.clearOutput();
    h.processElement(ev('a', 16), 17); // [17,22) bridges [12,17) and [20,25) -> [12,25)
    h.processWatermark(MAX_WATERMARK);
    expect(h.records()).toEqual([{ value: ev('a', 28), timestamp: 24 }]);
  });

  it('session windows with a process function see all merged elements', () => {
    const h = harness({
      assigner: { type: 'session', time: 'event', gapMs: 10 },
      function: 'process',
      fns: {
        windowProcess: {
          process(
            key: string,
            ctx: { window(): TimeWindow },
            els: readonly Ev[],
            out: { collect(v: unknown): void },
          ) {
            out.collect(
              `${key} [${ctx.window().start},${ctx.window().end}) ${els.map((e) => e.v).join(',')}`,
            );
          },
        },
      },
    });
    h.processElements([
      [ev('a', 1), 0], // [0,10)
      [ev('a', 3), 12], // [12,22)
      [ev('a', 9), 40], // [40,50): stays apart
      [ev('a', 2), 6], // [6,16) bridges the first two -> [0,22)
    ]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.values()).toEqual(['a [0,22) 1,3,2', 'a [40,50) 9']);
  });

  it('aggregate with a process window function', () => {
    const agg = {
      createAccumulator: () => ({ n: 0, sum: 0 }),
      add: (e: Ev, acc: { n: number; sum: number }) => ({ n: acc.n + 1, sum: acc.sum + e.v }),
      getResult: (acc: { n: number; sum: number }) => acc.sum / acc.n,
      merge: (a: { n: number; sum: number }, b: { n: number; sum: number }) => ({
        n: a.n + b.n,
        sum: a.sum + b.sum,
      }),
    };
    const h = harness({
      assigner: tumbling(10),
      function: 'aggregate',
      withProcess: true,
      fns: {
        aggregate: agg,
        windowProcess: {
          process(
            key: string,
            ctx: { window(): TimeWindow },
            els: readonly number[],
            out: { collect(v: unknown): void },
          ) {
            out.collect({ key, end: ctx.window().end, avg: els[0] });
          },
        },
      },
    });
    h.processElements([
      [ev('a', 2), 1],
      [ev('a', 4), 2],
      [ev('b', 7), 3],
    ]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.values()).toEqual([
      { key: 'a', end: 10, avg: 3 },
      { key: 'b', end: 10, avg: 7 },
    ]);
  });

  it('reduce with a process window function receives the single reduced value', () => {
    const h = harness({
      assigner: tumbling(10),
      withProcess: true,
      fns: {
        windowProcess: {
          process(key: string, _ctx: unknown, els: readonly Ev[], out: { collect(v: unknown): void }) {
            out.collect([key, els.length, els[0]!.v]);
          },
        },
      },
    });
    h.processElements([
      [ev('a', 2), 1],
      [ev('a', 4), 2],
    ]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.values()).toEqual([['a', 1, 6]]);
  });

  it('process window functions may emit side outputs', () => {
    const h = harness({
      assigner: tumbling(10),
      function: 'process',
      fns: {
        windowProcess: {
          process(_k: string, ctx: { output(tag: { id: string }, v: unknown): void }, els: readonly Ev[]) {
            ctx.output({ id: 'counts' }, els.length);
          },
        },
      },
    });
    h.processElements([
      [ev('a', 1), 1],
      [ev('a', 1), 2],
    ]);
    h.processWatermark(20);
    expect(h.output.side.get('counts')).toEqual([{ value: 2, timestamp: 9 }]);
  });

  it('late elements within allowed lateness re-fire the window; later ones go to the late side output', () => {
    const h = harness({ assigner: tumbling(10), allowedLatenessMs: 5, lateTag: 'late' });
    h.processElement(ev('a', 1), 3);
    h.processWatermark(10);
    expect(h.values()).toEqual([ev('a', 1)]);
    h.processElement(ev('a', 2), 5); // late but allowed: re-fires with all contents
    expect(h.values()).toEqual([ev('a', 1), ev('a', 3)]);
    h.processWatermark(14); // cleanup at 9 + 5 = 14
    h.processElement(ev('a', 4), 6); // too late
    expect(h.values()).toEqual([ev('a', 1), ev('a', 3)]);
    expect(h.sideValues('late')).toEqual([ev('a', 4)]);
    expect(h.output.side.get('late')![0]!.timestamp).toBe(6);
  });

  it('drops too-late elements without a late tag and counts them', () => {
    const h = harness({ assigner: tumbling(10) });
    h.processWatermark(100);
    h.processElement(ev('a', 1), 5);
    h.processWatermark(MAX_WATERMARK);
    expect(h.values()).toEqual([]);
    expect((h.head as unknown as { numLateRecordsDropped: number }).numLateRecordsDropped).toBe(1);
  });

  it('cleans window state up at maxTimestamp + allowedLateness', () => {
    const h = harness({ assigner: tumbling(10), allowedLatenessMs: 20 });
    h.processElement(ev('a', 1), 3);
    h.processWatermark(9);
    const op = h.head as unknown as { numKeysWithWindows(): number };
    expect(op.numKeysWithWindows()).toBe(1);
    h.processWatermark(28);
    expect(op.numKeysWithWindows()).toBe(1);
    h.processWatermark(29);
    expect(op.numKeysWithWindows()).toBe(0);
    expect(h.snapshot().keyed).toEqual({});
  });

  it('keeps one firing per key and window (window by window without lateness, else the end-of-window and cleanup timers)', () => {
    const sliding = slidingEvent(10, 2);
    const timers = (h: ReturnType<typeof harness>) =>
      (h.head as unknown as { timers: InternalTimerService }).timers;
    const pending = (h: ReturnType<typeof harness>) =>
      (h.head as unknown as { numPendingAlignedWindows(): number }).numPendingAlignedWindows();
    const h = harness({ assigner: sliding });
    for (let i = 0; i < 3; i++)
      h.processElements([
        [ev('a', 1), 5],
        [ev('b', 1), 5],
      ]);
    // Aligned windows without lateness fire window by window: no per-key timer at all.
    expect(timers(h).numEventTimeTimers()).toBe(0);
    expect(pending(h)).toBe(2 * 5);
    h.processElement(ev('a', 1), 6); // in four open windows and a new one, [6, 16)
    expect(pending(h)).toBe(2 * 5 + 1);
    h.processWatermark(MAX_WATERMARK);
    expect(
      h
        .values<Ev>()
        .filter((e) => e.k === 'a')
        .map((e) => e.v),
    ).toEqual([3, 4, 4, 4, 4, 1]);
    expect(pending(h)).toBe(0);
    const late = harness({ assigner: sliding, allowedLatenessMs: 3 });
    for (let i = 0; i < 3; i++) late.processElement(ev('a', 1), 5);
    expect(timers(late).numEventTimeTimers()).toBe(2 * 5); // end of window and cleanup
    late.processWatermark(9); // fires [-4, 6), [-2, 8) and [0, 10)
    // Late: [-4, 6) is cleaned up (at 8), [-2, 8) and [0, 10) re-fire at once, the others wait.
    late.processElement(ev('a', 1), 5);
    expect(late.values<Ev>().map((e) => e.v)).toEqual([3, 3, 3, 4, 4]);
    expect(timers(late).numEventTimeTimers()).toBe(2 * 2 + 2); // [2, 12), [4, 14); cleanup of [-2, 8), [0, 10)
  });

  it('the default trigger fires restored sliding windows that receive more elements', () => {
    const sliding = slidingEvent(10, 5);
    const opts = (p: number, i: number): HarnessOptions => ({
      parallelism: p,
      subtaskIndex: i,
      maxParallelism: 16,
    });
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const one = harness({ assigner: sliding }, opts(1, 0));
    for (const k of keys) one.processElement(ev(k, 1), 7);
    const snap = one.snapshot();
    const restored = [0, 1].map((i) =>
      OperatorHarness.of(windowNode({ assigner: sliding }), opts(2, i)).open([snap]),
    );
    const out: Ev[] = [];
    for (const [i, h] of restored.entries()) {
      for (const k of keys) if (subtaskForKey(k, 16, 2) === i) h.processElement(ev(k, 10), 8);
      h.processWatermark(MAX_WATERMARK);
      out.push(...h.values<Ev>());
    }
    // Per key [0, 10) and [5, 15): the restored element plus the new one, on the subtask that owns the key.
    const byKey = (k: string) =>
      out
        .filter((e) => e.k === k)
        .map((e) => e.v)
        .sort((a, b) => a - b);
    for (const k of keys) expect(byKey(k)).toEqual([11, 11]);
  });

  it('refuses records without timestamps in event-time windows', () => {
    const h = harness({ assigner: tumbling(10) });
    expect(() => h.processElement(ev('a', 1))).toThrow(
      /event-time windows need one; call assignTimestampsAndWatermarks/,
    );
  });

  it('all-window (non-keyed) windows', () => {
    const h = harness({ assigner: tumbling(10), keyed: false });
    h.processElements([
      [ev('a', 1), 1],
      [ev('b', 2), 2],
      [ev('c', 4), 12],
    ]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.values()).toEqual([ev('a', 3), ev('c', 4)]);
  });

  it('all-window process functions get (ctx, elements, out)', () => {
    const h = harness({
      assigner: tumbling(10),
      keyed: false,
      function: 'process',
      fns: {
        windowProcess: {
          process(ctx: { window(): TimeWindow }, els: readonly Ev[], out: { collect(v: unknown): void }) {
            out.collect(`${ctx.window().start}:${els.length}`);
          },
        },
      },
    });
    h.processElements([
      [ev('a', 1), 1],
      [ev('b', 2), 2],
    ]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.values()).toEqual(['0:2']);
  });
});

describe('processing-time windows', () => {
  it('tumbling windows fire when the clock passes the end', () => {
    const h = harness({ assigner: tumbling(100, 'processing') }, { startTime: 1000 });
    h.processElement(ev('a', 1)).processElement(ev('a', 2));
    h.setProcessingTime(1050);
    h.processElement(ev('b', 5));
    h.setProcessingTime(1098);
    expect(h.values()).toEqual([]);
    h.setProcessingTime(1099);
    expect(h.records()).toEqual([
      { value: ev('a', 3), timestamp: 1099 },
      { value: ev('b', 5), timestamp: 1099 },
    ]);
    h.processElement(ev('a', 7));
    h.setProcessingTime(1300);
    expect(h.values()).toEqual([ev('a', 3), ev('b', 5), ev('a', 7)]);
  });

  it('fire at end of input', () => {
    const h = harness({ assigner: tumbling(100, 'processing') });
    h.processElement(ev('a', 1));
    h.endInput();
    expect(h.values()).toEqual([ev('a', 1)]);
  });

  it('session windows merge on processing time', () => {
    const h = harness({ assigner: { type: 'session', time: 'processing', gapMs: 10 } });
    h.processElement(ev('a', 1));
    h.setProcessingTime(5);
    h.processElement(ev('a', 2));
    h.setProcessingTime(13);
    expect(h.values()).toEqual([]);
    h.setProcessingTime(14);
    expect(h.records()).toEqual([{ value: ev('a', 3), timestamp: 14 }]);
  });
});

describe('triggers', () => {
  it('count trigger on a global window', () => {
    const h = harness({ assigner: { type: 'global' }, trigger: CountTrigger.of(2) });
    for (let i = 1; i <= 5; i++) h.processElement(ev('a', i), i);
    h.processWatermark(MAX_WATERMARK);
    // Without purging the window keeps accumulating: 1+2, then 1+2+3+4.
    expect(h.values()).toEqual([ev('a', 3), ev('a', 10)]);
  });

  it('global windows never fire without a custom trigger', () => {
    const h = harness({ assigner: { type: 'global' } });
    h.processElement(ev('a', 1), 1).processWatermark(MAX_WATERMARK).endInput();
    expect(h.values()).toEqual([]);
  });

  it('purging count trigger emits disjoint batches', () => {
    const h = harness({
      assigner: { type: 'global' },
      trigger: PurgingTrigger.of(CountTrigger.of(2)),
      function: 'process',
      fns: {
        windowProcess: {
          process: (_k: string, _c: unknown, els: readonly Ev[], out: { collect(v: unknown): void }) => {
            out.collect(els.map((e) => e.v));
          },
        },
      },
    });
    for (let i = 1; i <= 5; i++) h.processElement(ev('a', i), i);
    expect(h.values()).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('continuous event-time trigger emits early results and a final one', () => {
    const h = harness({ assigner: tumbling(100), trigger: ContinuousEventTimeTrigger.of(30) });
    h.processElement(ev('a', 1), 5);
    h.processElement(ev('a', 2), 10);
    h.processWatermark(30);
    expect(h.values()).toEqual([ev('a', 3)]);
    h.processElement(ev('a', 4), 40);
    h.processWatermark(60);
    expect(h.values()).toEqual([ev('a', 3), ev('a', 7)]);
    h.processWatermark(99); // the periodic firing at 90, then the window end at 99
    expect(h.values()).toEqual([ev('a', 3), ev('a', 7), ev('a', 7), ev('a', 7)]);
    h.processWatermark(MAX_WATERMARK); // clear() deleted the periodic timer at 120
    expect(h.values()).toHaveLength(4);
  });

  it('custom triggers with processing-time timers', () => {
    const every10: Trigger<unknown> = {
      onElement(_e, _t, _w, ctx) {
        const now = ctx.getCurrentProcessingTime();
        ctx.registerProcessingTimeTimer(now - (now % 10) + 10);
        return 'CONTINUE';
      },
      onEventTime: () => 'CONTINUE',
      onProcessingTime: () => 'FIRE_AND_PURGE',
      clear: () => undefined,
    };
    const h = harness({ assigner: { type: 'global' }, trigger: every10 });
    h.processElement(ev('a', 1)).processElement(ev('a', 2));
    h.setProcessingTime(10);
    h.processElement(ev('a', 5));
    h.setProcessingTime(20);
    expect(h.values()).toEqual([ev('a', 3), ev('a', 5)]);
  });

  it('rejects non-merging triggers on session windows', () => {
    expect(() =>
      harness({ assigner: { type: 'session', time: 'event', gapMs: 5 }, trigger: CountTrigger.of(2) }),
    ).toThrow(/does not support merging/);
  });

  it('user errors in triggers name the operator', () => {
    const bad: Trigger<unknown> = {
      onElement: () => {
        throw new Error('boom');
      },
      onEventTime: () => 'CONTINUE',
      onProcessingTime: () => 'CONTINUE',
      clear: () => undefined,
    };
    const h = harness({ assigner: { type: 'global' }, trigger: bad });
    expect(() => h.processElement(ev('a', 1), 1)).toThrow(
      /operator 'win' failed in trigger.onElement: Error: boom/,
    );
  });
});

describe('window state snapshots', () => {
  it('aligned windows keep the per-key snapshot layout, so checkpoints of earlier versions restore', () => {
    const sliding = slidingEvent(10, 5);
    const opts: HarnessOptions = { maxParallelism: 16 };
    // Per key, six slots per window: start, end, 1 (has contents), contents, trigger state, window state;
    // windows in the order the key's elements opened them (the element at 7 opens [5, 15) before [0, 10)).
    const layout = {
      [keyGroupOf('a', 16)]: {
        windows: [
          [
            'a',
            [
              5,
              15,
              1,
              { k: 'a', v: 3 },
              null,
              null,
              0,
              10,
              1,
              { k: 'a', v: 1 },
              null,
              null,
              10,
              20,
              1,
              ev('a', 2),
              null,
              null,
            ],
          ],
        ],
      },
    };
    const one = harness({ assigner: sliding }, opts);
    one.processElement(ev('a', 1), 7).processElement(ev('a', 2), 12);
    // Written as columns (KeyGroupColumns), read as the pairs of that layout.
    const written = one.snapshot().keyed ?? {};
    expect(Object.values(written).every((g) => !Array.isArray(Object.values(g as object)[0]))).toBe(true);
    expect(Object.fromEntries(Object.entries(written).map(([kg, g]) => [kg, decodeKeyGroup(g)]))).toEqual(
      layout,
    );
    // A snapshot in that layout (as the per-key window maps wrote it) fires each window once, at its end.
    const restored = OperatorHarness.of(windowNode({ assigner: sliding }), opts).open([{ keyed: layout }]);
    restored.processElement(ev('a', 4), 13);
    restored.processWatermark(MAX_WATERMARK);
    expect(restored.values<Ev>().map((e) => e.v)).toEqual([1, 7, 6]);
  });

  it('restores open windows and their timers, also at another parallelism', () => {
    const opts = (p: number, i: number): HarnessOptions => ({
      parallelism: p,
      subtaskIndex: i,
      maxParallelism: 16,
    });
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const one = harness({ assigner: tumbling(10), trigger: ContinuousEventTimeTrigger.of(4) }, opts(1, 0));
    for (const [i, k] of keys.entries()) one.processElement(ev(k, i + 1), 1);
    const snap = one.snapshot();
    const restored = [0, 1, 2].map((i) =>
      OperatorHarness.of(
        windowNode({ assigner: tumbling(10), trigger: ContinuousEventTimeTrigger.of(4) }),
        opts(3, i),
      ).open([snap]),
    );
    const out: unknown[] = [];
    for (const h of restored) {
      h.processWatermark(4); // the continuous trigger's timer at 4 survived the restore
      out.push(...h.values());
    }
    expect((out as Ev[]).map((e) => e.k).sort()).toEqual(keys);
    for (const h of restored) {
      h.clearOutput();
      h.processWatermark(MAX_WATERMARK);
    }
    // The periodic firing at 8 and the end of the window at 9, once per key.
    expect(
      restored
        .flatMap((h) => h.values<Ev>())
        .map((e) => e.v)
        .sort(),
    ).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8]);
    // Every key landed on exactly one of the three subtasks.
    expect(restored.map((h) => h.values().length / 2).reduce((a, b) => a + b)).toBe(8);
  });

  it('tumbling windows fire window by window in end order, keys in first-arrival order, and restore from their snapshot', () => {
    const run = (h: ReturnType<typeof harness>) => {
      h.processElements([
        [ev('c', 1), 12],
        [ev('a', 1), 3],
        [ev('b', 1), 4],
        [ev('a', 1), 14], // out of order across windows: [10, 20) saw c first, then a
        [ev('c', 1), 1],
        [ev('a', 1), 8],
      ]);
      return h;
    };
    const firings = (h: ReturnType<typeof harness>) =>
      h.output.records.map((r) => `${(r.value as Ev).k}${(r.value as Ev).v}@${r.timestamp}`);
    const h = run(harness({ assigner: tumbling(10) }));
    const pending = (x: ReturnType<typeof harness>) =>
      (x.head as unknown as { numPendingAlignedWindows(): number }).numPendingAlignedWindows();
    const keys = (x: ReturnType<typeof harness>) =>
      (x.head as unknown as { numKeysWithWindows(): number }).numKeysWithWindows();
    expect(pending(h)).toBe(5);
    expect(keys(h)).toBe(3);
    const snap = h.snapshot();
    h.processWatermark(MAX_WATERMARK);
    expect(firings(h)).toEqual(['a2@9', 'b1@9', 'c1@9', 'c1@19', 'a1@19']);
    expect(pending(h)).toBe(0);
    expect(keys(h)).toBe(0);
    // Restored (at another parallelism too) every (key, window) fires once with the same contents.
    const restored = [0, 1].map((i) =>
      OperatorHarness.of(windowNode({ assigner: tumbling(10) }), { parallelism: 2, subtaskIndex: i }).open([
        snap,
      ]),
    );
    for (const r of restored) r.processWatermark(MAX_WATERMARK);
    expect(restored.flatMap((r) => firings(r)).sort()).toEqual(['a1@19', 'a2@9', 'b1@9', 'c1@19', 'c1@9']);
  });

  it('leaves the cleanup timers of built-in triggers out of the snapshot and fires the restored windows at their end', () => {
    const one = harness({ assigner: tumbling(10) });
    one.processElement(ev('a', 1), 1).processElement(ev('b', 2), 12).processElement(ev('a', 3), 15);
    const snap = one.snapshot();
    const parts = Object.values(snap.keyed ?? {}).flatMap((group) => Object.keys(group as object));
    expect(new Set(parts)).toEqual(new Set(['windows']));
    const restored = OperatorHarness.of(windowNode({ assigner: tumbling(10) })).open([snap]);
    const pending = () =>
      (restored.head as unknown as { numPendingAlignedWindows(): number }).numPendingAlignedWindows();
    expect(pending()).toBe(3);
    restored.processWatermark(11); // [0, 10) of 'a' fires, [10, 20) of 'a' and 'b' wait
    expect(restored.values<Ev>().map((e) => `${e.k}${e.v}`)).toEqual(['a1']);
    expect(pending()).toBe(2);
    restored.clearOutput();
    restored.processWatermark(MAX_WATERMARK);
    expect(
      restored
        .values<Ev>()
        .map((e) => `${e.k}${e.v}`)
        .sort(),
    ).toEqual(['a3', 'b2']);
    // With allowed lateness (or a custom trigger) timers are state of their own and are snapshotted.
    const late = harness({ assigner: tumbling(10), allowedLatenessMs: 5 });
    late.processElement(ev('a', 1), 1);
    const lateParts = Object.values(late.snapshot().keyed ?? {}).flatMap((group) =>
      Object.keys(group as object),
    );
    expect(lateParts).toContain('timers:event');
  });
});
