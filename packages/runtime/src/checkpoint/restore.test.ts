/**
 * Every kind of state survives a checkpoint, checked with
 * `expectExactRestore` (testing/restore-check.ts): for every cut point of a
 * script, a snapshot through the codec restored into fresh operators must
 * emit what one uninterrupted run emitted.
 */
import {
  AggregatingStateDescriptor,
  ContinuousEventTimeTrigger,
  CountTrigger,
  EventTimeSessionWindows,
  GlobalWindows,
  ListStateDescriptor,
  MapStateDescriptor,
  OutputTag,
  ProcessingTimeSessionWindows,
  PurgingTrigger,
  ReducingStateDescriptor,
  SlidingEventTimeWindows,
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  ValueStateDescriptor,
  WatermarkStrategy,
  type AggregateFunction,
  type RuntimeContext,
  type StreamExecutionEnvironment,
} from '@freshet/api';
import { describe, expect, it } from 'vitest';
import { OperatorHarness } from '../testing/harness.js';
import { checkpoint, expectExactRestore, transforms, type Step } from '../testing/restore-check.js';

interface Ev {
  k: string;
  v: number;
  t: number;
}

const ev = (k: string, v: number, t: number): Step => ({ r: { k, v, t } satisfies Ev, t });

describe('every kind of keyed state is restored exactly', () => {
  it('value, list, map, reducing and aggregating state, with TTL', async () => {
    const out = await expectExactRestore(
      (env) => {
        const count = new ValueStateDescriptor<number>('count', 0).enableTimeToLive({
          ttlMs: 100,
          updateType: 'OnReadAndWrite',
        });
        const seen = new ListStateDescriptor<number>('seen').enableTimeToLive({ ttlMs: 250 });
        const byMod = new MapStateDescriptor<number, number>('byMod').enableTimeToLive({ ttlMs: 150 });
        const sum = new ReducingStateDescriptor<number>('sum', (a, b) => a + b);
        const avg = new AggregatingStateDescriptor<number, { s: number; n: number }, number>('avg', {
          createAccumulator: () => ({ s: 0, n: 0 }),
          add: (v, a) => ({ s: a.s + v, n: a.n + 1 }),
          getResult: (a) => a.s / a.n,
          merge: (a, b) => ({ s: a.s + b.s, n: a.n + b.n }),
        }).enableTimeToLive({ ttlMs: 300 });
        let rc: RuntimeContext | undefined;
        env
          .fromCollection<Ev>([])
          .keyBy((e) => e.k)
          .process<string>({
            open(context) {
              rc = context;
            },
            processElement(e, _ctx, out) {
              const state = rc!.getState(count);
              state.update((state.value() ?? 0) + 1);
              rc!.getListState(seen).add(e.v);
              rc!.getMapState(byMod).put(e.v % 3, e.v);
              rc!.getReducingState(sum).add(e.v);
              rc!.getAggregatingState(avg).add(e.v);
              const view = [
                e.k,
                state.value(),
                rc!.getListState(seen).get(),
                [...rc!.getMapState(byMod).entries()],
                rc!.getReducingState(sum).get(),
                rc!.getAggregatingState(avg).get(),
              ];
              out.collect(JSON.stringify(view));
            },
          })
          .collect('out');
      },
      [
        ev('a', 1, 0),
        ev('b', 2, 0),
        { p: 50 },
        ev('a', 3, 0),
        { p: 120 },
        ev('a', 4, 0),
        ev('b', 5, 0),
        { p: 400 },
        ev('a', 6, 0),
        { p: 420 },
        ev('b', 7, 0),
        ev('a', 8, 0),
      ],
    );
    expect(out).toHaveLength(8);
  });

  it('event-time and processing-time timers', async () => {
    const out = await expectExactRestore(
      (env) => {
        env
          .fromCollection<Ev>([])
          .keyBy((e) => e.k)
          .process<string>({
            processElement(e, ctx, out) {
              ctx.timerService().registerEventTimeTimer(e.t + 10);
              ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 50);
              out.collect(`in ${e.k} ${e.v}`);
            },
            onTimer(time, ctx, out) {
              out.collect(`timer ${ctx.getCurrentKey()} ${time} ${ctx.timeDomain()}`);
            },
          })
          .collect('out');
      },
      [
        ev('a', 1, 5),
        ev('b', 2, 7),
        { w: 10 },
        { p: 30 },
        ev('a', 3, 20),
        { w: 16 },
        { p: 60 },
        ev('b', 4, 22),
        { p: 200 },
        { w: 40 },
      ],
    );
    expect(out.filter((o) => o.includes('timer'))).toHaveLength(8);
  });

  it('rolling keyed reduce and aggregate', async () => {
    const sum: AggregateFunction<Ev, number, number> = {
      createAccumulator: () => 0,
      add: (e, a) => a + e.v,
      getResult: (a) => a,
      merge: (a, b) => a + b,
    };
    const steps = [ev('a', 1, 0), ev('b', 2, 0), ev('a', 3, 0), ev('a', 4, 0), ev('b', 5, 0)];
    const reduced = await expectExactRestore((env) => {
      env
        .fromCollection<Ev>([])
        .keyBy((e) => e.k)
        .reduce((a, b) => ({ k: a.k, v: a.v + b.v, t: b.t }))
        .collect('reduced');
    }, steps);
    expect(reduced.at(-1)).toBe(JSON.stringify([{ k: 'b', v: 7, t: 0 }, 0]));
    const aggregated = await expectExactRestore((env) => {
      env
        .fromCollection<Ev>([])
        .keyBy((e) => e.k)
        .aggregate(sum)
        .collect('aggregated');
    }, steps);
    expect(aggregated.at(-2)).toBe(JSON.stringify([8, 0]));
  });
});

describe('window contents are restored exactly', () => {
  const events: Step[] = [
    ev('a', 1, 1),
    ev('b', 2, 3),
    ev('a', 3, 8),
    { w: 4 },
    ev('a', 4, 12),
    ev('b', 5, 14),
    { w: 11 },
    ev('a', 6, 6), // late for [0, 10) but within the allowed lateness
    ev('b', 7, 21),
    { w: 19 },
    ev('a', 8, 2), // late beyond the allowed lateness: to the side output
    ev('a', 9, 26),
    { w: 30 },
    ev('b', 10, 33),
  ];
  const late = new OutputTag<Ev>('late');
  const sumV = (a: Ev, b: Ev): Ev => ({ k: a.k, v: a.v + b.v, t: Math.max(a.t, b.t) });

  it('tumbling event-time windows with allowed lateness and a late-data side output', async () => {
    const out = await expectExactRestore((env) => {
      const w = env
        .fromCollection<Ev>([])
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(10))
        .allowedLateness(5)
        .sideOutputLateData(late)
        .reduce(sumV);
      w.collect('out');
      w.getSideOutput(late).collect('late');
    }, events);
    expect(out.some((o) => o.startsWith('late:'))).toBe(true);
  });

  it('sliding event-time windows with an aggregate and a process function', async () => {
    await expectExactRestore((env) => {
      env
        .fromCollection<Ev>([])
        .keyBy((e) => e.k)
        .window(SlidingEventTimeWindows.of(10, 5))
        .aggregate(
          {
            createAccumulator: () => 0,
            add: (e: Ev, a: number) => a + e.v,
            getResult: (a: number) => a,
            merge: (a: number, b: number) => a + b,
          },
          {
            process: (key: string, ctx, sums: readonly number[], out) => {
              out.collect(`${key} [${ctx.window().start}, ${ctx.window().end}) ${sums[0]}`);
            },
          },
        )
        .collect('out');
    }, events);
  });

  it('session windows (merging) with a process function', async () => {
    await expectExactRestore((env) => {
      env
        .fromCollection<Ev>([])
        .keyBy((e) => e.k)
        .window(EventTimeSessionWindows.withGap(4))
        .process({
          process: (key: string, ctx, all: readonly Ev[], out) => {
            out.collect(
              `${key} [${ctx.window().start}, ${ctx.window().end}) ${all.map((e) => e.v).join(',')}`,
            );
          },
        })
        .collect('out');
    }, events);
  });

  it('global windows with a purging count trigger', async () => {
    const out = await expectExactRestore((env) => {
      env
        .fromCollection<Ev>([])
        .keyBy((e) => e.k)
        .window(GlobalWindows.create())
        .trigger(PurgingTrigger.of(CountTrigger.of(2)))
        .reduce(sumV)
        .collect('out');
    }, events);
    expect(out.length).toBeGreaterThanOrEqual(4);
  });

  it('tumbling windows with a continuous event-time trigger', async () => {
    await expectExactRestore((env) => {
      env
        .fromCollection<Ev>([])
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(20))
        .trigger(ContinuousEventTimeTrigger.of(5))
        .reduce(sumV)
        .collect('continuous');
    }, events);
  });

  it('all-windows (not keyed)', async () => {
    await expectExactRestore((env) => {
      env.fromCollection<Ev>([]).windowAll(TumblingEventTimeWindows.of(10)).reduce(sumV).collect('all');
    }, events);
  });

  it('processing-time tumbling and session windows', async () => {
    const steps: Step[] = [
      ev('a', 1, 0),
      { p: 40 },
      ev('b', 2, 0),
      ev('a', 3, 0),
      { p: 110 },
      ev('a', 4, 0),
      { p: 150 },
      ev('b', 5, 0),
      { p: 320 },
      ev('a', 6, 0),
    ];
    const tumbling = await expectExactRestore((env) => {
      env
        .fromCollection<Ev>([])
        .keyBy((e) => e.k)
        .window(TumblingProcessingTimeWindows.of(100))
        .reduce(sumV)
        .collect('tumbling');
    }, steps);
    expect(tumbling.length).toBeGreaterThanOrEqual(4);
    const session = await expectExactRestore((env) => {
      env
        .fromCollection<Ev>([])
        .keyBy((e) => e.k)
        .window(ProcessingTimeSessionWindows.withGap(60))
        .reduce(sumV)
        .collect('session');
    }, steps);
    expect(session.length).toBeGreaterThanOrEqual(4);
  });

  it('window joins', async () => {
    const out = await expectExactRestore(
      (env) => {
        const left = env.fromCollection<Ev>([]);
        const right = env.fromCollection<Ev>([]);
        left
          .join(right)
          .where((e) => e.k)
          .equalTo((e) => e.k)
          .window(TumblingEventTimeWindows.of(10))
          .apply((l, r) => `${l.k} ${l.v}x${r.v}`)
          .collect('out');
      },
      [
        ev('a', 1, 1),
        { r2: { k: 'a', v: 10, t: 2 }, t: 2 },
        ev('b', 2, 3),
        { w: 5 },
        { r2: { k: 'a', v: 20, t: 7 }, t: 7 },
        { r2: { k: 'b', v: 30, t: 12 }, t: 12 },
        ev('b', 3, 15),
        { w: 20 },
      ],
    );
    expect(out).toHaveLength(3);
  });
});

describe('joins and broadcast state are restored exactly', () => {
  it('interval join buffers', async () => {
    const out = await expectExactRestore(
      (env) => {
        const left = env.fromCollection<Ev>([]).keyBy((e) => e.k);
        const right = env.fromCollection<Ev>([]).keyBy((e) => e.k);
        left
          .intervalJoin(right)
          .between(-3, 5)
          .process({
            processElement: (l, r, _ctx, out) => {
              out.collect(`${l.v}-${r.v}`);
            },
          })
          .collect('out');
      },
      [
        ev('a', 1, 10),
        { r2: { k: 'a', v: 11, t: 12 }, t: 12 },
        { r2: { k: 'a', v: 12, t: 6 }, t: 6 },
        { w: 8 },
        ev('a', 2, 16),
        { r2: { k: 'b', v: 13, t: 20 }, t: 20 },
        ev('b', 3, 18),
        { w: 30 },
        ev('a', 4, 40),
        { r2: { k: 'a', v: 14, t: 44 }, t: 44 },
      ],
    );
    expect(out).toEqual([
      JSON.stringify(['1-11', 12]),
      JSON.stringify(['3-13', 20]),
      JSON.stringify(['4-14', 44]),
    ]);
  });

  it('broadcast state', async () => {
    const out = await expectExactRestore(
      (env) => {
        const rules = new MapStateDescriptor<string, number>('rules');
        const broadcast = env.fromCollection<{ k: string; limit: number }>([]).broadcast(rules);
        env
          .fromCollection<Ev>([])
          .keyBy((e) => e.k)
          .connect(broadcast)
          .process<string>({
            processElement: (e, ctx, out) => {
              const limit = ctx.getBroadcastState(rules).get(e.k);
              out.collect(`${e.k} ${e.v} ${limit === undefined ? 'no rule' : e.v > limit ? 'over' : 'ok'}`);
            },
            processBroadcastElement: (rule, ctx) => {
              ctx.getBroadcastState(rules).put(rule.k, rule.limit);
            },
          })
          .collect('out');
      },
      [
        ev('a', 5, 0),
        { r2: { k: 'a', limit: 3 } },
        ev('a', 2, 0),
        ev('a', 7, 0),
        { r2: { k: 'b', limit: 10 } },
        ev('b', 11, 0),
        { r2: { k: 'a', limit: 100 } },
        ev('a', 7, 0),
      ],
    );
    expect(out).toEqual(
      ['a 5 no rule', 'a 2 ok', 'a 7 over', 'b 11 over', 'a 7 ok'].map((v) => JSON.stringify([v, 0])),
    );
  });
});

describe('operator state and watermarks are restored exactly', () => {
  it('assignTimestampsAndWatermarks keeps its highest timestamp: after a restore it emits the watermark it had reached', async () => {
    const nodes = await transforms((env) => {
      env
        .fromCollection<Ev>([])
        .assignTimestampsAndWatermarks(
          WatermarkStrategy.forBoundedOutOfOrderness<Ev>(5).withTimestampAssigner((e) => e.t),
        )
        .collect('out');
    });
    const first = OperatorHarness.chain(nodes, { job: { autoWatermarkIntervalMs: 100 } }).open();
    first.processElement({ k: 'a', v: 1, t: 100 });
    first.processElement({ k: 'a', v: 2, t: 90 });
    const restored = checkpoint(first, nodes, 1);
    const again = await transforms((env) => {
      env
        .fromCollection<Ev>([])
        .assignTimestampsAndWatermarks(
          WatermarkStrategy.forBoundedOutOfOrderness<Ev>(5).withTimestampAssigner((e) => e.t),
        )
        .collect('out');
    });
    const second = OperatorHarness.chain(again, { job: { autoWatermarkIntervalMs: 100 } }).open(restored);
    second.setProcessingTime(100);
    expect(second.watermarks()).toEqual([94]);
  });

  it('a restored window operator judges lateness by the watermark it had and ignores lower ones from replaying inputs', async () => {
    const build = (env: StreamExecutionEnvironment): void => {
      const late = new OutputTag<Ev>('late');
      const w = env
        .fromCollection<Ev>([])
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(10))
        .sideOutputLateData(late)
        .reduce((a, b) => ({ k: a.k, v: a.v + b.v, t: b.t }));
      w.collect('out');
      w.getSideOutput(late).collect('late');
    };
    const nodes = await transforms(build);
    const first = OperatorHarness.chain(nodes).open();
    first.processElement({ k: 'a', v: 1, t: 5 }, 5).processWatermark(12);
    const again = await transforms(build);
    const second = OperatorHarness.chain(again).open(checkpoint(first, nodes, 1));
    // The replaying upstream starts with a low watermark; a record for the fired window is still late.
    second.processWatermark(3).processElement({ k: 'a', v: 2, t: 7 }, 7);
    expect(second.watermarks()).toEqual([]);
    expect(second.sideValues('late')).toEqual([{ k: 'a', v: 2, t: 7 }]);
  });
});
