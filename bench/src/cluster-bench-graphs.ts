/**
 * Pipelines of the data-plane benchmark (`cluster-bench.ts`), built with the real
 * DataStream API; this module is the slot workers' `loader`
 * (`args = [name, events, parallelism]`).
 */
import { TumblingEventTimeWindows, WatermarkStrategy } from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import type { JobGraph, StreamGraph } from '@freshet/graph';
import { jobGraphOf } from '@freshet/runtime/testing';

interface Bid {
  auction: number;
  bidder: number;
  price: number;
  t: number;
  channel: string;
}

const bid = (i: number): Bid => ({
  auction: i % 1000,
  bidder: (i * 7919) % 100_000,
  price: (i * 31) & 4095,
  t: i,
  channel: 'Google',
});

/** Builds benchmark graph `name`: `q0` (project, rebalance, discard) or `keyedWindow` (keyBy auction, 1 s tumbling event-time window max price). */
export function loadStreamGraph(spec: { args: string[] }): Promise<StreamGraph> {
  const [name = 'q0', events = '1000000', parallelism = '2'] = spec.args;
  const count = Number(events);
  return buildStreamGraph((env) => {
    env.setParallelism(Number(parallelism));
    const bids = env.fromGenerator(bid, { count });
    if (name === 'q0') {
      bids
        .map((b) => ({ auction: b.auction, bidder: b.bidder, price: b.price, t: b.t }))
        .rebalance()
        .map((b) => b)
        .discard();
    } else {
      bids
        .assignTimestampsAndWatermarks(
          WatermarkStrategy.forMonotonousTimestamps<Bid>().withTimestampAssigner((b) => b.t),
        )
        .map((b) => ({ auction: b.auction, price: b.price }))
        .keyBy((b) => b.auction)
        .window(TumblingEventTimeWindows.of(1000))
        .reduce((a, b) => (b.price > a.price ? b : a))
        .discard();
    }
  }, []);
}

/** The job graph of a benchmark pipeline. */
export async function benchJob(
  name: string,
  events: number,
  parallelism: number,
): Promise<{ program: { bundlePath: string; args: string[] }; jobGraph: JobGraph; loader: string }> {
  const args = [name, String(events), String(parallelism)];
  return {
    program: { bundlePath: '(bench)', args },
    jobGraph: jobGraphOf(await loadStreamGraph({ args })),
    loader: import.meta.url,
  };
}
