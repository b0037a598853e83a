import { describe, expect, it } from 'vitest';
import {
  Aggregations,
  CountTrigger,
  EventTimeSessionWindows,
  EventTimeTrigger,
  GlobalWindows,
  NeverTrigger,
  OutputTag,
  ProcessingTimeTrigger,
  PurgingTrigger,
  SlidingEventTimeWindows,
  StreamExecutionEnvironment,
  Time,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  type ProcessAllWindowFunction,
  type ProcessWindowFunction,
  type Trigger,
} from './index.js';
import { buildStreamGraph } from './internal.js';
import type { StreamGraph } from '@freshet/graph';

interface Click {
  user: string;
  ts: number;
}

const clicks = (env: StreamExecutionEnvironment) => env.fromElements<Click>({ user: 'u', ts: 1 });

describe('keyed windows', () => {
  it('reduce: a keyed window node over a HASH edge, with the default trigger', async () => {
    const key = (c: Click) => c.user;
    const reduce = (a: Click, b: Click) => (a.ts > b.ts ? a : b);
    const graph = await buildStreamGraph((env) => {
      clicks(env)
        .keyBy(key)
        .window(TumblingEventTimeWindows.of(Time.seconds(10)))
        .reduce(reduce)
        .print();
    });
    const node = graph.nodes[1]!;
    expect(node).toMatchObject({
      kind: 'window',
      name: 'Window(TumblingEventTimeWindows(10000), Reduce)',
      inputs: 1,
      keyed: true,
      spec: {
        window: {
          assigner: { type: 'tumbling', time: 'event', sizeMs: 10000, offsetMs: 0 },
          keyed: true,
          function: 'reduce',
          withProcess: false,
          allowedLatenessMs: 0,
          customTrigger: false,
        },
      },
    });
    expect(node.parallelism).toBeUndefined();
    expect(node.spec.window).not.toHaveProperty('lateTag');
    expect(node.fns).toEqual({ reduce, key, trigger: EventTimeTrigger.create() });
    expect(graph.edges[0]).toEqual({ source: 1, target: 2, inputIndex: 0, partitioning: 'HASH' });
  });

  it('reduce and aggregate with a process window function, and process alone', async () => {
    const pwf: ProcessWindowFunction<number, string, string> = {
      process: (key, _ctx, els, out) => {
        out.collect(`${key}:${els[0]}`);
      },
    };
    const agg = Aggregations.count<Click>();
    let graph: StreamGraph = await buildStreamGraph((env) => {
      const w = clicks(env)
        .keyBy((c) => c.user)
        .window(SlidingEventTimeWindows.of(10_000, 5_000));
      w.aggregate(agg, pwf).print();
      w.process<number>({
        process: (_k, _c, els, out) => {
          out.collect(els.length);
        },
      }).print();
      w.reduce((a) => a, {
        process: (_k: string, _c, els: readonly Click[], out) => {
          out.collect(els);
        },
      }).print();
    });
    expect(graph.nodes[1]).toMatchObject({
      name: 'Window(SlidingEventTimeWindows(10000, 5000), Aggregate, Process)',
      spec: { window: { function: 'aggregate', withProcess: true } },
    });
    expect(graph.nodes[1]!.fns.aggregate).toBe(agg);
    expect(graph.nodes[1]!.fns.windowProcess).toBe(pwf);
    expect(graph.nodes[3]).toMatchObject({
      name: 'Window(SlidingEventTimeWindows(10000, 5000), Process)',
      spec: { window: { function: 'process', withProcess: false } },
    });
    expect(graph.nodes[3]!.fns.windowProcess).toBeDefined();
    expect(graph.nodes[5]).toMatchObject({
      name: 'Window(SlidingEventTimeWindows(10000, 5000), Reduce, Process)',
      spec: { window: { function: 'reduce', withProcess: true } },
    });
    graph = await buildStreamGraph(
      (env) =>
        void clicks(env)
          .keyBy((c) => c.user)
          .window(TumblingProcessingTimeWindows.of(1000))
          .aggregate(agg)
          .print(),
    );
    expect(graph.nodes[1]!.fns.trigger).toBe(ProcessingTimeTrigger.create());
  });

  it('custom trigger, allowed lateness and late data side output', async () => {
    const late = new OutputTag<Click>('late');
    const trigger = PurgingTrigger.of(CountTrigger.of(3));
    const graph = await buildStreamGraph((env) => {
      const result = clicks(env)
        .keyBy((c) => c.user)
        .window(TumblingEventTimeWindows.of(1000))
        .trigger(trigger)
        .allowedLateness(500)
        .sideOutputLateData(late)
        .reduce((a) => a);
      result.print();
      result.getSideOutput(late).print();
    });
    expect(graph.nodes[1]).toMatchObject({
      name: 'Window(TumblingEventTimeWindows(1000), PurgingTrigger(CountTrigger(3)), Reduce)',
      spec: { window: { allowedLatenessMs: 500, lateTag: 'late', customTrigger: true } },
    });
    expect(graph.nodes[1]!.fns.trigger).toBe(trigger);
    expect(graph.edges.map((e) => [e.source, e.target, e.sideOutput])).toEqual([
      [1, 2, undefined],
      [2, 3, undefined],
      [2, 4, 'late'],
    ]);
  });

  it('window settings return new streams: the original is unchanged', async () => {
    const graph = await buildStreamGraph((env) => {
      const w = clicks(env)
        .keyBy((c) => c.user)
        .window(TumblingEventTimeWindows.of(1000));
      w.allowedLateness(100);
      w.reduce((a) => a).print();
    });
    expect(graph.nodes[1]!.spec.window!.allowedLatenessMs).toBe(0);
  });

  it('global windows default to the never-firing trigger', async () => {
    const graph = await buildStreamGraph((env) => {
      clicks(env)
        .keyBy((c) => c.user)
        .window(GlobalWindows.create())
        .reduce((a) => a)
        .print();
      clicks(env)
        .keyBy((c) => c.user)
        .window(GlobalWindows.create())
        .trigger(CountTrigger.of(2))
        .reduce((a) => a)
        .print();
    });
    expect(graph.nodes[1]!.name).toBe('Window(GlobalWindows, Reduce)');
    expect(graph.nodes[1]!.fns.trigger).toBe(NeverTrigger.create());
    expect(graph.nodes[4]!.name).toBe('Window(GlobalWindows, CountTrigger(2), Reduce)');
  });

  it('a custom trigger object without toString is named by its class, or Trigger', async () => {
    class MyTrigger implements Trigger<unknown> {
      onElement() {
        return 'FIRE' as const;
      }
      onEventTime() {
        return 'CONTINUE' as const;
      }
      onProcessingTime() {
        return 'CONTINUE' as const;
      }
      clear() {}
    }
    const graph = await buildStreamGraph((env) => {
      const w = clicks(env)
        .keyBy((c) => c.user)
        .window(TumblingEventTimeWindows.of(1000));
      w.trigger(new MyTrigger())
        .reduce((a) => a)
        .print();
      w.trigger({
        onElement: () => 'FIRE',
        onEventTime: () => 'CONTINUE',
        onProcessingTime: () => 'CONTINUE',
        clear: () => undefined,
      })
        .reduce((a) => a)
        .print();
    });
    expect(graph.nodes[1]!.name).toBe('Window(TumblingEventTimeWindows(1000), MyTrigger, Reduce)');
    expect(graph.nodes[3]!.name).toBe('Window(TumblingEventTimeWindows(1000), Trigger, Reduce)');
  });

  it('refuses settings that cannot work', () => {
    const env = new StreamExecutionEnvironment();
    const keyed = clicks(env).keyBy((c) => c.user);
    expect(() => keyed.window(TumblingProcessingTimeWindows.of(1000)).allowedLateness(10)).toThrow(
      'allowedLateness applies only to event-time windows (got TumblingProcessingTimeWindows(1000))',
    );
    expect(() => keyed.window(TumblingEventTimeWindows.of(1000)).allowedLateness(-1)).toThrow(
      'allowedLateness expects a non-negative integer (got -1)',
    );
    expect(() => keyed.window(EventTimeSessionWindows.withGap(1000)).trigger(CountTrigger.of(2))).toThrow(
      'trigger: CountTrigger(2) cannot be used with EventTimeSessionWindows(1000): session windows merge, and this trigger does not support merging',
    );
    expect(() =>
      keyed.window(EventTimeSessionWindows.withGap(1000)).trigger(EventTimeTrigger.create()),
    ).not.toThrow();
    expect(() => keyed.window({ type: 'tumbling' } as never)).toThrow(
      'window expects a window assigner such as TumblingEventTimeWindows.of(Time.seconds(10))',
    );
    expect(() => keyed.window(TumblingEventTimeWindows.of(1000)).trigger({} as never)).toThrow(
      'trigger expects a Trigger with onElement, onEventTime, onProcessingTime and clear',
    );
    expect(() => keyed.window(TumblingEventTimeWindows.of(1000)).process({} as never)).toThrow(
      "process expects a ProcessWindowFunction object with 'process'",
    );
  });

  it('a window on a non-keyed stream points to keyBy or windowAll', () => {
    const s = clicks(new StreamExecutionEnvironment());
    // @ts-expect-error -- window needs a keyed stream; the type says so
    expect(() => s.window(TumblingEventTimeWindows.of(1000))).toThrow(
      'window() needs a keyed stream: call keyBy(...) first, or use windowAll(...) for a window over the whole stream',
    );
  });
});

describe('all-windows', () => {
  it('windowAll: a non-keyed, non-parallel window node', async () => {
    const pawf: ProcessAllWindowFunction<Click, number> = {
      process: (_ctx, els, out) => {
        out.collect(els.length);
      },
    };
    const late = new OutputTag<Click>('late-all');
    const graph = await buildStreamGraph((env) => {
      env.setParallelism(4);
      const w = clicks(env).windowAll(TumblingEventTimeWindows.of(1000)).sideOutputLateData(late);
      w.process(pawf).print();
      w.aggregate(Aggregations.max((c: Click) => c.ts)).print();
    });
    expect(graph.nodes[1]).toMatchObject({
      kind: 'window',
      name: 'WindowAll(TumblingEventTimeWindows(1000), Process)',
      keyed: false,
      parallelism: 1,
      spec: { window: { keyed: false, function: 'process', lateTag: 'late-all' } },
    });
    expect(graph.nodes[1]!.fns.windowProcess).toBe(pawf);
    expect(graph.nodes[1]!.fns.key).toBeUndefined();
    expect(graph.edges[0]).toEqual({ source: 1, target: 2, inputIndex: 0 });
    expect(graph.nodes[3]).toMatchObject({ name: 'WindowAll(TumblingEventTimeWindows(1000), Aggregate)' });
  });

  it('an all-window cannot run in parallel', () => {
    const w = clicks(new StreamExecutionEnvironment())
      .windowAll(GlobalWindows.create())
      .trigger(CountTrigger.of(5))
      .reduce((a) => a);
    expect(() => w.setParallelism(2)).toThrow(
      "'WindowAll(GlobalWindows, CountTrigger(5), Reduce)' is not a parallel operator",
    );
  });
});
