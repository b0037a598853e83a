/**
 * Metrics in memory: the latest sample of every subtask (with rates derived
 * from its counters), per-vertex history at one-second resolution for the
 * last minutes, and the cluster's throughput (summed source emit rates).
 * A job's metrics are persisted once, when the job ends and leaves memory
 * ({@link MetricsStore.snapshot}); {@link archivedMetrics} reads them back.
 */
import type { AccumulatorValueSample, SubtaskMetricsSample, UserMetricSample } from '@freshet/protocol';
import { mergeAccumulators, type AccumulatorResult } from '@freshet/runtime';

/** Seconds of history kept per vertex, per subtask and for the cluster. */
export const METRICS_HISTORY_SECONDS = 300;
/** A subtask silent this long no longer counts towards live rates. */
const STALE_MS = 5_000;

/** The latest metrics of one subtask. */
export interface SubtaskMetrics {
  /** Counters since the subtask started. */
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Rates since the previous sample. */
  recordsInPerSec: number;
  recordsOutPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
  busyRatio: number;
  backpressureRatio: number;
  /**
   * The rest of the time since the previous sample, neither processing nor
   * waiting for credit: waiting for input (`1 - busy - backpressure`).
   */
  idleRatio: number;
  /** Epoch ms; null before the first watermark. */
  inputWatermark: number | null;
  /**
   * How far the input watermark trails the TaskManager's clock when it
   * sampled (ms); null without a watermark, or with the final one.
   */
  watermarkLagMs: number | null;
  /** Epoch ms when the JobManager received the sample. */
  receivedAt: number;
  /** User metrics of the subtask's operators (counters, gauges, meters, histograms). */
  user: UserMetricSample[];
  /** An aligned source (`withWatermarkAlignment`): how often and how long it paused for its group. */
  watermarkAlignment?: { pauses: number; pausedMs: number };
  /**
   * Connector metrics of the subtask's sources and sinks (records and bytes
   * read or written, Kafka consumer lag per partition as `lag.<topic>-<partition>`), when it runs any.
   */
  connector?: Record<string, number>;
}

/** Metrics of a vertex, aggregated over its subtasks. */
export interface VertexMetrics {
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
  recordsInPerSec: number;
  recordsOutPerSec: number;
  bytesInPerSec: number;
  bytesOutPerSec: number;
  /** Max over subtasks. */
  busyRatio: number;
  /** Max over subtasks. */
  backpressureRatio: number;
  /** Lowest input watermark over subtasks (epoch ms), null while any has none. */
  inputWatermark: number | null;
}

/** One second of a vertex's history (`t` is epoch ms, whole seconds). */
export interface VertexMetricsPoint extends VertexMetrics {
  t: number;
}

/** One second of a subtask's history (`t` is epoch ms, whole seconds): where its time went, and its watermark. */
export interface SubtaskHealthPoint {
  t: number;
  busyRatio: number;
  backpressureRatio: number;
  idleRatio: number;
  inputWatermark: number | null;
  watermarkLagMs: number | null;
}

/** What `jobs.get` and `jobs.metrics` read a job's metrics from: the live store, or an archived snapshot. */
export interface JobMetricsSource {
  subtask(jobId: string, vertexId: string, subtaskIndex: number): SubtaskMetrics | null;
  vertex(jobId: string, vertexId: string): VertexMetrics;
  history(jobId: string): Record<string, VertexMetricsPoint[]>;
  /** The job's accumulators, merged over its subtasks. */
  accumulators(jobId: string): Record<string, AccumulatorResult>;
}

/** A job's metrics as stored when it leaves memory (the `jobs.metrics` column). */
export interface MetricsSnapshot {
  /** `vertexId#subtask` -> its last metrics. */
  subtasks: Record<string, SubtaskMetrics & { vertexId: string }>;
  history: Record<string, VertexMetricsPoint[]>;
  /** The accumulators as they ended (absent in snapshots written before accumulators existed). */
  accumulators?: Record<string, AccumulatorResult>;
}

interface SubtaskEntry {
  sample: SubtaskMetricsSample;
  metrics: SubtaskMetrics;
}

const ZERO: VertexMetrics = {
  recordsIn: 0,
  recordsOut: 0,
  bytesIn: 0,
  bytesOut: 0,
  recordsInPerSec: 0,
  recordsOutPerSec: 0,
  bytesInPerSec: 0,
  bytesOutPerSec: 0,
  busyRatio: 0,
  backpressureRatio: 0,
  inputWatermark: null,
};

/** What {@link SubtaskMetrics.watermarkLagMs} says of a watermark sampled at `at`. */
function watermarkLag(watermark: number | null, at: number): number | null {
  // The final watermark (+Infinity, or Long.MAX_VALUE from a Flink-style source) trails nothing.
  if (watermark === null || !Number.isFinite(watermark) || watermark >= Number.MAX_SAFE_INTEGER) return null;
  return Math.max(0, at - watermark);
}

const rate = (now: number, before: number, dtMs: number): number =>
  dtMs > 0 && now >= before ? ((now - before) * 1000) / dtMs : 0;

/** Metrics of the jobs in this JobManager's memory. */
export class MetricsStore implements JobMetricsSource {
  /** jobId -> `vertexId#subtask` -> latest. */
  readonly #latest = new Map<string, Map<string, SubtaskEntry>>();
  /** jobId -> vertexId -> points, oldest first. */
  readonly #history = new Map<string, Map<string, VertexMetricsPoint[]>>();
  /** jobId -> `vertexId#subtask` -> points, oldest first (at most {@link METRICS_HISTORY_SECONDS}). */
  readonly #subtaskHistory = new Map<string, Map<string, SubtaskHealthPoint[]>>();
  readonly #throughput: { t: number; recordsPerSec: number }[] = [];
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Takes one sample; returns false when it is older than the one held. */
  ingest(sample: SubtaskMetricsSample): boolean {
    let job = this.#latest.get(sample.jobId);
    if (job === undefined) this.#latest.set(sample.jobId, (job = new Map<string, SubtaskEntry>()));
    const key = `${sample.vertexId}#${sample.subtaskIndex}`;
    const prev = job.get(key);
    // Equal times are a newer sample: a TaskManager sends a subtask's samples in order, and its
    // last one (with the final accumulators) may carry the millisecond of the one before.
    if (prev !== undefined && prev.sample.attempt === sample.attempt && prev.sample.at > sample.at)
      return false;
    const base = prev !== undefined && prev.sample.attempt === sample.attempt ? prev.sample : undefined;
    const dt = base === undefined ? 0 : sample.at - base.at;
    job.set(key, {
      sample,
      metrics: {
        recordsIn: sample.recordsIn,
        recordsOut: sample.recordsOut,
        bytesIn: sample.bytesIn,
        bytesOut: sample.bytesOut,
        recordsInPerSec: base ? rate(sample.recordsIn, base.recordsIn, dt) : 0,
        recordsOutPerSec: base ? rate(sample.recordsOut, base.recordsOut, dt) : 0,
        bytesInPerSec: base ? rate(sample.bytesIn, base.bytesIn, dt) : 0,
        bytesOutPerSec: base ? rate(sample.bytesOut, base.bytesOut, dt) : 0,
        busyRatio: sample.busyRatio,
        backpressureRatio: sample.backpressureRatio,
        idleRatio: Math.max(0, 1 - sample.busyRatio - sample.backpressureRatio),
        inputWatermark: sample.inputWatermark,
        watermarkLagMs: watermarkLag(sample.inputWatermark, sample.at),
        receivedAt: this.#now(),
        user: sample.user ?? [],
        ...(sample.watermarkAlignment === undefined ? {} : { watermarkAlignment: sample.watermarkAlignment }),
        ...(sample.connector === undefined ? {} : { connector: sample.connector }),
      },
    });
    return true;
  }

  /**
   * Folds the latest samples of a job's vertices into this second's history
   * point, and every fresh subtask sample into that subtask's.
   */
  recordSecond(jobId: string, vertexIds: readonly string[]): void {
    const now = this.#now();
    const t = Math.floor(now / 1000) * 1000;
    let subtasks = this.#subtaskHistory.get(jobId);
    if (subtasks === undefined)
      this.#subtaskHistory.set(jobId, (subtasks = new Map<string, SubtaskHealthPoint[]>()));
    for (const [key, { metrics: m }] of this.#latest.get(jobId) ?? []) {
      // A silent subtask (ended, or its TaskManager lost) adds no point: a gap, not a stale value.
      if (now - m.receivedAt > STALE_MS) continue;
      let points = subtasks.get(key);
      if (points === undefined) subtasks.set(key, (points = []));
      const point: SubtaskHealthPoint = {
        t,
        busyRatio: m.busyRatio,
        backpressureRatio: m.backpressureRatio,
        idleRatio: m.idleRatio,
        inputWatermark: m.inputWatermark,
        watermarkLagMs: m.watermarkLagMs,
      };
      if (points.at(-1)?.t === t) points[points.length - 1] = point;
      else points.push(point);
      if (points.length > METRICS_HISTORY_SECONDS) points.splice(0, points.length - METRICS_HISTORY_SECONDS);
    }
    let job = this.#history.get(jobId);
    if (job === undefined) this.#history.set(jobId, (job = new Map<string, VertexMetricsPoint[]>()));
    for (const vertexId of vertexIds) {
      let points = job.get(vertexId);
      if (points === undefined) job.set(vertexId, (points = []));
      const point = { t, ...this.vertex(jobId, vertexId) };
      if (points.at(-1)?.t === t) points[points.length - 1] = point;
      else points.push(point);
      if (points.length > METRICS_HISTORY_SECONDS) points.splice(0, points.length - METRICS_HISTORY_SECONDS);
    }
  }

  /** The latest metrics of one subtask, if it reported any. */
  subtask(jobId: string, vertexId: string, subtaskIndex: number): SubtaskMetrics | null {
    return this.#latest.get(jobId)?.get(`${vertexId}#${subtaskIndex}`)?.metrics ?? null;
  }

  /** A vertex's metrics aggregated over its subtasks (rates only from fresh samples). */
  vertex(jobId: string, vertexId: string): VertexMetrics {
    const job = this.#latest.get(jobId);
    if (job === undefined) return { ...ZERO };
    const now = this.#now();
    const out = { ...ZERO };
    let watermark: number | null = Infinity;
    let any = false;
    for (const entry of job.values()) {
      if (entry.sample.vertexId !== vertexId) continue;
      any = true;
      const m = entry.metrics;
      out.recordsIn += m.recordsIn;
      out.recordsOut += m.recordsOut;
      out.bytesIn += m.bytesIn;
      out.bytesOut += m.bytesOut;
      if (now - m.receivedAt <= STALE_MS) {
        out.recordsInPerSec += m.recordsInPerSec;
        out.recordsOutPerSec += m.recordsOutPerSec;
        out.bytesInPerSec += m.bytesInPerSec;
        out.bytesOutPerSec += m.bytesOutPerSec;
        out.busyRatio = Math.max(out.busyRatio, m.busyRatio);
        out.backpressureRatio = Math.max(out.backpressureRatio, m.backpressureRatio);
      }
      if (m.inputWatermark === null) watermark = null;
      else if (watermark !== null) watermark = Math.min(watermark, m.inputWatermark);
    }
    out.inputWatermark = any && watermark !== null && Number.isFinite(watermark) ? watermark : null;
    return out;
  }

  /**
   * The job's accumulators merged over the latest sample of every subtask
   * (final values once subtasks finished; a restarted subtask's from its new attempt).
   */
  accumulators(jobId: string): Record<string, AccumulatorResult> {
    const parts: Parameters<typeof mergeAccumulators>[0][number][] = [];
    for (const entry of this.#latest.get(jobId)?.values() ?? []) {
      const values = entry.sample.accumulators;
      if (values !== undefined) parts.push(fromSamples(values));
    }
    return mergeAccumulators(parts).results;
  }

  /** The latest sample of every subtask of a job (for the Prometheus endpoint). */
  samples(jobId: string): SubtaskMetricsSample[] {
    return [...(this.#latest.get(jobId)?.values() ?? [])].map((e) => e.sample);
  }

  /** Ids of the jobs with metrics. */
  jobIds(): string[] {
    return [...this.#latest.keys()];
  }

  /** Per-vertex history of a job, oldest first. */
  history(jobId: string): Record<string, VertexMetricsPoint[]> {
    const job = this.#history.get(jobId);
    const out: Record<string, VertexMetricsPoint[]> = {};
    if (job !== undefined) for (const [vertexId, points] of job) out[vertexId] = [...points];
    return out;
  }

  /** The per-second history of one vertex's subtasks, by subtask index, oldest first. */
  subtaskHistory(jobId: string, vertexId: string): Record<number, SubtaskHealthPoint[]> {
    const out: Record<number, SubtaskHealthPoint[]> = {};
    const prefix = `${vertexId}#`;
    for (const [key, points] of this.#subtaskHistory.get(jobId) ?? []) {
      if (key.startsWith(prefix) && /^\d+$/.test(key.slice(prefix.length)))
        out[Number(key.slice(prefix.length))] = [...points];
    }
    return out;
  }

  /** Whether the store holds anything of a job. */
  has(jobId: string): boolean {
    return this.#latest.has(jobId) || this.#history.has(jobId);
  }

  /** A job's metrics, to persist when it leaves memory. */
  snapshot(jobId: string): MetricsSnapshot {
    const subtasks: MetricsSnapshot['subtasks'] = {};
    for (const [key, entry] of this.#latest.get(jobId) ?? [])
      subtasks[key] = { ...entry.metrics, vertexId: entry.sample.vertexId };
    return { subtasks, history: this.history(jobId), accumulators: this.accumulators(jobId) };
  }

  /** Drops a job's metrics (after {@link MetricsStore.snapshot} was persisted). */
  forget(jobId: string): void {
    this.#latest.delete(jobId);
    this.#history.delete(jobId);
    this.#subtaskHistory.delete(jobId);
  }

  /** Appends this second's cluster throughput (the caller sums source out-rates). */
  recordThroughput(recordsPerSec: number): void {
    const t = Math.floor(this.#now() / 1000) * 1000;
    if (this.#throughput.at(-1)?.t === t)
      this.#throughput[this.#throughput.length - 1] = { t, recordsPerSec };
    else this.#throughput.push({ t, recordsPerSec });
    if (this.#throughput.length > METRICS_HISTORY_SECONDS)
      this.#throughput.splice(0, this.#throughput.length - METRICS_HISTORY_SECONDS);
  }

  /** The cluster's throughput history. */
  throughput(): { recordsPerSec: number; history: { t: number; recordsPerSec: number }[] } {
    return { recordsPerSec: this.#throughput.at(-1)?.recordsPerSec ?? 0, history: [...this.#throughput] };
  }
}

/**
 * The metrics of a job that left memory, from its snapshot (or none, for a
 * job that never reported any): counters as they ended, rates zero.
 */
export function archivedMetrics(snapshot: MetricsSnapshot | null): JobMetricsSource {
  const subtasks = snapshot?.subtasks ?? {};
  return {
    subtask: (_jobId, vertexId, subtaskIndex) => {
      const m = subtasks[`${vertexId}#${subtaskIndex}`];
      if (m === undefined) return null;
      const { vertexId: _v, ...metrics } = m;
      // Snapshots written before these figures existed lack them.
      const legacy: Partial<SubtaskMetrics> = m;
      return { ...metrics, idleRatio: legacy.idleRatio ?? 0, watermarkLagMs: legacy.watermarkLagMs ?? null };
    },
    vertex: (_jobId, vertexId) => {
      const out = { ...ZERO };
      let watermark: number | null = Infinity;
      let any = false;
      for (const m of Object.values(subtasks)) {
        if (m.vertexId !== vertexId) continue;
        any = true;
        out.recordsIn += m.recordsIn;
        out.recordsOut += m.recordsOut;
        out.bytesIn += m.bytesIn;
        out.bytesOut += m.bytesOut;
        if (m.inputWatermark === null) watermark = null;
        else if (watermark !== null) watermark = Math.min(watermark, m.inputWatermark);
      }
      out.inputWatermark = any && watermark !== null && Number.isFinite(watermark) ? watermark : null;
      return out;
    },
    history: () => snapshot?.history ?? {},
    accumulators: () => snapshot?.accumulators ?? {},
  };
}

/** Accumulator samples as the runtime merges them: a min/max of nothing (null on the wire) is ±Infinity again. */
function fromSamples(
  values: Record<string, AccumulatorValueSample>,
): Parameters<typeof mergeAccumulators>[0][number] {
  const out: Record<string, Parameters<typeof mergeAccumulators>[0][number][string]> = {};
  for (const [name, v] of Object.entries(values)) {
    if (v.kind === 'min') out[name] = { kind: 'min', value: v.value ?? Number.POSITIVE_INFINITY };
    else if (v.kind === 'max') out[name] = { kind: 'max', value: v.value ?? Number.NEGATIVE_INFINITY };
    else out[name] = v;
  }
  return out;
}
