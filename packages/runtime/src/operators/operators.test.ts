import {
  MapStateDescriptor,
  OutputTag,
  ValueStateDescriptor,
  type Collector,
  type IntervalJoinContext,
  type KeyedProcessContext,
  type OnTimerContext,
  type ProcessContext,
  type ReadOnlyBroadcastContext,
  type BroadcastContext,
  type RuntimeContext,
  type ValueState,
} from '@freshet/api';
import { describe, expect, it } from 'vitest';
import { subtaskForKey } from '../keygroups.js';
import { MAX_WATERMARK, NO_TIMESTAMP } from '../operator.js';
import { OperatorHarness, testNode, type HarnessOptions } from '../testing/harness.js';
import { isUserFunctionError, UserFunctionError } from './errors.js';

type Ev = { k: string; v: number };
const ev = (k: string, v: number): Ev => ({ k, v });
const byK = (e: never) => (e as Ev).k;

describe('rolling keyed reduce / aggregate', () => {
  it('reduce emits the running result per key', () => {
    const h = OperatorHarness.of(
      testNode({
        kind: 'reduce',
        keyed: true,
        fns: { key: byK, reduce: (a: Ev, b: Ev) => ev(a.k, a.v + b.v) },
      }),
    ).open();
    h.processElement(ev('a', 1), 1).processElement(ev('b', 5), 2).processElement(ev('a', 2), 3);
    expect(h.records()).toEqual([
      { value: ev('a', 1), timestamp: 1 },
      { value: ev('b', 5), timestamp: 2 },
      { value: ev('a', 3), timestamp: 3 },
    ]);
  });

  it('aggregate emits getResult of the running accumulator', () => {
    const agg = {
      createAccumulator: () => ({ n: 0 }),
      add: (_e: Ev, a: { n: number }) => ({ n: a.n + 1 }),
      getResult: (a: { n: number }) => a.n,
      merge: (a: { n: number }, b: { n: number }) => ({ n: a.n + b.n }),
    };
    const h = OperatorHarness.of(
      testNode({ kind: 'aggregate', keyed: true, fns: { key: byK, aggregate: agg } }),
    ).open();
    h.processElement(ev('a', 1)).processElement(ev('a', 1)).processElement(ev('b', 1));
    expect(h.values()).toEqual([1, 2, 1]);
  });

  it('reduce state survives snapshot/restore with rescaling 2 -> 3', () => {
    const node = () =>
      testNode({
        kind: 'reduce',
        keyed: true,
        fns: { key: byK, reduce: (a: Ev, b: Ev) => ev(a.k, a.v + b.v) },
      });
    const keys = 'abcdefghijklmnop'.split('');
    const opts = (p: number, i: number): HarnessOptions => ({
      parallelism: p,
      subtaskIndex: i,
      maxParallelism: 8,
    });
    const snaps = [0, 1].map((i) => {
      const h = OperatorHarness.of(node(), opts(2, i)).open();
      for (const k of keys) if (subtaskForKey(k, 8, 2) === i) h.processElement(ev(k, 10));
      return h.snapshot();
    });
    const results = new Map<string, number>();
    for (let i = 0; i < 3; i++) {
      const h = OperatorHarness.of(node(), opts(3, i)).open(snaps);
      for (const k of keys) if (subtaskForKey(k, 8, 3) === i) h.processElement(ev(k, 1));
      for (const e of h.values<Ev>()) results.set(e.k, e.v);
    }
    expect([...results.values()]).toEqual(keys.map(() => 11));
  });

  it('keyed operators require a key selector', () => {
    expect(() =>
      OperatorHarness.of(
        testNode({ kind: 'reduce', name: 'r', keyed: true, fns: { reduce: () => 0 } }),
      ).open(),
    ).toThrow(/'r' is keyed but has no key selector/);
  });
});

describe('process functions and timers', () => {
  it('non-keyed process: side outputs and timestamps; timers and state are usage errors', () => {
    const tag = new OutputTag<string>('odd');
    const fn = {
      processElement(v: number, ctx: ProcessContext, out: Collector<number>) {
        if (v % 2 === 1) ctx.output(tag, `odd ${v} @${ctx.timestamp()}`);
        else out.collect(v);
      },
    };
    const h = OperatorHarness.of(testNode({ kind: 'process', fns: { fn } })).open();
    h.processElement(1, 10).processElement(2, 20);
    expect(h.values()).toEqual([2]);
    expect(h.sideValues('odd')).toEqual(['odd 1 @10']);

    const timerFn = {
      processElement(_v: number, ctx: ProcessContext) {
        ctx.timerService().registerEventTimeTimer(5);
      },
    };
    const t = OperatorHarness.of(testNode({ kind: 'process', name: 'p', fns: { fn: timerFn } })).open();
    expect(() => t.processElement(1)).toThrow(
      /Timers are only available on keyed streams, but operator 'p' is not keyed/,
    );

    const stateFn = {
      open(rc: RuntimeContext) {
        rc.getState(new ValueStateDescriptor('s'));
      },
      processElement() {},
    };
    expect(() =>
      OperatorHarness.of(testNode({ kind: 'process', name: 'p2', fns: { fn: stateFn } })).open(),
    ).toThrow(/State 's': keyed state is only available on keyed streams, but operator 'p2' is not keyed/);
  });

  // Emits the count per key 10ms (event time) after the first record, and a processing-time ping.
  const countWithTimeout = () => {
    let count!: ValueState<number>;
    return {
      open(rc: RuntimeContext) {
        count = rc.getState(new ValueStateDescriptor<number>('count', 0));
      },
      processElement(e: Ev, ctx: KeyedProcessContext<string>, _out: Collector<string>) {
        const c = count.value()!;
        if (c === 0) {
          ctx.timerService().registerEventTimeTimer(ctx.timestamp()! + 10);
          ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 100);
        }
        count.update(c + e.v);
      },
      onTimer(ts: number, ctx: OnTimerContext<string>, out: Collector<string>) {
        out.collect(`${ctx.getCurrentKey()} ${ctx.timeDomain()} ${ts} count=${count.value()}`);
        if (ctx.timeDomain() === 'EVENT_TIME') count.clear();
      },
    };
  };
  const kpNode = () =>
    testNode({ kind: 'keyedProcess', keyed: true, fns: { key: byK, fn: countWithTimeout() } });

  it('keyed process: state, event-time and processing-time timers', () => {
    const h = OperatorHarness.of(kpNode()).open();
    h.processElement(ev('a', 1), 0).processElement(ev('a', 2), 5).processElement(ev('b', 7), 3);
    h.processWatermark(9);
    expect(h.values()).toEqual([]);
    h.processWatermark(13);
    expect(h.records()).toEqual([
      { value: 'a EVENT_TIME 10 count=3', timestamp: 10 },
      { value: 'b EVENT_TIME 13 count=7', timestamp: 13 },
    ]);
    expect(h.watermarks()).toEqual([9, 13]);
    h.clearOutput().setProcessingTime(100);
    expect(h.records()).toEqual([
      { value: 'a PROCESSING_TIME 100 count=0', timestamp: NO_TIMESTAMP },
      { value: 'b PROCESSING_TIME 100 count=0', timestamp: NO_TIMESTAMP },
    ]);
  });

  it('timers are deduplicated per key and time, and can be deleted', () => {
    const fn = {
      processElement(e: Ev, ctx: KeyedProcessContext<string>) {
        ctx.timerService().registerEventTimeTimer(10);
        if (e.v < 0) ctx.timerService().deleteEventTimeTimer(10);
      },
      onTimer(ts: number, ctx: OnTimerContext<string>, out: Collector<string>) {
        out.collect(`${ctx.getCurrentKey()}@${ts}`);
      },
    };
    const h = OperatorHarness.of(
      testNode({ kind: 'keyedProcess', keyed: true, fns: { key: byK, fn } }),
    ).open();
    h.processElement(ev('a', 1), 1)
      .processElement(ev('a', 1), 2)
      .processElement(ev('b', 1), 2)
      .processElement(ev('c', 1), 1);
    h.processElement(ev('c', -1), 1);
    h.processWatermark(MAX_WATERMARK);
    expect(h.values()).toEqual(['a@10', 'b@10']);
  });

  it('timers and state are restored with rescaling 4 -> 1', () => {
    const opts = (p: number, i: number): HarnessOptions => ({
      parallelism: p,
      subtaskIndex: i,
      maxParallelism: 16,
    });
    const keys = 'abcdefgh'.split('');
    const snaps = [0, 1, 2, 3].map((i) => {
      const h = OperatorHarness.of(kpNode(), opts(4, i)).open();
      for (const k of keys) if (subtaskForKey(k, 16, 4) === i) h.processElement(ev(k, 2), 0);
      return h.snapshot();
    });
    const h = OperatorHarness.of(kpNode(), opts(1, 0)).open(snaps);
    h.processWatermark(10);
    expect(h.values<string>().sort()).toEqual(keys.map((k) => `${k} EVENT_TIME 10 count=2`));
    h.clearOutput().setProcessingTime(100);
    expect(h.values()).toHaveLength(8);
  });

  it('keyed process functions may emit side outputs from onTimer', () => {
    const fn = {
      processElement(_e: Ev, ctx: KeyedProcessContext<string>) {
        ctx.timerService().registerEventTimeTimer(5);
      },
      onTimer(ts: number, ctx: OnTimerContext<string>) {
        ctx.output(new OutputTag<number>('t'), ts);
      },
    };
    const h = OperatorHarness.of(
      testNode({ kind: 'keyedProcess', keyed: true, fns: { key: byK, fn } }),
    ).open();
    h.processElement(ev('a', 1), 1).processWatermark(5);
    expect(h.output.side.get('t')).toEqual([{ value: 5, timestamp: 5 }]);
  });
});

describe('two-input operators', () => {
  it('coMap and coFlatMap', () => {
    const m = OperatorHarness.of(
      testNode({
        kind: 'coMap',
        fns: { fn: { map1: (x: number) => `L${x}`, map2: (s: string) => `R${s}` } },
      }),
    ).open();
    m.processElement(1, 1).processElement2('x', 2);
    expect(m.records()).toEqual([
      { value: 'L1', timestamp: 1 },
      { value: 'Rx', timestamp: 2 },
    ]);
    const f = OperatorHarness.of(
      testNode({
        kind: 'coFlatMap',
        fns: {
          fn: {
            flatMap1: (x: number, out: Collector<number>) => {
              out.collect(x);
              out.collect(x);
            },
            flatMap2: () => undefined,
          },
        },
      }),
    ).open();
    f.processElement(3, 7).processElement2('ignored', 8);
    expect(f.records()).toEqual([
      { value: 3, timestamp: 7 },
      { value: 3, timestamp: 7 },
    ]);
  });

  it('keyedCoProcess shares keyed state between the inputs and has timers', () => {
    let last!: ValueState<string>;
    const fn = {
      open(rc: RuntimeContext) {
        last = rc.getState(new ValueStateDescriptor<string>('last'));
      },
      processElement1(e: Ev, ctx: KeyedProcessContext<string>, out: Collector<string>) {
        out.collect(`${ctx.getCurrentKey()}: L${e.v} after ${last.value()}`);
        last.update(`L${e.v}`);
        ctx.timerService().registerEventTimeTimer(100);
      },
      processElement2(
        e: { id: string; v: number },
        _ctx: KeyedProcessContext<string>,
        out: Collector<string>,
      ) {
        out.collect(`R${e.v} after ${last.value()}`);
        last.update(`R${e.v}`);
      },
      onTimer(ts: number, ctx: OnTimerContext<string>, out: Collector<string>) {
        out.collect(`timer ${ctx.getCurrentKey()} ${ts} last=${last.value()}`);
      },
    };
    const h = OperatorHarness.of(
      testNode({
        kind: 'keyedCoProcess',
        keyed: true,
        fns: { key: byK, key2: (e: never) => (e as { id: string }).id, fn },
      }),
    ).open();
    h.processElement(ev('a', 1), 1).processElement2({ id: 'a', v: 2 }, 2).processElement(ev('a', 3), 3);
    h.processElement2({ id: 'b', v: 9 }, 4);
    h.processWatermark(100);
    expect(h.values()).toEqual([
      'a: L1 after undefined',
      'R2 after L1',
      'a: L3 after R2',
      'R9 after undefined',
      'timer a 100 last=L3',
    ]);
  });

  it('non-keyed coProcess has no timers', () => {
    const fn = {
      processElement1(_v: number, ctx: ProcessContext) {
        ctx.timerService().registerProcessingTimeTimer(1);
      },
      processElement2() {},
    };
    const h = OperatorHarness.of(testNode({ kind: 'coProcess', fns: { fn } })).open();
    expect(() => h.processElement(1)).toThrow(/Timers are only available on keyed streams/);
  });
});

describe('broadcast state', () => {
  const rules = new MapStateDescriptor<string, number>('rules');
  const fn = {
    processElement(e: Ev, ctx: ReadOnlyBroadcastContext, out: Collector<string>) {
      const threshold = ctx.getBroadcastState(rules).get(e.k);
      if (threshold !== undefined && e.v >= threshold) out.collect(`${e.k}=${e.v}`);
    },
    processBroadcastElement(r: { k: string; t: number }, ctx: BroadcastContext) {
      ctx.getBroadcastState(rules).put(r.k, r.t);
    },
  };

  it('the broadcast side writes, the main side reads; snapshots restore at another parallelism', () => {
    const node = () =>
      testNode({
        kind: 'broadcastProcess',
        spec: { broadcastStates: ['rules'] },
        fns: { fn, broadcastStates: [rules] },
      });
    const h = OperatorHarness.of(node()).open();
    h.processElement(ev('a', 5));
    h.processElement2({ k: 'a', t: 3 });
    h.processElement(ev('a', 5)).processElement(ev('a', 2));
    expect(h.values()).toEqual(['a=5']);
    const snap = h.snapshot();
    expect(snap.operator).toEqual({ broadcast: { rules: [['a', 3]] } });
    const r = OperatorHarness.of(node(), { parallelism: 3, subtaskIndex: 2 }).open([snap, snap]);
    r.processElement(ev('a', 4));
    expect(r.values()).toEqual(['a=4']);
  });

  it('keyed broadcast process has keyed state and timers on the main side', () => {
    let seen!: ValueState<number>;
    const kfn = {
      open(rc: RuntimeContext) {
        seen = rc.getState(new ValueStateDescriptor<number>('seen', 0));
      },
      processElement(
        e: Ev,
        ctx: ReadOnlyBroadcastContext & KeyedProcessContext<string>,
        out: Collector<string>,
      ) {
        seen.update(seen.value()! + 1);
        ctx.timerService().registerEventTimeTimer(50);
        out.collect(`${ctx.getCurrentKey()} #${seen.value()} rule=${ctx.getBroadcastState(rules).get('x')}`);
      },
      processBroadcastElement(r: { k: string; t: number }, ctx: BroadcastContext) {
        ctx.getBroadcastState(rules).put(r.k, r.t);
      },
      onTimer(ts: number, ctx: OnTimerContext<string>, out: Collector<string>) {
        out.collect(`timer ${ctx.getCurrentKey()} ${ts}`);
      },
    };
    const h = OperatorHarness.of(
      testNode({
        kind: 'keyedBroadcastProcess',
        keyed: true,
        spec: { broadcastStates: ['rules'] },
        fns: { key: byK, fn: kfn },
      }),
    ).open();
    h.processElement2({ k: 'x', t: 1 });
    h.processElement(ev('a', 0), 1).processElement(ev('a', 0), 2).processElement(ev('b', 0), 3);
    h.processWatermark(60);
    expect(h.values()).toEqual(['a #1 rule=1', 'a #2 rule=1', 'b #1 rule=1', 'timer a 50', 'timer b 50']);
  });

  it('undeclared broadcast state is a clear error', () => {
    const h = OperatorHarness.of(testNode({ kind: 'broadcastProcess', name: 'bp', fns: { fn } })).open();
    expect(() => h.processElement2({ k: 'a', t: 1 })).toThrow(/broadcast state 'rules' was not declared/);
  });
});

describe('joins', () => {
  type L = { id: string; l: number };
  type R = { id: string; r: number };
  it('window join emits the cross product per key and window', () => {
    const h = OperatorHarness.of(
      testNode({
        kind: 'windowJoin',
        keyed: true,
        spec: {
          window: {
            assigner: { type: 'tumbling', time: 'event', sizeMs: 10, offsetMs: 0 },
            keyed: true,
            function: 'process',
            withProcess: false,
            allowedLatenessMs: 0,
            customTrigger: false,
          },
        },
        fns: {
          key: (e: never) => (e as L).id,
          key2: (e: never) => (e as R).id,
          join: (a: L, b: R) => `${a.id}:${a.l}-${b.r}`,
        },
      }),
    ).open();
    h.processElement({ id: 'x', l: 1 }, 1).processElement({ id: 'x', l: 2 }, 2);
    h.processElement2({ id: 'x', r: 7 }, 3).processElement2({ id: 'x', r: 8 }, 4);
    h.processElement2({ id: 'y', r: 9 }, 4); // no left side: nothing
    h.processElement({ id: 'x', l: 3 }, 12); // next window: no right side
    h.processWatermark(MAX_WATERMARK);
    expect(h.records()).toEqual([
      { value: 'x:1-7', timestamp: 9 },
      { value: 'x:1-8', timestamp: 9 },
      { value: 'x:2-7', timestamp: 9 },
      { value: 'x:2-8', timestamp: 9 },
    ]);
  });

  const ijNode = (lowerMs: number, upperMs: number, lowerInclusive = true, upperInclusive = true) =>
    testNode({
      kind: 'intervalJoin',
      keyed: true,
      spec: { intervalJoin: { lowerMs, upperMs, lowerInclusive, upperInclusive } },
      fns: {
        key: (e: never) => (e as L).id,
        key2: (e: never) => (e as R).id,
        fn: {
          processElement(a: L, b: R, ctx: IntervalJoinContext, out: Collector<string>) {
            out.collect(`${a.l}-${b.r} (${ctx.leftTimestamp()},${ctx.rightTimestamp()})`);
          },
        },
      },
    });

  it('interval join matches right records within [left + lower, left + upper], timestamp max(l, r)', () => {
    const h = OperatorHarness.of(ijNode(-2, 3)).open();
    h.processElement({ id: 'k', l: 1 }, 10);
    h.processElement2({ id: 'k', r: 1 }, 7); // 7 < 8: no
    h.processElement2({ id: 'k', r: 2 }, 8); // yes
    h.processElement2({ id: 'k', r: 3 }, 13); // yes
    h.processElement2({ id: 'k', r: 4 }, 14); // no
    h.processElement2({ id: 'other', r: 5 }, 10); // other key
    h.processElement({ id: 'k', l: 2 }, 12); // matches right 13 (in [10,15]) and 14
    expect(h.records()).toEqual([
      { value: '1-2 (10,8)', timestamp: 10 },
      { value: '1-3 (10,13)', timestamp: 13 },
      { value: '2-3 (12,13)', timestamp: 13 },
      { value: '2-4 (12,14)', timestamp: 14 },
    ]);
  });

  it('interval join honours exclusive bounds and cleans its buffers up', () => {
    const h = OperatorHarness.of(ijNode(0, 5, false, false)).open();
    h.processElement({ id: 'k', l: 1 }, 10);
    h.processElement2({ id: 'k', r: 1 }, 10); // excluded (lower exclusive)
    h.processElement2({ id: 'k', r: 2 }, 15); // excluded (upper exclusive)
    h.processElement2({ id: 'k', r: 3 }, 14); // included
    expect(h.values()).toEqual(['1-3 (10,14)']);
    const op = h.head as unknown as { bufferedTimestamps(): number };
    expect(op.bufferedTimestamps()).toBe(4);
    h.processWatermark(100);
    expect(op.bufferedTimestamps()).toBe(0);
    h.processElement({ id: 'k', l: 9 }, 50); // late: dropped
    expect(op.bufferedTimestamps()).toBe(0);
  });

  it('interval join buffers survive snapshot/restore', () => {
    const h = OperatorHarness.of(ijNode(-5, 5)).open();
    h.processElement({ id: 'k', l: 1 }, 10);
    const r = OperatorHarness.of(ijNode(-5, 5)).open([h.snapshot()]);
    r.processElement2({ id: 'k', r: 2 }, 12);
    expect(r.values()).toEqual(['1-2 (10,12)']);
  });
});

describe('user function errors', () => {
  it('wrap the user error as cause, name the operator, and are recognisable by name', () => {
    const boom = new Error('bad record');
    const h = OperatorHarness.of(
      testNode({
        kind: 'map',
        name: 'parse',
        fns: {
          fn: () => {
            throw boom;
          },
        },
      }),
    ).open();
    let caught: unknown;
    try {
      h.processElement(1);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UserFunctionError);
    const err = caught as UserFunctionError;
    expect(err.name).toBe('UserFunctionError');
    expect(isUserFunctionError({ name: 'UserFunctionError' })).toBe(true);
    expect(err.operatorName).toBe('parse');
    expect(err.where).toBe('map');
    expect(err.message).toBe("User function of operator 'parse' failed in map: Error: bad record");
    expect(err.cause).toBe(boom);
    expect((err.cause as Error).stack).toContain('operators.test.ts');
    expect(h.reportedErrors).toEqual([{ error: err, where: 'map' }]);
  });

  it('a downstream failure inside an upstream flatMap keeps the downstream operator name', () => {
    const h = OperatorHarness.chain([
      testNode({
        kind: 'flatMap',
        name: 'split',
        fns: {
          fn: (s: string, out: Collector<string>) => {
            for (const w of s.split(' ')) out.collect(w);
          },
        },
      }),
      testNode({
        kind: 'map',
        name: 'upper',
        fns: {
          fn: (w: string) => {
            if (w === 'x') throw new TypeError('no x');
            return w.toUpperCase();
          },
        },
      }),
    ]).open();
    expect(() => h.processElement('a x')).toThrow(/operator 'upper' failed in map: TypeError: no x/);
    expect(h.reportedErrors).toHaveLength(1);
  });

  it('errors in open, key selectors, reduce and onTimer are wrapped too', () => {
    const open = testNode({
      kind: 'map',
      name: 'o',
      fns: {
        fn: {
          open() {
            throw new Error('cannot open');
          },
          map: (x: unknown) => x,
        },
      },
    });
    expect(() => OperatorHarness.of(open).open()).toThrow(/'o' failed in open: Error: cannot open/);
    const red = OperatorHarness.of(
      testNode({
        kind: 'reduce',
        name: 'r',
        keyed: true,
        fns: {
          key: byK,
          reduce: () => {
            throw new RangeError('overflow');
          },
        },
      }),
    ).open();
    red.processElement(ev('a', 1));
    expect(() => red.processElement(ev('a', 1))).toThrow(/'r' failed in reduce: RangeError: overflow/);
    const t = OperatorHarness.of(
      testNode({
        kind: 'keyedProcess',
        name: 'kp',
        keyed: true,
        fns: {
          key: byK,
          fn: {
            processElement(_e: Ev, ctx: KeyedProcessContext<string>) {
              ctx.timerService().registerEventTimeTimer(1);
            },
            onTimer() {
              throw new Error('late');
            },
          },
        },
      }),
    ).open();
    t.processElement(ev('a', 1), 0);
    expect(() => t.processWatermark(1)).toThrow(/'kp' failed in onTimer: Error: late/);
  });
});
