'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { formatAge, formatAgo, formatBytes, formatCpu } from '@/lib/format';
import { useTRPC, type TaskManagerInfo } from '@/lib/trpc';
import { useNow } from '@/lib/use-now';
import { Empty, ErrorState, Loading, StaleBanner } from './StateViews';
import { StatusBadge } from './StatusBadge';

/**
 * Heartbeat timestamps change without a cluster update (only status changes
 * are pushed), so the list refreshes on this interval too.
 */
const REFRESH_MS = 5_000;

/** Every registered TaskManager, newest first, with live status and heartbeat age. */
export function TaskManagersView() {
  const trpc = useTRPC();
  const list = useQuery({ ...trpc.taskManagers.list.queryOptions(), refetchInterval: REFRESH_MS });

  if (list.isPending) return <Loading label="Loading TaskManagers…" />;
  if (list.isError && list.data === undefined) {
    return (
      <ErrorState
        title="Cannot reach the JobManager"
        message={list.error.message}
        onRetry={() => void list.refetch()}
      />
    );
  }
  if (list.data.length === 0) {
    return (
      <Empty title="No TaskManagers yet">
        <p>
          Start one with{' '}
          <code>node apps/taskmanager/dist/bin.js --jobmanager http://127.0.0.1:8081 --slots 2</code>; it
          appears here as soon as it registers.
        </p>
      </Empty>
    );
  }
  return (
    <>
      {list.isError ? (
        <StaleBanner>Lost the connection to the JobManager; showing the last known list.</StaleBanner>
      ) : null}
      <TaskManagerTable rows={list.data} />
    </>
  );
}

function TaskManagerTable({ rows }: { rows: TaskManagerInfo[] }) {
  const now = useNow();
  const live = rows.filter((tm) => tm.status === 'OK' || tm.status === 'LATE').length;
  return (
    <div className="table-wrap">
      <table className="table">
        <caption>
          {live} of {rows.length} TaskManagers live
        </caption>
        <thead>
          <tr>
            <th scope="col">TaskManager</th>
            <th scope="col">Address</th>
            <th scope="col" className="num">
              Slots
            </th>
            <th scope="col" className="num">
              Last heartbeat
            </th>
            <th scope="col">Status</th>
            <th scope="col" className="num">
              CPU
            </th>
            <th scope="col" className="num">
              Heap
            </th>
            <th scope="col" className="num">
              Event-loop delay
            </th>
            <th scope="col" className="num">
              Uptime
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((tm) => (
            <tr key={tm.id} data-testid="taskmanager-row" data-status={tm.status}>
              <th scope="row">
                <Link href={`/taskmanagers/${encodeURIComponent(tm.id)}`} aria-label={`TaskManager ${tm.id}`}>
                  <code title={tm.id}>{tm.id.slice(0, 8)}</code>
                </Link>
              </th>
              <td>
                <code>{tm.controlAddress}</code>
                {tm.controlAddress === `${tm.host}:${tm.dataPort}` ? null : (
                  <span className="muted">
                    {' '}
                    · data <code>{`${tm.host}:${tm.dataPort}`}</code>
                  </span>
                )}
              </td>
              <td className="num">
                {tm.slotsUsed}/{tm.slots}
              </td>
              <td className="num">
                {tm.lastHeartbeatAt === null
                  ? 'never'
                  : now === null
                    ? '…'
                    : formatAgo(now - Date.parse(tm.lastHeartbeatAt))}
              </td>
              <td>
                <StatusBadge status={tm.status} />
              </td>
              <td className="num">{tm.health ? formatCpu(tm.health.cpu) : '–'}</td>
              <td className="num">{tm.health ? formatBytes(tm.health.heapUsed) : '–'}</td>
              <td className="num">{tm.health ? `${tm.health.eventLoopDelayMs.toFixed(1)} ms` : '–'}</td>
              <td className="num">{tm.health ? formatAge(tm.health.uptimeSec * 1000) : '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
