/**
 * Type tests: record types flow through the chain, and a program passing the
 * wrong type does not compile. `pnpm --filter @freshet/api typecheck` checks
 * this file, so a `@ts-expect-error` that stops failing breaks typecheck.
 */
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- the negative tests pass wrong types on purpose */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  Aggregations,
  AsyncDataStream,
  AsyncRetryStrategies,
  BoundedOutOfOrdernessWatermarks,
  CountEvictor,
  defineProgram,
  DeltaEvictor,
  IntCounter,
  MapStateDescriptor,
  RichFilterFunction,
  RichMapFunction,
  OutputTag,
  Sinks,
  StreamExecutionEnvironment,
  TumblingEventTimeWindows,
  WatermarkStrategy,
  type Bid,
  type Collector,
  type Counter,
  type DataStream,
  type MetricGroup,
  type ProcessWindowContext,
  type RuntimeContext,
  type KeyedStream,
  type KeyedValue,
  type NexmarkEvent,
  type Person,
  type SingleOutputStreamOperator,
  type WindowedStream,
} from './index.js';
import { buildStreamGraph } from './internal.js';
import type { StreamGraph } from '@freshet/graph';

interface Sale {
  shop: string;
  amount: number;
}

/** Builds on a fresh environment (the plan is never validated: these tests are about types). */
const env = () => new StreamExecutionEnvironment();

describe('record types flow through the chain', () => {
  it('sources', () => {
    const e = env();
    expectTypeOf(e.fromElements('a', 'b')).toEqualTypeOf<SingleOutputStreamOperator<string>>();
    expectTypeOf(e.fromElements<string | number>(1, 'a')).toEqualTypeOf<
      SingleOutputStreamOperator<string | number>
    >();
    expectTypeOf(e.fromCollection<Sale>([])).toEqualTypeOf<SingleOutputStreamOperator<Sale>>();
    expectTypeOf(e.fromSequence(1, 10)).toEqualTypeOf<SingleOutputStreamOperator<number>>();
    expectTypeOf(e.fromGenerator((i) => ({ i }))).toEqualTypeOf<SingleOutputStreamOperator<{ i: number }>>();
    expectTypeOf(e.readTextFile('f')).toEqualTypeOf<SingleOutputStreamOperator<string>>();
    expectTypeOf(e.socketTextStream('h', 1)).toEqualTypeOf<SingleOutputStreamOperator<string>>();
    expectTypeOf(e.nexmark({ seed: 1 })).toEqualTypeOf<SingleOutputStreamOperator<NexmarkEvent>>();
  });

  it('one-input operators', () => {
    const s = env().fromElements('a');
    expectTypeOf(s.map((x) => x.length)).toEqualTypeOf<SingleOutputStreamOperator<number>>();
    expectTypeOf(s.map({ map: (x: string) => [x] })).toEqualTypeOf<SingleOutputStreamOperator<string[]>>();
    expectTypeOf(
      s.flatMap((x, out: Collector<number>) => {
        out.collect(x.length);
      }),
    ).toEqualTypeOf<SingleOutputStreamOperator<number>>();
    expectTypeOf(s.filter((x) => x !== '')).toEqualTypeOf<SingleOutputStreamOperator<string>>();
    expectTypeOf(
      s.process<boolean>({
        processElement: (v, _ctx, out) => {
          out.collect(v === '');
        },
      }),
    ).toEqualTypeOf<SingleOutputStreamOperator<boolean>>();
    expectTypeOf(s.rebalance()).toEqualTypeOf<DataStream<string>>();
    expectTypeOf(
      s
        .map((x) => x)
        .name('n')
        .setParallelism(2),
    ).toEqualTypeOf<SingleOutputStreamOperator<string>>();
    expectTypeOf(s.getSideOutput(new OutputTag<number>('n'))).toEqualTypeOf<DataStream<number>>();
  });

  it('keyed streams and windows', () => {
    const keyed = env()
      .fromCollection<Sale>([])
      .keyBy((s) => s.shop);
    expectTypeOf(keyed).toEqualTypeOf<KeyedStream<Sale, string>>();
    expectTypeOf(keyed.reduce((a, b) => ({ ...a, amount: a.amount + b.amount }))).toEqualTypeOf<
      SingleOutputStreamOperator<Sale>
    >();
    expectTypeOf(keyed.sum('amount')).toEqualTypeOf<SingleOutputStreamOperator<Sale>>();
    expectTypeOf(keyed.sum((s) => s.amount)).toEqualTypeOf<
      SingleOutputStreamOperator<KeyedValue<string, number>>
    >();
    expectTypeOf(keyed.count()).toEqualTypeOf<SingleOutputStreamOperator<KeyedValue<string, number>>>();
    expectTypeOf(keyed.maxBy('amount')).toEqualTypeOf<SingleOutputStreamOperator<Sale>>();
    expectTypeOf(keyed.aggregate(Aggregations.avg((s: Sale) => s.amount))).toEqualTypeOf<
      SingleOutputStreamOperator<number>
    >();
    keyed.process<string>({
      processElement(value, ctx, out) {
        expectTypeOf(value).toEqualTypeOf<Sale>();
        expectTypeOf(ctx.getCurrentKey()).toEqualTypeOf<string>();
        out.collect(value.shop);
      },
    });

    const windowed = keyed.window(TumblingEventTimeWindows.of(1000));
    expectTypeOf(windowed).toEqualTypeOf<WindowedStream<Sale, string>>();
    expectTypeOf(windowed.reduce((a) => a)).toEqualTypeOf<SingleOutputStreamOperator<Sale>>();
    expectTypeOf(windowed.aggregate(Aggregations.count())).toEqualTypeOf<
      SingleOutputStreamOperator<number>
    >();
    const perWindow = windowed.aggregate(
      Aggregations.sum((s: Sale) => s.amount),
      {
        process(key, ctx, sums, out: Collector<{ shop: string; end: number; total: number }>) {
          expectTypeOf(key).toEqualTypeOf<string>();
          expectTypeOf(sums).toEqualTypeOf<readonly number[]>();
          out.collect({ shop: key, end: ctx.window().end, total: sums[0] ?? 0 });
        },
      },
    );
    expectTypeOf(perWindow).toEqualTypeOf<
      SingleOutputStreamOperator<{ shop: string; end: number; total: number }>
    >();
    const late = new OutputTag<Sale>('late');
    expectTypeOf(
      windowed
        .sideOutputLateData(late)
        .reduce((a) => a)
        .getSideOutput(late),
    ).toEqualTypeOf<DataStream<Sale>>();
  });

  it('two-input operators', () => {
    const e = env();
    const persons = e.fromCollection<Person>([]);
    const bids = e.fromCollection<Bid>([]);
    expectTypeOf(persons.connect(bids).map({ map1: (p) => p.name, map2: (b) => b.url })).toEqualTypeOf<
      SingleOutputStreamOperator<string>
    >();
    expectTypeOf(
      persons
        .join(bids)
        .where((p) => p.id)
        .equalTo((b) => b.bidder)
        .window(TumblingEventTimeWindows.of(10))
        .apply((p, b) => ({ name: p.name, price: b.price })),
    ).toEqualTypeOf<SingleOutputStreamOperator<{ name: string; price: number }>>();
    const joined = persons
      .keyBy((p) => p.id)
      .intervalJoin(bids.keyBy((b) => b.bidder))
      .between(0, 10)
      .process<number>({
        processElement(p, b, ctx, out) {
          expectTypeOf(p).toEqualTypeOf<Person>();
          expectTypeOf(b).toEqualTypeOf<Bid>();
          out.collect(ctx.timestamp());
        },
      });
    expectTypeOf(joined).toEqualTypeOf<SingleOutputStreamOperator<number>>();
    const rules = new MapStateDescriptor<string, number>('rules');
    bids
      .keyBy((b) => b.auction)
      .connect(e.fromElements('r').broadcast(rules))
      .process<Bid>({
        processElement(bid, ctx, out) {
          expectTypeOf(ctx.getCurrentKey()).toEqualTypeOf<number>();
          if ((ctx.getBroadcastState(rules).get('max') ?? Infinity) > bid.price) out.collect(bid);
        },
        processBroadcastElement(rule, ctx) {
          expectTypeOf(rule).toEqualTypeOf<string>();
          ctx.getBroadcastState(rules).put(rule, 1);
        },
      });
  });

  it('nexmark events narrow on event_type', () => {
    env()
      .nexmark({ seed: 1 })
      .flatMap((e, out: Collector<Bid>) => {
        if (e.event_type === 2) out.collect(e.bid);
      })
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forBoundedOutOfOrderness<Bid>(100).withTimestampAssigner((b) => b.dateTime),
      )
      .print();
  });

  it('programs', () => {
    const program = defineProgram((e, args) => {
      expectTypeOf(e).toEqualTypeOf<StreamExecutionEnvironment>();
      expectTypeOf(args).toEqualTypeOf<string[]>();
    });
    expectTypeOf(buildStreamGraph).toBeCallableWith(program, ['arg']);
    expectTypeOf(buildStreamGraph).returns.toEqualTypeOf<Promise<StreamGraph>>();
  });
});

describe('a program passing the wrong type does not compile', () => {
  it('one-input operators', () => {
    const e = env();
    const s = e.fromElements('a');
    // @ts-expect-error -- a function of numbers on a stream of strings
    s.map((x: number) => x);
    // @ts-expect-error -- filter must return a boolean
    s.filter((x) => x.length);
    // @ts-expect-error -- union needs streams of the same type
    s.union(e.fromElements(1));
    // @ts-expect-error -- a sink of numbers for a stream of strings
    s.sinkTo(Sinks.collect<number>('x'));
    const itself = (x: string): string => x;
    // @ts-expect-error -- the partitioner takes the key type the selector returns
    s.partitionCustom((k: number, n) => k % n, itself);
    expectTypeOf(s.partitionCustom((k: string, n) => k.length % n, itself)).toEqualTypeOf<
      DataStream<string>
    >();
    // @ts-expect-error -- a watermark strategy for numbers
    s.assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<number>());
    expect(() =>
      // @ts-expect-error -- a window needs keyBy first (or windowAll)
      s.window(TumblingEventTimeWindows.of(1000)),
    ).toThrow(/needs a keyed stream/);
  });

  it('keys', () => {
    const s = env().fromCollection<Sale>([]);
    // @ts-expect-error -- keys are strings or numbers
    s.keyBy((x) => ({ shop: x.shop }));
    // @ts-expect-error -- a key that may be undefined
    s.keyBy((x) => (x.amount > 0 ? x.shop : undefined));
    // @ts-expect-error -- sum of a field that is not a number
    s.keyBy((x) => x.shop).sum('shop');
    // @ts-expect-error -- a field that does not exist
    s.keyBy((x) => x.shop).minBy('price');
  });

  it('joins and connections need matching key types', () => {
    const e = env();
    const persons = e.fromCollection<Person>([]);
    const bids = e.fromCollection<Bid>([]);
    persons
      .join(bids)
      .where((p) => p.id)
      // @ts-expect-error -- number key on one side, string key on the other
      .equalTo((b) => b.url);
    // @ts-expect-error -- keyed by number and by string
    persons.keyBy((p) => p.id).intervalJoin(bids.keyBy((b) => b.url));
    // @ts-expect-error -- keyed by number and by string
    persons.keyBy((p) => p.id).connect(bids.keyBy((b) => b.channel));
    expect(() =>
      // @ts-expect-error -- an interval join needs a keyed stream
      persons.keyBy((p) => p.id).intervalJoin(bids),
    ).toThrow(/expects a KeyedStream/);
  });

  it('window functions get the window’s element type', () => {
    const w = env()
      .fromCollection<Sale>([])
      .keyBy((s) => s.shop)
      .window(TumblingEventTimeWindows.of(1000));
    const overNumbers = (_key: string, _ctx: unknown, _els: readonly number[], _out: Collector<number>) =>
      undefined;
    // @ts-expect-error -- the process window function expects numbers but the window holds sales
    w.process({ process: overNumbers });
    // @ts-expect-error -- the key of this stream is a string
    w.process({ process: (_key: number, _ctx, _els: readonly Sale[], _out: Collector<number>) => undefined });
  });
});

describe('rich functions, metrics and accumulators', () => {
  class Length extends RichMapFunction<string, number> {
    private calls!: Counter;
    override open(ctx: RuntimeContext): void {
      this.calls = ctx.getMetricGroup().counter('calls');
      ctx.addAccumulator('chars', new IntCounter());
    }
    map(value: string): number {
      this.calls.inc();
      this.getRuntimeContext().getAccumulator<number, number>('chars')?.add(value.length);
      return value.length;
    }
  }

  it('rich functions are map functions with their types', () => {
    const s = env().fromElements('a');
    expectTypeOf(s.map(new Length())).toEqualTypeOf<SingleOutputStreamOperator<number>>();
    expectTypeOf<Length['getRuntimeContext']>().returns.toEqualTypeOf<RuntimeContext>();
    expectTypeOf<RuntimeContext['getMetricGroup']>().returns.toEqualTypeOf<MetricGroup>();
    expectTypeOf<RuntimeContext['getIntCounter']>().returns.toEqualTypeOf<IntCounter>();
  });

  it('a misuse does not compile', () => {
    const numbers = env().fromElements(1, 2);
    // @ts-expect-error -- Length maps strings, the stream holds numbers
    numbers.map(new Length());
    class NotAFilter extends RichFilterFunction<number> {
      filter(value: number): boolean {
        return value > 0;
      }
    }
    // @ts-expect-error -- this filter takes numbers, the stream holds strings
    env().fromElements('a').filter(new NotAFilter());
    // Type-checked only: a context exists once the job runs.
    const inOpen = (ctx: RuntimeContext): void => {
      // @ts-expect-error -- gauges read numbers
      ctx.getMetricGroup().gauge('g', () => 'text');
      // @ts-expect-error -- an accumulator is needed
      ctx.addAccumulator('x', 5);
    };
    expectTypeOf(inOpen).parameter(0).toEqualTypeOf<RuntimeContext>();
  });
});

describe('count windows, evictors and window aggregations', () => {
  it('keep the record and key types', () => {
    const keyed = env()
      .fromCollection<Sale>([])
      .keyBy((s) => s.shop);
    expectTypeOf(keyed.countWindow(10)).toEqualTypeOf<WindowedStream<Sale, string>>();
    expectTypeOf(keyed.countWindow(10, 5).sum('amount')).toEqualTypeOf<SingleOutputStreamOperator<Sale>>();
    expectTypeOf(keyed.countWindow(10).max((s) => s.amount)).toEqualTypeOf<
      SingleOutputStreamOperator<KeyedValue<string, number>>
    >();
    expectTypeOf(keyed.countWindow(10).evictor(CountEvictor.of(3))).toEqualTypeOf<
      WindowedStream<Sale, string>
    >();
    expectTypeOf(
      keyed.countWindow(3).apply((key, window, elements, out: Collector<string>) => {
        expectTypeOf(key).toEqualTypeOf<string>();
        expectTypeOf(window.start).toEqualTypeOf<number>();
        expectTypeOf(elements).toEqualTypeOf<readonly Sale[]>();
        out.collect(key);
      }),
    ).toEqualTypeOf<SingleOutputStreamOperator<string>>();
    const all = env().fromCollection<Sale>([]).countWindowAll(5);
    expectTypeOf(all.sum((s) => s.amount)).toEqualTypeOf<SingleOutputStreamOperator<number>>();
    expectTypeOf(all.minBy('amount')).toEqualTypeOf<SingleOutputStreamOperator<Sale>>();
  });

  it('a misuse does not compile', () => {
    const w = env()
      .fromCollection<Sale>([])
      .keyBy((s) => s.shop)
      .countWindow(2);
    // @ts-expect-error -- 'shop' is not a numeric field
    w.sum('shop');
    // @ts-expect-error -- the delta function reads numbers, the window holds sales
    w.evictor(DeltaEvictor.of(1, (a: number, b: number) => a - b));
    // @ts-expect-error -- the window function's elements are sales
    w.apply((_key: string, _w, _els: readonly number[], _out: Collector<number>) => undefined);
    const inProcess = (ctx: ProcessWindowContext): void => {
      // @ts-expect-error -- window state needs a state descriptor
      ctx.windowState().getState('count');
    };
    expectTypeOf(inProcess).parameter(0).toEqualTypeOf<ProcessWindowContext>();
  });
});

describe('async I/O', () => {
  it('result types flow from the async function', () => {
    const sales = env().fromCollection<Sale>([]);
    expectTypeOf(AsyncDataStream.orderedWait(sales, (s) => Promise.resolve(s.amount), 1000)).toEqualTypeOf<
      SingleOutputStreamOperator<number>
    >();
    const lookup = {
      asyncInvoke: (s: Sale) => Promise.resolve({ shop: s.shop, ok: true }),
      timeout: (s: Sale) => ({ shop: s.shop, ok: false }),
    };
    expectTypeOf(AsyncDataStream.unorderedWait(sales, lookup, 1000, 10)).toEqualTypeOf<
      SingleOutputStreamOperator<{ shop: string; ok: boolean }>
    >();
    const retry = AsyncRetryStrategies.fixedDelay(3, 100).ifResult((r: string) => r === '');
    expectTypeOf(
      AsyncDataStream.orderedWaitWithRetry(sales, (s) => Promise.resolve(s.shop), 1000, 10, retry),
    ).toEqualTypeOf<SingleOutputStreamOperator<string>>();
  });

  it('a misuse does not compile', () => {
    const sales = env().fromCollection<Sale>([]);
    // @ts-expect-error -- the function must return a Promise
    AsyncDataStream.orderedWait(sales, (s: Sale) => s.amount, 1000);
    // @ts-expect-error -- the function takes sales, not numbers
    AsyncDataStream.orderedWait(sales, (n: number) => Promise.resolve(n), 1000);
    const onStrings = AsyncRetryStrategies.fixedDelay(2, 10).ifResult((r: string) => r === '');
    const amountOf = (s: Sale) => Promise.resolve(s.amount);
    // @ts-expect-error -- the retry predicate reads strings, the results are numbers
    AsyncDataStream.orderedWaitWithRetry(sales, amountOf, 1000, 10, onStrings);
  });
});

describe('watermark generators', () => {
  it('the generator sees the record type', () => {
    const s = WatermarkStrategy.forGenerator<Sale>(() => ({
      onEvent: (sale, ts, out) => {
        expectTypeOf(sale).toEqualTypeOf<Sale>();
        out.emitWatermark(ts);
      },
      onPeriodicEmit: () => undefined,
    })).withIdleness(1000);
    expectTypeOf(env().fromCollection<Sale>([]).assignTimestampsAndWatermarks(s)).toEqualTypeOf<
      SingleOutputStreamOperator<Sale>
    >();
    const forNumbers = WatermarkStrategy.forGenerator<number>(
      () => new BoundedOutOfOrdernessWatermarks<number>(1),
    );
    const saleStream = env().fromCollection<Sale>([]);
    // @ts-expect-error -- a generator for numbers cannot watermark a stream of sales
    saleStream.assignTimestampsAndWatermarks(forNumbers);
  });
});

describe('coGroup', () => {
  it('the function gets both sides with their types', () => {
    const e = env();
    const persons = e.fromCollection<Person>([]);
    const bids = e.fromCollection<Bid>([]);
    const joined = persons
      .coGroup(bids)
      .where((p) => p.id)
      .equalTo((b) => b.bidder)
      .window(TumblingEventTimeWindows.of(1000));
    expectTypeOf(
      joined.apply((ps, bs, out: Collector<number>) => {
        expectTypeOf(ps).toEqualTypeOf<readonly Person[]>();
        expectTypeOf(bs).toEqualTypeOf<readonly Bid[]>();
        out.collect(ps.length + bs.length);
      }),
    ).toEqualTypeOf<SingleOutputStreamOperator<number>>();
    // @ts-expect-error -- a join function (pairs) is not a coGroup function (lists)
    joined.apply((p: Person, b: Bid) => p.id + b.price);
  });
});
