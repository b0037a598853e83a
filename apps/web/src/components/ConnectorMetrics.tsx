import type { JobDetails } from '@/lib/api-shapes';
import { formatBytes, formatCount } from '@/lib/format';

type Subtask = JobDetails['subtasks'][number];

/** The figures every connector reports, shown in their own columns; the rest go to "Other". */
const READ = ['recordsRead', 'bytesRead'] as const;
const WRITTEN = ['recordsWritten', 'bytesWritten'] as const;
const SHOWN = new Set<string>([...READ, ...WRITTEN]);

/** One subtask's connector figures, split into the columns of the table. */
function rowOf(s: Subtask, connector: Record<string, number>) {
  const lag: [string, number][] = [];
  const other: [string, number][] = [];
  for (const [name, value] of Object.entries(connector)) {
    if (name.startsWith('lag.')) lag.push([name.slice(4), value]);
    else if (!SHOWN.has(name)) other.push([name, value]);
  }
  lag.sort(([a], [b]) => a.localeCompare(b));
  other.sort(([a], [b]) => a.localeCompare(b));
  return { key: s.executionId, vertex: s.vertexName, subtask: s.subtaskIndex, connector, lag, other };
}

/**
 * The connector metrics of the job's source and sink subtasks (records and
 * bytes read or written, Kafka consumer lag per partition), as `jobs.get`
 * reports them; nothing when no subtask runs a connector.
 */
export function ConnectorMetrics({ detail }: { detail: JobDetails }) {
  const rows = detail.subtasks
    .flatMap((s) => (s.metrics?.connector === undefined ? [] : [rowOf(s, s.metrics.connector)]))
    .sort((a, b) => a.vertex.localeCompare(b.vertex) || a.subtask - b.subtask);
  if (rows.length === 0) return null;
  const figure = (r: (typeof rows)[number], name: string, bytes: boolean) => {
    const v = r.connector[name];
    if (v === undefined) return '–';
    return bytes ? formatBytes(v) : formatCount(v);
  };
  return (
    <section aria-label="Connector metrics">
      <h3>Connectors</h3>
      <div className="table-wrap">
        <table className="table table-compact">
          <thead>
            <tr>
              <th scope="col">Vertex</th>
              <th scope="col" className="num">
                Subtask
              </th>
              <th scope="col" className="num">
                Records read
              </th>
              <th scope="col" className="num">
                Bytes read
              </th>
              <th scope="col" className="num">
                Records written
              </th>
              <th scope="col" className="num">
                Bytes written
              </th>
              <th scope="col">Consumer lag (records)</th>
              <th scope="col">Other</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key} data-testid="connector-metric-row" data-vertex={r.vertex}>
                <td>{r.vertex}</td>
                <td className="num">{r.subtask}</td>
                <td className="num" data-testid="connector-records-read">
                  {figure(r, 'recordsRead', false)}
                </td>
                <td className="num">{figure(r, 'bytesRead', true)}</td>
                <td className="num" data-testid="connector-records-written">
                  {figure(r, 'recordsWritten', false)}
                </td>
                <td className="num">{figure(r, 'bytesWritten', true)}</td>
                <td className="mono" data-testid="connector-lag">
                  {r.lag.length === 0 ? '–' : r.lag.map(([p, n]) => `${p}: ${formatCount(n)}`).join(' · ')}
                </td>
                <td className="mono">
                  {r.other.length === 0 ? '–' : r.other.map(([k, n]) => `${k} ${formatCount(n)}`).join(' · ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
