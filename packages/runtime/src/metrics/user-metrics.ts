/**
 * User metrics and accumulators of one subtask: the `MetricGroup` a
 * function registers on (one group per operator, scoped by operator name),
 * the metric implementations, and sampling into plain data that travels
 * with the subtask's system metrics (`SubtaskMetrics.user`,
 * `SubtaskMetrics.accumulators`).
 *
 * Updating a metric is a field update (counter, meter) or a store into a
 * ring buffer (histogram): no allocation on the record path. Rates and
 * statistics are computed when sampled, about once a second.
 */
import type {
  Accumulator,
  AccumulatorValue,
  Counter,
  Gauge,
  Histogram,
  HistogramOptions,
  HistogramStatistics,
  Meter,
  MeterOptions,
  MetricGroup,
} from '@freshet/api';
import { OperatorUsageError } from '../operators/errors.js';

/** One sampled user metric: its scope (operator name, sub-groups), name and value(s). */
export type UserMetricSample =
  | { scope: string[]; name: string; type: 'counter'; value: number }
  | { scope: string[]; name: string; type: 'gauge'; value: number }
  | { scope: string[]; name: string; type: 'meter'; count: number; rate: number }
  | {
      scope: string[];
      name: string;
      type: 'histogram';
      count: number;
      min: number;
      max: number;
      mean: number;
      stdDev: number;
      p50: number;
      p75: number;
      p95: number;
      p98: number;
      p99: number;
      p999: number;
    };

/** Flink's SimpleCounter. */
export class SimpleCounter implements Counter {
  private count = 0;
  inc(n = 1): void {
    this.count += n;
  }
  dec(n = 1): void {
    this.count -= n;
  }
  getCount(): number {
    return this.count;
  }
}

/** A meter whose rate covers the last `timeSpanSeconds` (Flink's MeterView), updated at every sample. */
export class MeterView implements Meter {
  private count = 0;
  private rate = 0;
  /** (time, count) at past samples, oldest first, within the time span. */
  private readonly history: { at: number; count: number }[];
  private readonly spanMs: number;
  constructor(
    timeSpanSeconds: number,
    private readonly now: () => number,
  ) {
    this.spanMs = timeSpanSeconds * 1000;
    this.history = [{ at: now(), count: 0 }];
  }
  markEvent(n = 1): void {
    this.count += n;
  }
  getCount(): number {
    return this.count;
  }
  getRate(): number {
    return this.rate;
  }
  /** Recomputes the rate (called when metrics are sampled). */
  update(): void {
    const t = this.now();
    const h = this.history;
    h.push({ at: t, count: this.count });
    // Keep one point at or beyond the span's start, so the rate always covers a full span once there is one.
    while (h.length > 2 && t - h[1]!.at >= this.spanMs) h.shift();
    const oldest = h[0]!;
    const elapsed = t - oldest.at;
    this.rate = elapsed > 0 ? ((this.count - oldest.count) * 1000) / elapsed : 0;
  }
}

/** A histogram over the `windowSize` most recent values (Flink's DescriptiveStatisticsHistogram). */
export class SlidingWindowHistogram implements Histogram {
  private readonly values: Float64Array;
  private count = 0;
  constructor(windowSize: number) {
    this.values = new Float64Array(windowSize);
  }
  update(value: number): void {
    this.values[this.count % this.values.length] = value;
    this.count++;
  }
  getCount(): number {
    return this.count;
  }
  getStatistics(): HistogramStatistics {
    const n = Math.min(this.count, this.values.length);
    const sorted = this.values.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i]!;
    const mean = n > 0 ? sum / n : 0;
    let sq = 0;
    for (let i = 0; i < n; i++) sq += (sorted[i]! - mean) ** 2;
    return {
      size: n,
      min: n > 0 ? sorted[0]! : 0,
      max: n > 0 ? sorted[n - 1]! : 0,
      mean,
      stdDev: n > 1 ? Math.sqrt(sq / (n - 1)) : 0,
      getQuantile: (q: number): number => quantile(sorted, q),
    };
  }
}

/** The value at quantile `q` of sorted values (nearest rank, interpolated as Flink's DescriptiveStatistics does). */
function quantile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const pos = Math.min(Math.max(q, 0), 1) * (n + 1);
  if (pos < 1) return sorted[0]!;
  if (pos >= n) return sorted[n - 1]!;
  const lower = Math.floor(pos);
  const d = pos - lower;
  return sorted[lower - 1]! + d * (sorted[lower]! - sorted[lower - 1]!);
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Registered =
  | { type: 'counter'; scope: string[]; name: string; metric: Counter }
  | { type: 'gauge'; scope: string[]; name: string; metric: Gauge }
  | { type: 'meter'; scope: string[]; name: string; metric: MeterView }
  | { type: 'histogram'; scope: string[]; name: string; metric: Histogram };

/** Options of a {@link SubtaskMetricRegistry}. */
export interface MetricRegistryOptions {
  /** Clock of meters, in ms. @default Date.now */
  now?: () => number;
}

/** The user metrics and accumulators of one subtask. */
export class SubtaskMetricRegistry {
  private readonly metrics: Registered[] = [];
  private readonly ids = new Set<string>();
  private readonly groups = new Map<string, OperatorMetricGroup>();
  private readonly accumulators = new Map<string, Accumulator<unknown, unknown>>();
  /** Clock of meters. */
  readonly now: () => number;

  constructor(options: MetricRegistryOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  /** The metric group of operator `operatorName` (one per operator name). */
  operatorGroup(operatorName: string): MetricGroup {
    let g = this.groups.get(operatorName);
    if (!g) this.groups.set(operatorName, (g = new OperatorMetricGroup(this, [operatorName])));
    return g;
  }

  /** Registers a metric (called by the groups); names are unique within a scope. */
  register(entry: Registered): void {
    if (!NAME.test(entry.name)) {
      throw new OperatorUsageError(
        `Metric name '${entry.name}' in '${entry.scope.join('.')}' is not valid: use letters, digits and '_' (not starting with a digit)`,
      );
    }
    const id = [...entry.scope, entry.name].join('\u0000');
    if (this.ids.has(id)) {
      throw new OperatorUsageError(
        `Metric '${[...entry.scope, entry.name].join('.')}' is registered twice: register each metric once (in open), or give it another name`,
      );
    }
    this.ids.add(id);
    this.metrics.push(entry);
  }

  /** Registers an accumulator; names are unique within the subtask. */
  addAccumulator(name: string, accumulator: Accumulator<unknown, unknown>): void {
    if (typeof name !== 'string' || name.length === 0)
      throw new OperatorUsageError('An accumulator needs a non-empty name');
    const a = accumulator as Partial<Accumulator<unknown, unknown>> | null;
    if (
      typeof a !== 'object' ||
      a === null ||
      typeof a.add !== 'function' ||
      typeof a.toValue !== 'function'
    ) {
      throw new OperatorUsageError(
        `addAccumulator('${name}') expects an Accumulator such as new IntCounter(), or a subclass of CustomAccumulator`,
      );
    }
    if (this.accumulators.has(name)) {
      throw new OperatorUsageError(
        `The accumulator '${name}' already exists in this subtask: add it once, or use getAccumulator('${name}')`,
      );
    }
    this.accumulators.set(name, accumulator);
  }

  /** The accumulator registered under `name`. */
  getAccumulator(name: string): Accumulator<unknown, unknown> | undefined {
    return this.accumulators.get(name);
  }

  /** Whether anything is registered (metrics reports leave the fields out otherwise). */
  get isEmpty(): boolean {
    return this.metrics.length === 0 && this.accumulators.size === 0;
  }

  /** Samples every metric (updating meters' rates); gauges that throw or read no finite number are left out. */
  sampleMetrics(): UserMetricSample[] {
    const out: UserMetricSample[] = [];
    for (const m of this.metrics) {
      const scope = m.scope;
      const name = m.name;
      switch (m.type) {
        case 'counter':
          out.push({ scope, name, type: 'counter', value: m.metric.getCount() });
          break;
        case 'gauge': {
          let value: number;
          try {
            value = m.metric();
          } catch {
            break;
          }
          if (typeof value === 'number' && Number.isFinite(value))
            out.push({ scope, name, type: 'gauge', value });
          break;
        }
        case 'meter':
          m.metric.update();
          out.push({ scope, name, type: 'meter', count: m.metric.getCount(), rate: m.metric.getRate() });
          break;
        case 'histogram': {
          const s = m.metric.getStatistics();
          out.push({
            scope,
            name,
            type: 'histogram',
            count: m.metric.getCount(),
            min: s.min,
            max: s.max,
            mean: s.mean,
            stdDev: s.stdDev,
            p50: s.getQuantile(0.5),
            p75: s.getQuantile(0.75),
            p95: s.getQuantile(0.95),
            p98: s.getQuantile(0.98),
            p99: s.getQuantile(0.99),
            p999: s.getQuantile(0.999),
          });
          break;
        }
      }
    }
    return out;
  }

  /** The local values of every accumulator; one whose `toValue` throws fails the sample (a user error). */
  sampleAccumulators(): Record<string, AccumulatorValue> {
    const out: Record<string, AccumulatorValue> = {};
    for (const [name, acc] of this.accumulators) out[name] = acc.toValue();
    return out;
  }
}

/** A metric group of one operator (or a sub-group of it). */
class OperatorMetricGroup implements MetricGroup {
  private readonly children = new Map<string, OperatorMetricGroup>();
  constructor(
    private readonly registry: SubtaskMetricRegistry,
    private readonly scope: string[],
  ) {}
  counter(name: string): Counter {
    const metric = new SimpleCounter();
    this.registry.register({ type: 'counter', scope: this.scope, name, metric });
    return metric;
  }
  gauge(name: string, gauge: Gauge): Gauge {
    if (typeof gauge !== 'function') {
      throw new OperatorUsageError(`Gauge '${name}' must be a function returning a number`);
    }
    this.registry.register({ type: 'gauge', scope: this.scope, name, metric: gauge });
    return gauge;
  }
  meter(name: string, options: MeterOptions = {}): Meter {
    const span = options.timeSpanSeconds ?? 60;
    if (!(span > 0))
      throw new OperatorUsageError(`Meter '${name}': timeSpanSeconds must be > 0 (got ${span})`);
    const metric = new MeterView(span, this.registry.now);
    this.registry.register({ type: 'meter', scope: this.scope, name, metric });
    return metric;
  }
  histogram(name: string, options: HistogramOptions = {}): Histogram {
    const size = options.windowSize ?? 1024;
    if (!Number.isInteger(size) || size < 1) {
      throw new OperatorUsageError(
        `Histogram '${name}': windowSize must be a positive integer (got ${size})`,
      );
    }
    const metric = new SlidingWindowHistogram(size);
    this.registry.register({ type: 'histogram', scope: this.scope, name, metric });
    return metric;
  }
  addGroup(name: string): MetricGroup {
    if (!NAME.test(name)) {
      throw new OperatorUsageError(
        `Metric group name '${name}' is not valid: use letters, digits and '_' (not starting with a digit)`,
      );
    }
    let g = this.children.get(name);
    if (!g) this.children.set(name, (g = new OperatorMetricGroup(this.registry, [...this.scope, name])));
    return g;
  }
  getScopeComponents(): readonly string[] {
    return this.scope;
  }
}
