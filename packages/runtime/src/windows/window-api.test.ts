// Count windows, evictors, windowed sum/min/max/minBy/maxBy, apply(WindowFunction) and the
// window function's windowState()/globalState(), on graphs built by the real API, compared
// with what Flink documents for each; and every one of them restored exactly from a checkpoint.
import {
  ContinuousEventTimeTrigger,
  CountEvictor,
  CountTrigger,
  DeltaEvictor,
  EventTimeSessionWindows,
  GlobalWindows,
  TimeEvictor,
  TumblingEventTimeWindows,
  ValueStateDescriptor,
  type Collector,
  type ProcessWindowContext,
  type ProcessWindowFunction,
  type StreamExecutionEnvironment,
  type TimeWindow,
} from '@freshet/api';
import { describe, expect, it } from 'vitest';
import { MAX_WATERMARK } from '../operator.js';
import { OperatorHarness } from '../testing/harness.js';
import { expectExactRestore, transforms, type Step } from '../testing/restore-check.js';

interface Ev {
  k: string;
  v: number;
  t: number;
}
const ev = (k: string, v: number, t = 0): Ev => ({ k, v, t });

async function run(
  build: (env: StreamExecutionEnvironment) => void,
  records: readonly Ev[],
  watermarks = true,
): Promise<OperatorHarness> {
  const h = OperatorHarness.chain(await transforms(build), { job: { autoWatermarkIntervalMs: 0 } }).open();
  for (const r of records) {
    h.processElement(r, r.t);
    if (watermarks) h.processWatermark(r.t - 1);
  }
  h.processWatermark(MAX_WATERMARK);
  h.endInput();
  return h;
}

const keyed = (env: StreamExecutionEnvironment) => env.fromCollection<Ev>([]).keyBy((e) => e.k);
const sumV = (a: Ev, b: Ev): Ev => ({ ...a, v: a.v + b.v });

describe('count windows (Flink: countWindow = GlobalWindows + count trigger [+ count evictor])', () => {
  it('countWindow(size) fires and purges every `size` elements of a key; a partial window never fires', async () => {
    const h = await run(
      (env) => keyed(env).countWindow(3).reduce(sumV).collect('o'),
      [
        ev('a', 1),
        ev('b', 10),
        ev('a', 2),
        ev('a', 3),
        ev('b', 20),
        ev('a', 4),
        ev('a', 5),
        ev('b', 30),
        ev('a', 6),
      ],
    );
    expect(h.values()).toEqual([ev('a', 6), ev('b', 60), ev('a', 15)]);
  });

  it('countWindow(size, slide) fires every `slide` elements over the last `size`', async () => {
    const h = await run(
      (env) =>
        keyed(env)
          .countWindow(4, 2)
          .process<string>({
            process: (key, _ctx, els, out) => {
              out.collect(`${key}:${els.map((e) => e.v).join(',')}`);
            },
          })
          .collect('o'),
      [1, 2, 3, 4, 5, 6, 7].map((v) => ev('a', v)),
    );
    expect(h.values()).toEqual(['a:1,2', 'a:1,2,3,4', 'a:3,4,5,6']);
  });

  it('countWindowAll(size) and countWindowAll(size, slide) count over the whole stream', async () => {
    const tumbling = await run(
      (env) => env.fromCollection<Ev>([]).countWindowAll(2).sum('v').collect('o'),
      [1, 2, 3, 4, 5].map((v) => ev('x', v)),
    );
    expect(tumbling.values()).toEqual([ev('x', 3), ev('x', 7)]);
    const sliding = await run(
      (env) =>
        env
          .fromCollection<Ev>([])
          .countWindowAll(3, 1)
          .max((e) => e.v)
          .collect('o'),
      [5, 1, 4, 2, 3].map((v) => ev('x', v)),
    );
    expect(sliding.values()).toEqual([5, 5, 5, 4, 4]);
  });

  it('refuses sizes that are not positive integers', async () => {
    await expect(transforms((env) => keyed(env).countWindow(0).reduce(sumV).collect('o'))).rejects.toThrow(
      /countWindow size expects a positive integer/,
    );
    await expect(
      transforms((env) => env.fromCollection<Ev>([]).countWindowAll(2, 1.5).sum('v').collect('o')),
    ).rejects.toThrow(/countWindowAll slide expects a positive integer/);
  });
});

describe('evictors (Flink: CountEvictor, TimeEvictor, DeltaEvictor)', () => {
  const values = (
    key: string,
    _ctx: ProcessWindowContext,
    els: readonly Ev[],
    out: Collector<string>,
  ): void => {
    out.collect(`${key}:${els.map((e) => e.v).join(',')}`);
  };

  it('CountEvictor keeps the most recent elements before the function; evicting after keeps them for the next firing', async () => {
    const before = await run(
      (env) =>
        keyed(env)
          .window(TumblingEventTimeWindows.of(100))
          .evictor(CountEvictor.of(2))
          .process({ process: values })
          .collect('o'),
      [ev('a', 1, 10), ev('a', 2, 20), ev('a', 3, 30), ev('a', 4, 110)],
    );
    expect(before.values()).toEqual(['a:2,3', 'a:4']);
    const after = await run(
      (env) =>
        keyed(env)
          .window(GlobalWindows.create())
          .trigger(CountTrigger.of(3))
          .evictor(CountEvictor.of(1, true))
          .process({ process: values })
          .collect('o'),
      [1, 2, 3, 4, 5, 6, 7].map((v) => ev('a', v)),
    );
    // Fires every 3 new elements; after each firing only the most recent element stays.
    expect(after.values()).toEqual(['a:1,2,3', 'a:3,4,5,6']);
  });

  it('TimeEvictor keeps the elements of the last `ms` before the largest timestamp', async () => {
    const h = await run(
      (env) =>
        keyed(env)
          .window(TumblingEventTimeWindows.of(1000))
          .evictor(TimeEvictor.of(300))
          .process({ process: values })
          .collect('o'),
      [ev('a', 1, 100), ev('a', 2, 450), ev('a', 3, 500), ev('a', 4, 799), ev('a', 5, 300)],
      false,
    );
    // Largest timestamp 799: keep timestamps > 499.
    expect(h.values()).toEqual(['a:3,4']);
  });

  it('DeltaEvictor drops elements at least `threshold` away from the last one', async () => {
    const h = await run(
      (env) =>
        keyed(env)
          .countWindow(5)
          .evictor(DeltaEvictor.of<Ev>(10, (a, b) => Math.abs(a.v - b.v)))
          .process({ process: values })
          .collect('o'),
      [1, 25, 18, 30, 22].map((v) => ev('a', v)),
    );
    expect(h.values()).toEqual(['a:25,18,30,22']);
  });

  it('reduce and aggregate run over what is left when the window fires', async () => {
    const h = await run(
      (env) =>
        keyed(env)
          .window(TumblingEventTimeWindows.of(100))
          .evictor(CountEvictor.of(2))
          .reduce(sumV)
          .collect('o'),
      [ev('a', 1, 1), ev('a', 2, 2), ev('a', 4, 3), ev('b', 7, 4)],
    );
    expect(h.records()).toEqual([
      { value: ev('a', 6, 2), timestamp: 99 },
      { value: ev('b', 7, 4), timestamp: 99 },
    ]);
  });

  it('appear in the operator name', async () => {
    const nodes = await transforms((env) => keyed(env).countWindow(10, 5).sum('v').collect('o'));
    expect(nodes[0]!.name).toBe('Window(GlobalWindows, CountTrigger(5), CountEvictor(10), Reduce)');
    expect(nodes[0]!.spec.window?.evictor).toBe(true);
  });
});

describe('aggregations and apply on windowed streams', () => {
  const data = [ev('a', 5, 1), ev('a', 3, 2), ev('b', 9, 3), ev('a', 8, 4), ev('b', 1, 5)];
  const tumbling = (env: StreamExecutionEnvironment) => keyed(env).window(TumblingEventTimeWindows.of(100));
  const cases: [string, (env: StreamExecutionEnvironment) => void, unknown[]][] = [
    ['sum(field)', (env) => tumbling(env).sum('v').collect('o'), [ev('a', 16, 1), ev('b', 10, 3)]],
    [
      'sum(selector)',
      (env) =>
        tumbling(env)
          .sum((e) => e.v * 2)
          .collect('o'),
      [
        { key: 'a', value: 32 },
        { key: 'b', value: 20 },
      ],
    ],
    ['min(field)', (env) => tumbling(env).min('v').collect('o'), [ev('a', 3, 1), ev('b', 1, 3)]],
    [
      'max(selector)',
      (env) =>
        tumbling(env)
          .max((e) => e.v)
          .collect('o'),
      [
        { key: 'a', value: 8 },
        { key: 'b', value: 9 },
      ],
    ],
    ['minBy', (env) => tumbling(env).minBy('v').collect('o'), [ev('a', 3, 2), ev('b', 1, 5)]],
    [
      'maxBy',
      (env) =>
        tumbling(env)
          .maxBy((e) => e.v)
          .collect('o'),
      [ev('a', 8, 4), ev('b', 9, 3)],
    ],
    [
      'apply(WindowFunction)',
      (env) =>
        tumbling(env)
          .apply<string>((key, window: TimeWindow, els, out) => {
            out.collect(`${key}@${window.start}-${window.end}:${els.length}`);
          })
          .collect('o'),
      ['a@0-100:3', 'b@0-100:2'],
    ],
    [
      'windowAll sum(selector)',
      (env) =>
        env
          .fromCollection<Ev>([])
          .windowAll(TumblingEventTimeWindows.of(100))
          .sum((e) => e.v)
          .collect('o'),
      [26],
    ],
    [
      'windowAll apply(AllWindowFunction)',
      (env) =>
        env
          .fromCollection<Ev>([])
          .windowAll(TumblingEventTimeWindows.of(100))
          .apply<number>({
            apply: (_w, els, out) => {
              out.collect(els.length);
            },
          })
          .collect('o'),
      [5],
    ],
  ];
  it.each(cases)('%s', async (_name, build, expected) => {
    expect((await run(build, data)).values()).toEqual(expected);
  });

  it("apply passes the rich function's lifecycle hooks on", async () => {
    const calls: string[] = [];
    const h = await run(
      (env) =>
        tumbling(env)
          .apply<string>({
            open: (ctx) => calls.push(`open ${ctx.operatorName}`),
            apply: (key, _w, els, out) => {
              out.collect(`${key}${els.length}`);
            },
            close: () => calls.push('close'),
          })
          .name('applied')
          .collect('o'),
      data,
    );
    h.close();
    expect(h.values()).toEqual(['a3', 'b2']);
    expect(calls).toEqual(['open applied', 'close']);
  });
});

describe('windowState() and globalState() in ProcessWindowFunction', () => {
  /** Counts firings per window (windowState) and per key over all windows (globalState). */
  const firings = (): ProcessWindowFunction<Ev, string, string> & { cleared: string[] } => {
    const perWindow = new ValueStateDescriptor<number>('firings', 0);
    const perKey = new ValueStateDescriptor<number>('all-firings', 0);
    const cleared: string[] = [];
    return {
      cleared,
      process(key, ctx, els, out) {
        const w = ctx.windowState().getState(perWindow);
        const g = ctx.globalState().getState(perKey);
        w.update((w.value() ?? 0) + 1);
        g.update((g.value() ?? 0) + 1);
        out.collect(`${key}@${ctx.window().start} n=${els.length} window#${w.value()} key#${g.value()}`);
      },
      clear(ctx) {
        cleared.push(`${ctx.window().start}:${ctx.windowState().getState(perWindow).value()}`);
      },
    };
  };

  it('window state is per key and window, kept over early firings, cleared with the window', async () => {
    const fn = firings();
    const h = await run(
      (env) =>
        keyed(env)
          .window(TumblingEventTimeWindows.of(100))
          .trigger(ContinuousEventTimeTrigger.of(40))
          .process(fn)
          .collect('o'),
      [ev('a', 1, 10), ev('a', 2, 50), ev('a', 3, 90), ev('b', 1, 95), ev('a', 4, 130)],
    );
    expect(h.values()).toEqual([
      'a@0 n=2 window#1 key#1',
      'a@0 n=3 window#2 key#2',
      'a@0 n=3 window#3 key#3',
      'b@0 n=1 window#1 key#1',
      'a@100 n=1 window#1 key#4',
      'a@100 n=1 window#2 key#5',
    ]);
    expect(fn.cleared.sort()).toEqual(['0:3', '0:1', '100:2'].sort());
  });

  it('is refused on merging (session) windows, as in Flink', async () => {
    await expect(
      run(
        (env) => keyed(env).window(EventTimeSessionWindows.withGap(10)).process(firings()).collect('o'),
        [ev('a', 1, 1)],
      ),
    ).rejects.toThrow(/windowState\(\) is not available on merging \(session\) windows/);
  });
});

describe('checkpoints restore count windows, evictors and window state exactly', () => {
  const r = (k: string, v: number, t = 0): Step => ({ r: ev(k, v, t), t });

  it('countWindow(size, slide): buffered elements and trigger counts', async () => {
    const out = await expectExactRestore(
      (env) =>
        keyed(env)
          .countWindow(3, 2)
          .process<string>({
            process: (key, _ctx, els, o) => {
              o.collect(`${key}:${els.map((e) => e.v).join(',')}`);
            },
          })
          .collect('o'),
      [
        r('a', 1),
        r('b', 1),
        r('a', 2),
        r('a', 3),
        r('b', 2),
        r('a', 4),
        r('a', 5),
        r('b', 3),
        r('b', 4),
        r('a', 6),
      ],
    );
    expect(out.length).toBeGreaterThanOrEqual(4);
  });

  it('TimeEvictor on event-time windows with reduce', async () => {
    const out = await expectExactRestore(
      (env) =>
        keyed(env)
          .window(TumblingEventTimeWindows.of(100))
          .evictor(TimeEvictor.of(30))
          .reduce(sumV)
          .collect('o'),
      [
        r('a', 1, 10),
        r('a', 2, 60),
        { w: 50 },
        r('b', 5, 70),
        r('a', 3, 80),
        { w: 120 },
        r('a', 4, 150),
        r('a', 5, 190),
      ],
    );
    expect(out).toHaveLength(3);
  });

  it('windowState across early firings', async () => {
    const perWindow = new ValueStateDescriptor<number>('firings', 0);
    const out = await expectExactRestore(
      (env) =>
        keyed(env)
          .window(TumblingEventTimeWindows.of(100))
          .trigger(ContinuousEventTimeTrigger.of(25))
          .process<string>({
            process(key, ctx, els, o) {
              const s = ctx.windowState().getState(perWindow);
              s.update((s.value() ?? 0) + 1);
              o.collect(`${key}@${ctx.window().start}:${els.length}#${s.value()}`);
            },
          })
          .collect('o'),
      [
        r('a', 1, 5),
        r('b', 1, 10),
        { w: 30 },
        r('a', 2, 40),
        { w: 60 },
        r('a', 3, 70),
        { w: 99 },
        r('a', 4, 120),
        { w: 160 },
      ],
    );
    expect(out.some((line) => line.includes('#3'))).toBe(true);
  });
});

describe('coGroup on windows (Flink: CoGroupedStreams)', () => {
  interface Click {
    user: string;
    page: string;
    t: number;
  }
  const build = (env: StreamExecutionEnvironment) =>
    env
      .fromCollection<Ev>([])
      .coGroup(env.fromCollection<Click>([]))
      .where((e) => e.k)
      .equalTo((c) => c.user)
      .window(TumblingEventTimeWindows.of(100))
      .apply<string>((first, second, out) => {
        const key = first[0]?.k ?? second[0]!.user;
        out.collect(`${key}: ${first.map((e) => e.v).join(',')} | ${second.map((c) => c.page).join(',')}`);
      })
      .collect('o');

  it('calls the function once per key and window with both sides, one of them possibly empty', async () => {
    const nodes = await transforms(build);
    expect(nodes[0]!.name).toBe('WindowCoGroup(TumblingEventTimeWindows(100))');
    const h = OperatorHarness.chain(nodes).open();
    h.processElement(ev('a', 1, 10), 10)
      .processElement2({ user: 'a', page: 'home', t: 20 }, 20)
      .processElement(ev('a', 2, 30), 30)
      .processElement2({ user: 'b', page: 'cart', t: 40 }, 40)
      .processElement(ev('c', 3, 50), 50)
      .processElement(ev('a', 4, 150), 150)
      .processWatermark(MAX_WATERMARK);
    expect(h.records()).toEqual([
      { value: 'a: 1,2 | home', timestamp: 99 },
      { value: 'b:  | cart', timestamp: 99 },
      { value: 'c: 3 | ', timestamp: 99 },
      { value: 'a: 4 | ', timestamp: 199 },
    ]);
  });

  it('is restored exactly from a checkpoint', async () => {
    const out = await expectExactRestore(build, [
      { r: ev('a', 1, 10), t: 10 },
      { r2: { user: 'a', page: 'home', t: 20 }, t: 20 },
      { w: 25 },
      { r2: { user: 'b', page: 'cart', t: 40 }, t: 40 },
      { r: ev('a', 2, 120), t: 120 },
      { w: 130 },
    ]);
    expect(out).toHaveLength(3);
  });
});
