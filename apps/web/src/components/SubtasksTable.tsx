import Link from 'next/link';
import type { SubtaskView } from '@/lib/api-shapes';
import { formatBytes, formatCount, formatDuration, formatPercent, formatWatermark } from '@/lib/format';
import { JobStatusBadge } from './JobStatusBadge';
import { Empty } from './StateViews';

/** Every attempt of a vertex's subtasks: where it runs, its state and its figures; `marked` (a subtask index) stands out. */
export function SubtasksTable({
  subtasks,
  now,
  marked,
}: {
  subtasks: readonly SubtaskView[];
  now: number | null;
  marked?: number | undefined;
}) {
  if (subtasks.length === 0) {
    return (
      <Empty title="No subtasks yet">
        <p>They appear once the JobManager has scheduled the vertex.</p>
      </Empty>
    );
  }
  const rows = [...subtasks].sort((a, b) => a.subtaskIndex - b.subtaskIndex || b.attempt - a.attempt);
  return (
    <div className="table-wrap">
      <table className="table table-compact">
        <thead>
          <tr>
            <th scope="col" className="num">
              Subtask
            </th>
            <th scope="col">Status</th>
            <th scope="col">TaskManager</th>
            <th scope="col" className="num">
              Attempt
            </th>
            <th scope="col" className="num">
              Records in / out
            </th>
            <th
              scope="col"
              className="num"
              title="Bytes serialized onto the network or between slots. Records passed to a consumer in the same slot travel as objects and add no bytes."
            >
              Bytes in / out (serialized)
            </th>
            <th scope="col" className="num">
              Backpressure
            </th>
            <th scope="col" className="num">
              Watermark
            </th>
            <th scope="col" className="num">
              Duration
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => (
            <tr
              key={s.executionId}
              data-testid="subtask-row"
              data-state={s.state}
              data-subtask={s.subtaskIndex}
              data-marked={s.subtaskIndex === marked || undefined}
              aria-current={s.subtaskIndex === marked ? 'true' : undefined}
            >
              <th scope="row" className="num">
                {s.subtaskIndex}
              </th>
              <td>
                <JobStatusBadge status={s.state} />
              </td>
              <td>
                {s.taskManager ? (
                  <Link href={`/taskmanagers/${encodeURIComponent(s.taskManager.id)}`}>
                    <code title={s.taskManager.id}>{s.taskManager.address}</code>
                  </Link>
                ) : (
                  <span className="muted">unassigned</span>
                )}
              </td>
              <td className="num">{s.attempt}</td>
              <td className="num">
                {formatCount(s.metrics?.recordsIn)} / {formatCount(s.metrics?.recordsOut)}
              </td>
              <td className="num">
                {serialized(s.metrics?.bytesIn, s.metrics?.recordsIn)} /{' '}
                {serialized(s.metrics?.bytesOut, s.metrics?.recordsOut)}
              </td>
              <td className="num">{formatPercent(s.metrics?.backpressureRatio)}</td>
              <td className="num">{formatWatermark(s.metrics?.inputWatermark)}</td>
              <td className="num">{formatDuration(s.startedAt ?? s.deployedAt, s.endedAt, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Bytes of a subtask's exchanges: only serialized channels count bytes, so
 * records that all went to (or came from) a subtask in the same slot show
 * as passed in memory rather than as 0 B beside a sibling's kilobytes.
 */
function serialized(bytes: number | undefined, records: number | undefined) {
  if (bytes === 0 && records !== undefined && records > 0) {
    return (
      <span className="muted" title="Passed as objects within the slot: nothing was serialized">
        in memory
      </span>
    );
  }
  return formatBytes(bytes);
}
