// Custom watermark generators (Flink's WatermarkStrategy.forGenerator): punctuated and periodic,
// idleness on any strategy, on graphs built by the real API.
import {
  BoundedOutOfOrdernessWatermarks,
  WatermarkStrategy,
  type WatermarkGenerator,
  type WatermarkOutput,
} from '@freshet/api';
import { describe, expect, it } from 'vitest';
import { OperatorHarness } from '../testing/harness.js';
import { transforms } from '../testing/restore-check.js';

interface Ev {
  v: number;
  t: number;
  /** A punctuation: the source says no earlier event follows. */
  end?: boolean;
}

async function harness(strategy: WatermarkStrategy<Ev>, intervalMs = 100): Promise<OperatorHarness> {
  const nodes = await transforms((env) => {
    env.fromCollection<Ev>([]).assignTimestampsAndWatermarks(strategy).collect('o');
  });
  return OperatorHarness.chain(nodes, { job: { autoWatermarkIntervalMs: intervalMs } }).open();
}

/** Emits a watermark at every punctuation record, right after it. */
class Punctuated implements WatermarkGenerator<Ev> {
  onEvent(e: Ev, ts: number, out: WatermarkOutput): void {
    if (e.end) out.emitWatermark(ts);
  }
  onPeriodicEmit(_out: WatermarkOutput): void {
    // Punctuated only.
  }
}

describe('WatermarkStrategy.forGenerator', () => {
  it('punctuated: a watermark right after the record that carries it, never going back', async () => {
    const h = await harness(
      WatermarkStrategy.forGenerator<Ev>(() => new Punctuated()).withTimestampAssigner((e) => e.t),
    );
    const order: string[] = [];
    const out = h.output;
    const collect = out.collect.bind(out);
    const emitWatermark = out.emitWatermark.bind(out);
    out.collect = (v, t) => {
      order.push(`r${(v as Ev).v}`);
      collect(v, t);
    };
    out.emitWatermark = (w) => {
      order.push(`w${w}`);
      emitWatermark(w);
    };
    h.processElement({ v: 1, t: 10 })
      .processElement({ v: 2, t: 20, end: true })
      .processElement({ v: 3, t: 15, end: true })
      .processElement({ v: 4, t: 30, end: true });
    expect(order).toEqual(['r1', 'r2', 'w20', 'r3', 'r4', 'w30']);
    expect(h.records().map((r) => r.timestamp)).toEqual([10, 20, 15, 30]);
  });

  it("periodic: onPeriodicEmit every autoWatermarkInterval, e.g. Flink's BoundedOutOfOrdernessWatermarks", async () => {
    const h = await harness(
      WatermarkStrategy.forGenerator<Ev>(() => new BoundedOutOfOrdernessWatermarks(5)).withTimestampAssigner(
        (e) => e.t,
      ),
    );
    h.processElement({ v: 1, t: 100 }).processElement({ v: 2, t: 90 });
    expect(h.watermarks()).toEqual([]);
    h.setProcessingTime(100);
    expect(h.watermarks()).toEqual([94]);
    h.setProcessingTime(200);
    expect(h.watermarks()).toEqual([94]);
    h.processElement({ v: 3, t: 120 }).setProcessingTime(300);
    expect(h.watermarks()).toEqual([94, 114]);
  });

  it('withIdleness works on a generator strategy too; the generator may mark idleness itself', async () => {
    let mark: WatermarkOutput | undefined;
    const h = await harness(
      WatermarkStrategy.forGenerator<Ev>(() => ({
        onEvent(_e, ts, out) {
          mark = out;
          out.emitWatermark(ts - 1);
        },
        onPeriodicEmit() {
          // Nothing periodic.
        },
      }))
        .withTimestampAssigner((e) => e.t)
        .withIdleness(300),
    );
    h.processElement({ v: 1, t: 10 });
    h.setProcessingTime(100).setProcessingTime(200).setProcessingTime(300).setProcessingTime(400);
    expect(h.output.idleness).toEqual([true]);
    h.processElement({ v: 2, t: 20 });
    expect(h.output.idleness).toEqual([true, false]);
    mark!.markIdle();
    expect(h.output.idleness).toEqual([true, false, true]);
    expect(h.watermarks()).toEqual([9, 19]);
  });

  it('without a timestamp assigner records keep the timestamps they carry', async () => {
    const h = await harness(WatermarkStrategy.forGenerator<Ev>(() => new Punctuated()));
    h.processElement({ v: 1, t: 0, end: true }, 555);
    expect(h.records()).toEqual([{ value: { v: 1, t: 0, end: true }, timestamp: 555 }]);
    expect(h.watermarks()).toEqual([555]);
  });

  it('a factory that does not return a generator is refused when the job starts', async () => {
    const nodes = await transforms((env) => {
      env
        .fromCollection<Ev>([])
        .assignTimestampsAndWatermarks(WatermarkStrategy.forGenerator<Ev>(() => ({}) as never))
        .collect('o');
    });
    expect(() => OperatorHarness.chain(nodes).open()).toThrow(
      /must return an object with onEvent and onPeriodicEmit/,
    );
  });
});
