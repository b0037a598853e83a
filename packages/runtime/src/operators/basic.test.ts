import { describe, expect, it } from 'vitest';
import { MAX_WATERMARK, NO_TIMESTAMP } from '../operator.js';
import { OperatorHarness, testNode } from '../testing/harness.js';
import { createOperator } from './create.js';

describe('map / flatMap / filter', () => {
  it('map applies a plain function and keeps timestamps', () => {
    const h = OperatorHarness.of(testNode({ kind: 'map', fns: { fn: (x: number) => x * 2 } })).open();
    h.processElement(1, 10).processElement(2, NO_TIMESTAMP);
    expect(h.records()).toEqual([
      { value: 2, timestamp: 10 },
      { value: 4, timestamp: NO_TIMESTAMP },
    ]);
  });

  it('map accepts an object with map/open/close, resolving it once', () => {
    const calls: string[] = [];
    const fn = {
      factor: 0,
      open(ctx: { subtaskIndex: number; parallelism: number }) {
        calls.push(`open ${ctx.subtaskIndex}/${ctx.parallelism}`);
        this.factor = 3;
      },
      map(x: number) {
        return x * this.factor;
      },
      close() {
        calls.push('close');
      },
    };
    const h = OperatorHarness.of(testNode({ kind: 'map', fns: { fn } }), {
      parallelism: 2,
      subtaskIndex: 1,
    }).open();
    h.processElement(2, 0);
    h.close();
    expect(h.values()).toEqual([6]);
    expect(calls).toEqual(['open 1/2', 'close']);
  });

  it('flatMap emits many records through the reused collector', () => {
    const fn = (s: string, out: { collect(v: string): void }) => {
      for (const w of s.split(' ')) out.collect(w);
    };
    const h = OperatorHarness.of(testNode({ kind: 'flatMap', fns: { fn } })).open();
    h.processElement('a b', 5).processElement('c', 6);
    expect(h.records()).toEqual([
      { value: 'a', timestamp: 5 },
      { value: 'b', timestamp: 5 },
      { value: 'c', timestamp: 6 },
    ]);
  });

  it('filter keeps matching records, also with an object', () => {
    const h = OperatorHarness.of(
      testNode({ kind: 'filter', fns: { fn: { filter: (x: number) => x % 2 === 0 } } }),
    ).open();
    for (let i = 0; i < 6; i++) h.processElement(i, i);
    expect(h.values()).toEqual([0, 2, 4]);
  });

  it('forwards watermarks', () => {
    const h = OperatorHarness.of(testNode({ kind: 'map', fns: { fn: (x: number) => x } })).open();
    h.processWatermark(5).processWatermark(MAX_WATERMARK);
    expect(h.watermarks()).toEqual([5, MAX_WATERMARK]);
  });

  it('chains operators in a harness', () => {
    const h = OperatorHarness.chain([
      testNode({ kind: 'map', fns: { fn: (x: number) => x + 1 } }),
      testNode({ kind: 'filter', fns: { fn: (x: number) => x > 2 } }),
    ]).open();
    for (let i = 0; i < 5; i++) h.processElement(i, i);
    h.processWatermark(10);
    expect(h.values()).toEqual([3, 4, 5]);
    expect(h.watermarks()).toEqual([10]);
  });

  it('refuses sources and sinks with a clear message', () => {
    expect(() => createOperator(testNode({ kind: 'source', name: 'src' }))).toThrow(
      /sources and sinks are created by the task/,
    );
    expect(() => createOperator(testNode({ kind: 'sink', name: 'out' }))).toThrow(/\('out'\) is a sink/);
  });

  it('reports a missing function clearly', () => {
    expect(() => OperatorHarness.of(testNode({ kind: 'map', name: 'm' })).open()).toThrow(
      /Operator 'm': expected a function or an object with a 'map' method/,
    );
  });
});

describe('timestamps and watermarks', () => {
  const node = (idlenessMs?: number) =>
    testNode({
      kind: 'timestamps',
      name: 'ts',
      spec: { watermarks: { outOfOrdernessMs: 5, ...(idlenessMs ? { idlenessMs } : {}) } },
      fns: { timestampAssigner: (v: never) => (v as { t: number }).t },
    });

  it('assigns timestamps and emits periodic watermarks only when they advance', () => {
    const h = OperatorHarness.of(node(), { job: { autoWatermarkIntervalMs: 100 } }).open();
    h.processElement({ t: 10 }).processElement({ t: 30 }).processElement({ t: 20 });
    expect(h.records().map((r) => r.timestamp)).toEqual([10, 30, 20]);
    expect(h.watermarks()).toEqual([]);
    h.setProcessingTime(100);
    expect(h.watermarks()).toEqual([30 - 5 - 1]);
    h.setProcessingTime(200);
    expect(h.watermarks()).toEqual([24]);
    h.processElement({ t: 50 });
    h.setProcessingTime(300);
    expect(h.watermarks()).toEqual([24, 44]);
  });

  it('replaces upstream watermarks but forwards the final one', () => {
    const h = OperatorHarness.of(node(), { job: { autoWatermarkIntervalMs: 100 } }).open();
    h.processWatermark(1000);
    expect(h.watermarks()).toEqual([]);
    h.processWatermark(MAX_WATERMARK);
    expect(h.watermarks()).toEqual([MAX_WATERMARK]);
    h.processElement({ t: 10 });
    h.setProcessingTime(1000);
    expect(h.watermarks()).toEqual([MAX_WATERMARK]);
  });

  it('marks the output idle after idlenessMs without records and active on the next record', () => {
    const h = OperatorHarness.of(node(300), { job: { autoWatermarkIntervalMs: 100 } }).open();
    h.processElement({ t: 1 });
    h.setProcessingTime(100);
    h.setProcessingTime(300);
    expect(h.output.idleness).toEqual([]);
    h.setProcessingTime(400);
    expect(h.output.idleness).toEqual([true]);
    h.processElement({ t: 2 });
    expect(h.output.idleness).toEqual([true, false]);
  });

  it('passes the previous timestamp to the assigner', () => {
    const seen: (number | undefined)[] = [];
    const h = OperatorHarness.of(
      testNode({
        kind: 'timestamps',
        spec: { watermarks: { outOfOrdernessMs: 0 } },
        fns: {
          timestampAssigner: (_v: never, prev: number | undefined) => {
            seen.push(prev);
            return 1;
          },
        },
      }),
    ).open();
    h.processElement('a', 7).processElement('b');
    expect(seen).toEqual([7, undefined]);
  });
});
