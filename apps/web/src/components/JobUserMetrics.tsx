import type { JobDetails } from '@/lib/api-shapes';
import { formatCount, formatRate } from '@/lib/format';
import { ConnectorMetrics } from './ConnectorMetrics';
import { Empty } from './StateViews';

type UserMetric = NonNullable<JobDetails['subtasks'][number]['metrics']>['user'][number];

/** A number as the metrics table shows it: whole numbers plainly, others with up to 3 decimals. */
function num(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return Number.isInteger(n)
    ? n.toLocaleString('en-US')
    : n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

/** The value column of one user metric. */
function metricValue(m: UserMetric): string {
  switch (m.type) {
    case 'counter':
    case 'gauge':
      return num(m.value);
    case 'meter':
      return `${num(m.count)} events · ${formatRate(m.rate)}/s`;
    case 'histogram':
      return `n ${formatCount(m.count)} · min ${num(m.min)} · p50 ${num(m.p50)} · p95 ${num(m.p95)} · p99 ${num(m.p99)} · max ${num(m.max)}`;
  }
}

/** An accumulator's merged result: a number, a list, or a histogram (value → count). */
function accumulatorValue(value: JobDetails['accumulators'][string]): string {
  if (typeof value === 'number') return num(value);
  if (Array.isArray(value)) {
    const shown = value.slice(0, 20).map((v) => JSON.stringify(v));
    return `[${shown.join(', ')}${value.length > 20 ? `, … ${value.length - 20} more` : ''}] (${value.length})`;
  }
  return Object.entries(value)
    .map(([k, n]) => `${k}: ${num(n)}`)
    .join(' · ');
}

/**
 * The job's accumulators (merged over its subtasks by name) and the user
 * metrics every subtask's operators registered, as `jobs.get` reports them
 * (live while the job runs, final once it ended), then the connectors' figures.
 */
export function JobUserMetrics({ detail }: { detail: JobDetails }) {
  const accumulators = Object.entries(detail.accumulators).sort(([a], [b]) => a.localeCompare(b));
  const rows = detail.subtasks
    .flatMap((s) =>
      (s.metrics?.user ?? []).map((m) => ({
        key: `${s.executionId}#${m.scope.join('.')}#${m.name}`,
        vertex: s.vertexName,
        subtask: s.subtaskIndex,
        operator: m.scope[0] ?? '',
        name: [...m.scope.slice(1), m.name].join('.'),
        metric: m,
      })),
    )
    .sort(
      (a, b) => a.operator.localeCompare(b.operator) || a.name.localeCompare(b.name) || a.subtask - b.subtask,
    );
  return (
    <div className="job-metrics" data-testid="job-metrics">
      <section aria-label="Accumulators">
        <h3>Accumulators</h3>
        {accumulators.length === 0 ? (
          <p className="muted">
            None: a function adds one with <code>ctx.addAccumulator(name, accumulator)</code> in{' '}
            <code>open</code>.
          </p>
        ) : (
          <div className="table-wrap">
            <table className="table table-compact">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Value (merged over subtasks)</th>
                </tr>
              </thead>
              <tbody>
                {accumulators.map(([name, value]) => (
                  <tr key={name} data-testid="accumulator-row">
                    <th scope="row">
                      <code>{name}</code>
                    </th>
                    <td className="mono" data-testid="accumulator-value">
                      {accumulatorValue(value)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-label="User metrics">
        <h3>User metrics</h3>
        {rows.length === 0 ? (
          <Empty title="No user metrics">
            <p>
              Metrics a function registers on <code>ctx.getMetricGroup()</code> appear here per subtask.
            </p>
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="table table-compact">
              <thead>
                <tr>
                  <th scope="col">Operator</th>
                  <th scope="col">Metric</th>
                  <th scope="col">Type</th>
                  <th scope="col" className="num">
                    Subtask
                  </th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.key} data-testid="user-metric-row" data-metric={r.name}>
                    <td title={r.vertex}>{r.operator}</td>
                    <td>
                      <code>{r.name}</code>
                    </td>
                    <td>{r.metric.type}</td>
                    <td className="num">{r.subtask}</td>
                    <td className="mono" data-testid="user-metric-value">
                      {metricValue(r.metric)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <ConnectorMetrics detail={detail} />
    </div>
  );
}
