/**
 * Prometheus exposition of subtask metrics (system and user), shared by the
 * JobManager's and the TaskManagers' `/metrics` endpoints. Built on
 * prom-client: process metrics (CPU, memory, event loop, GC) come from its
 * default collectors, registered once per process; the subtasks' metrics are
 * written into a fresh registry at every scrape from the latest samples, so
 * subtasks that ended disappear with their samples.
 *
 * Names follow Prometheus conventions (`freshet_subtask_records_in_total`);
 * labels name the job, the vertex and the subtask. A user metric is
 * `freshet_user_<group>_<name>` with the operator as a label (Flink's
 * Prometheus reporter's shape): a counter or gauge is a gauge, a meter two
 * gauges (`_count`, `_rate`), a histogram a summary-shaped set of gauges
 * with `quantile` labels plus `_count`.
 */
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { UserMetricSample } from './user-metrics.js';

/** What the exposition reads of a subtask's latest metrics sample (the protocol's sample fits). */
export interface PrometheusSubtaskSample {
  jobId: string;
  vertexId: string;
  subtaskIndex: number;
  recordsIn: number;
  recordsOut: number;
  bytesIn: number;
  bytesOut: number;
  busyRatio: number;
  backpressureRatio: number;
  inputWatermark: number | null;
  user?: readonly UserMetricSample[];
}

/** Names for a subtask's labels. */
export interface PrometheusNames {
  /** Job name by id (a label beside the id). */
  jobName?: (jobId: string) => string | undefined;
  /** Vertex name by job and vertex id. */
  vertexName?: (jobId: string, vertexId: string) => string | undefined;
}

/** The content type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

const LABELS = ['job_id', 'job_name', 'vertex_id', 'vertex_name', 'subtask'] as const;
type Labels = Record<(typeof LABELS)[number], string>;

const SYSTEM: readonly { name: string; help: string; read: (s: PrometheusSubtaskSample) => number | null }[] =
  [
    {
      name: 'freshet_subtask_records_in_total',
      help: 'Records the subtask took from its inputs (sources: emitted)',
      read: (s) => s.recordsIn,
    },
    {
      name: 'freshet_subtask_records_out_total',
      help: 'Records the subtask wrote to its output edges',
      read: (s) => s.recordsOut,
    },
    {
      name: 'freshet_subtask_bytes_in_total',
      help: 'Bytes the subtask received from other slots',
      read: (s) => s.bytesIn,
    },
    {
      name: 'freshet_subtask_bytes_out_total',
      help: 'Bytes the subtask sent to other slots',
      read: (s) => s.bytesOut,
    },
    {
      name: 'freshet_subtask_busy_ratio',
      help: 'Share of time spent processing (0..1)',
      read: (s) => s.busyRatio,
    },
    {
      name: 'freshet_subtask_backpressure_ratio',
      help: 'Share of time blocked on credit (0..1)',
      read: (s) => s.backpressureRatio,
    },
    {
      name: 'freshet_subtask_input_watermark_ms',
      help: 'Combined input watermark, epoch ms',
      read: (s) => s.inputWatermark,
    },
  ];

const QUANTILES = [
  ['0.5', 'p50'],
  ['0.75', 'p75'],
  ['0.95', 'p95'],
  ['0.98', 'p98'],
  ['0.99', 'p99'],
  ['0.999', 'p999'],
] as const;

/** A Prometheus metric name part: letters, digits and `_`. */
function sanitize(part: string): string {
  const s = part.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** The process's default metrics, registered once. */
let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'freshet_' });
  }
  return processRegistry;
}

/** Gauges of one scrape, created on first use (a name used with other labels is skipped). */
class ScrapeGauges {
  readonly registry = new Registry();
  private readonly gauges = new Map<string, { gauge: Gauge; labels: string }>();

  set(
    name: string,
    help: string,
    labelNames: readonly string[],
    labels: Record<string, string>,
    value: number,
  ): void {
    const key = labelNames.join(',');
    let entry = this.gauges.get(name);
    if (entry === undefined) {
      entry = {
        gauge: new Gauge({ name, help, labelNames: [...labelNames], registers: [this.registry] }),
        labels: key,
      };
      this.gauges.set(name, entry);
    }
    // Two user metrics of one name but different shapes (a counter here, a histogram there): keep the first.
    if (entry.labels !== key) return;
    entry.gauge.set(labels, value);
  }
}

/**
 * The text exposition of the process's metrics and the given subtasks'
 * (system and user) metrics.
 */
export async function renderPrometheus(
  samples: readonly PrometheusSubtaskSample[],
  names: PrometheusNames = {},
): Promise<string> {
  const scrape = new ScrapeGauges();
  for (const s of samples) {
    const labels: Labels = {
      job_id: s.jobId,
      job_name: names.jobName?.(s.jobId) ?? '',
      vertex_id: s.vertexId,
      vertex_name: names.vertexName?.(s.jobId, s.vertexId) ?? '',
      subtask: String(s.subtaskIndex),
    };
    for (const m of SYSTEM) {
      const v = m.read(s);
      if (v !== null && Number.isFinite(v)) scrape.set(m.name, m.help, LABELS, labels, v);
    }
    for (const u of s.user ?? []) writeUserMetric(scrape, labels, u);
  }
  const merged = Registry.merge([processMetrics(), scrape.registry]);
  return merged.metrics();
}

function writeUserMetric(scrape: ScrapeGauges, subtask: Labels, u: UserMetricSample): void {
  const operator = u.scope[0] ?? '';
  const name = `freshet_user_${[...u.scope.slice(1), u.name].map(sanitize).join('_')}`;
  const labelNames = [...LABELS, 'operator'];
  const labels = { ...subtask, operator };
  const help = `User ${u.type} ${[...u.scope, u.name].join('.')}`;
  switch (u.type) {
    case 'counter':
    case 'gauge':
      scrape.set(name, help, labelNames, labels, u.value);
      return;
    case 'meter':
      scrape.set(`${name}_count`, help, labelNames, labels, u.count);
      scrape.set(`${name}_rate`, `${help} (events per second)`, labelNames, labels, u.rate);
      return;
    case 'histogram': {
      const withQuantile = [...labelNames, 'quantile'];
      for (const [q, field] of QUANTILES)
        scrape.set(name, help, withQuantile, { ...labels, quantile: q }, u[field]);
      scrape.set(`${name}_count`, `${help} (values recorded)`, labelNames, labels, u.count);
      scrape.set(`${name}_min`, `${help} (smallest in the window)`, labelNames, labels, u.min);
      scrape.set(`${name}_max`, `${help} (largest in the window)`, labelNames, labels, u.max);
      return;
    }
  }
}
