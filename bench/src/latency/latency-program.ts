/**
 * The latency benchmark's job: Nexmark events (seed 42) at a given rate,
 * stamped with the wall clock as the source emits them (a map chained to
 * the source), keyed by auction or person across an exchange, counted per
 * key (a rolling reduce: every record comes out as an update), and on
 * arrival at the sink side the time since the stamp goes into the
 * `latencyUs` histogram accumulator (microseconds, in buckets of 100 µs up
 * to 100 ms and of 1 ms beyond), merged over the subtasks into the job's
 * result. Arguments: `<events> <ratePerSecond (0: as fast as it goes)>
 * [checkpoint interval ms (0: none)] [warm-up ms (0)]`: records stamped
 * within the warm-up after the first one a subtask sees are not counted.
 */
import { defineProgram, RichMapFunction, type HistogramAccumulator, type NexmarkEvent } from '@freshet/api';

interface Stamped {
  key: number;
  n: number;
  /** Wall-clock milliseconds (fractional) when the source emitted the record. */
  at: number;
}

const now = (): number => performance.timeOrigin + performance.now();

function keyOf(e: NexmarkEvent): number {
  return e.event_type === 2 ? e.bid.auction : e.event_type === 1 ? e.auction.id : e.person.id;
}

/** Adds each record's latency to the histogram (after the warm-up) and passes the latency on. */
class Latency extends RichMapFunction<Stamped, number> {
  private histogram: HistogramAccumulator | undefined;
  private from = Number.POSITIVE_INFINITY;
  constructor(private readonly warmupMs: number) {
    super();
  }
  map(r: Stamped): number {
    const us = (now() - r.at) * 1000;
    // The first records wait for the job to get going (downstream tasks starting, code not yet
    // optimised): records stamped in the first `warmupMs` after the first one seen are not counted.
    if (this.from === Number.POSITIVE_INFINITY) this.from = r.at + this.warmupMs;
    if (r.at < this.from) return us;
    const bucket = us < 100_000 ? Math.round(us / 100) * 100 : Math.round(us / 1000) * 1000;
    (this.histogram ??= this.getRuntimeContext().getHistogram('latencyUs')).add(bucket);
    return us;
  }
}

export default defineProgram((env, args) => {
  const [events, rate, interval = 0, warmupMs = 0] = args.map(Number) as [number, number, number?, number?];
  if (interval > 0) env.enableCheckpointing(interval);
  env
    .nexmark({ seed: 42, events, ...(rate > 0 ? { ratePerSecond: rate } : {}) })
    .map((e): Stamped => ({ key: keyOf(e), n: 1, at: now() }))
    .name('stamp')
    .keyBy((r) => r.key)
    .reduce((a, b) => ({ key: a.key, n: a.n + b.n, at: b.at }))
    .name('count')
    .map(new Latency(warmupMs))
    .name('latency')
    .discard();
});
