/**
 * User metrics (Flink's `org.apache.flink.metrics`): a function registers
 * counters, gauges, meters and histograms on its operator's metric group
 * (`getRuntimeContext().getMetricGroup()`); the runtime samples them with
 * the subtask's other metrics, and the TaskManager reports them to the
 * JobManager, the dashboard and the Prometheus endpoints.
 *
 * Unlike Flink, the group creates the metric itself (`counter(name)`,
 * `meter(name)`, `histogram(name)`): no `MeterView` or histogram wrapper to
 * pick. A counter's `inc()` is a field increment, cheap on the record path.
 */

/** Counts something up or down (Flink's Counter). */
export interface Counter {
  /** Adds `n`. @default 1 */
  inc(n?: number): void;
  /** Subtracts `n`. @default 1 */
  dec(n?: number): void;
  /** The current count. */
  getCount(): number;
}

/** A value read when metrics are sampled (Flink's Gauge); numbers only, as Prometheus needs. */
export type Gauge = () => number;

/** Events and their rate (Flink's Meter, with a `MeterView` over the last minute built in). */
export interface Meter {
  /** Records `n` events. @default 1 */
  markEvent(n?: number): void;
  /** Events per second over the meter's time span (up to the latest sample). */
  getRate(): number;
  /** Events in total. */
  getCount(): number;
}

/** Statistics of a histogram's values (over its sliding window of recent values). */
export interface HistogramStatistics {
  /** Values in the window. */
  readonly size: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly stdDev: number;
  /** The value at `quantile` (0..1), e.g. 0.99. */
  getQuantile(quantile: number): number;
}

/** Distribution of values (Flink's Histogram over a sliding window of the most recent values). */
export interface Histogram {
  /** Records one value. */
  update(value: number): void;
  /** Values recorded in total. */
  getCount(): number;
  /** Statistics of the values in the window. */
  getStatistics(): HistogramStatistics;
}

/** Options of {@link MetricGroup.meter}. */
export interface MeterOptions {
  /** Span the rate is measured over, in seconds. @default 60 */
  timeSpanSeconds?: number;
}

/** Options of {@link MetricGroup.histogram}. */
export interface HistogramOptions {
  /** Number of most recent values the statistics cover. @default 1024 */
  windowSize?: number;
}

/**
 * Where a function registers its metrics (Flink's MetricGroup). Names are
 * letters, digits and `_`, unique within a group; sub-groups scope them
 * further (`addGroup('cache').counter('hits')` is `cache.hits`).
 */
export interface MetricGroup {
  /** A new counter named `name`. */
  counter(name: string): Counter;
  /** Registers `gauge`, read at every sample; returns it. */
  gauge(name: string, gauge: Gauge): Gauge;
  /** A new meter named `name`. */
  meter(name: string, options?: MeterOptions): Meter;
  /** A new histogram named `name`. */
  histogram(name: string, options?: HistogramOptions): Histogram;
  /** A sub-group (created once; asking again returns the same group). */
  addGroup(name: string): MetricGroup;
  /** The scope of this group: operator name, then the sub-group names. */
  getScopeComponents(): readonly string[];
}
