'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { messageOf } from '@/lib/errors';
import { formatAge, formatAgo, formatBytes, formatCpu, formatTime } from '@/lib/format';
import { useTRPC } from '@/lib/trpc';
import { useNow } from '@/lib/use-now';
import { CpuProfilePanel } from './CpuProfilePanel';
import { JobStatusBadge } from './JobStatusBadge';
import { LineChart } from './LineChart';
import { TaskManagerOutput } from './OutputTail';
import { Empty, ErrorState, Loading, StaleBanner } from './StateViews';
import { StatusBadge } from './StatusBadge';

/**
 * Health arrives with heartbeats, which are not pushed to the browser (only
 * status changes are), so this one query refreshes on a short interval.
 */
const REFRESH_MS = 2_000;

/** One TaskManager: liveness, resources, its running subtasks and charts of its health. */
export function TaskManagerView({ id }: { id: string }) {
  const trpc = useTRPC();
  const query = useQuery({ ...trpc.taskManagers.get.queryOptions({ id }), refetchInterval: REFRESH_MS });
  const now = useNow();

  if (query.isPending) return <Loading label="Loading the TaskManager…" />;
  if (query.isError && query.data === undefined) {
    const notFound = query.error.data?.code === 'NOT_FOUND';
    return (
      <ErrorState
        title={notFound ? 'No such TaskManager' : 'Cannot load the TaskManager'}
        message={messageOf(query.error)}
        onRetry={notFound ? undefined : () => void query.refetch()}
      />
    );
  }
  const tm = query.data;
  const history = tm.healthHistory;
  const subtasks = tm.subtasks;
  const health = tm.health;

  return (
    <>
      <div className="job-head">
        <div>
          <h1>
            TaskManager <code>{tm.id.slice(0, 8)}</code> <StatusBadge status={tm.status} />
          </h1>
          <p className="muted">
            <code>{tm.controlAddress}</code> · data port <code>{`${tm.host}:${tm.dataPort}`}</code> · slots{' '}
            {tm.slotsUsed}/{tm.slots} · registered {formatTime(tm.registeredAt, now ?? undefined)} · last
            heartbeat {now === null ? '…' : formatAgo(now - Date.parse(tm.lastHeartbeatAt))}
          </p>
        </div>
        <div className="job-actions">
          <Link href="/taskmanagers" className="button button-secondary">
            All TaskManagers
          </Link>
        </div>
      </div>
      {query.isError ? <StaleBanner>Could not refresh; showing the last known state.</StaleBanner> : null}

      <div className="cards">
        <Stat title="CPU" value={formatCpu(health?.cpu)} note="of one core" />
        <Stat title="Heap" value={formatBytes(health?.heapUsed)} note={`RSS ${formatBytes(health?.rss)}`} />
        <Stat
          title="Event-loop delay"
          value={health ? `${health.eventLoopDelayMs.toFixed(1)} ms` : '–'}
          note="p99 since the last heartbeat"
        />
        <Stat
          title="Uptime"
          value={health ? formatAge(health.uptimeSec * 1000) : '–'}
          note="of the process"
        />
      </div>

      <section className="panel" aria-labelledby="tm-subtasks">
        <h2 id="tm-subtasks" className="panel-title">
          Running subtasks
        </h2>
        {subtasks.length === 0 ? (
          <Empty title="No subtasks running">
            <p>Its {tm.slots} slots are free. Subtasks appear here when a job is scheduled on it.</p>
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Vertex</th>
                  <th scope="col" className="num">
                    Subtask
                  </th>
                  <th scope="col" className="num">
                    Attempt
                  </th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Slot
                  </th>
                </tr>
              </thead>
              <tbody>
                {subtasks.map((s) => (
                  <tr
                    key={`${s.jobId}-${s.vertexId}-${s.subtaskIndex}-${s.attempt}`}
                    data-testid="tm-subtask-row"
                  >
                    <th scope="row">
                      <Link href={`/jobs/${encodeURIComponent(s.jobId)}`}>{s.jobName}</Link>
                    </th>
                    <td>{s.vertexName}</td>
                    <td className="num">{s.subtaskIndex}</td>
                    <td className="num">{s.attempt}</td>
                    <td>
                      <JobStatusBadge status={s.state} />
                    </td>
                    <td className="num">{s.slotIndex ?? '–'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <TaskManagerOutputTabs id={tm.id} />
      <CpuProfilePanel taskManagerId={tm.id} />
      <section className="panel" aria-labelledby="tm-charts">
        <h2 id="tm-charts" className="panel-title">
          Health over the last minutes
        </h2>
        <div className="charts">
          <LineChart
            showTitle
            title="CPU, share of one core"
            series={[
              { label: 'CPU', color: 'var(--accent)', points: history.map((p) => ({ t: p.t, v: p.cpu })) },
            ]}
            format={formatCpu}
            maxY={1}
          />
          <LineChart
            showTitle
            title="Memory"
            series={[
              {
                label: 'Heap',
                color: 'var(--accent)',
                points: history.map((p) => ({ t: p.t, v: p.heapUsed })),
              },
              { label: 'RSS', color: 'var(--late)', points: history.map((p) => ({ t: p.t, v: p.rss })) },
            ]}
            format={formatBytes}
          />
          <LineChart
            showTitle
            title="Event-loop delay"
            series={[
              {
                label: 'p99 delay',
                color: 'var(--lost)',
                points: history.map((p) => ({ t: p.t, v: p.eventLoopDelayMs })),
              },
            ]}
            format={(v) => `${v.toFixed(v < 10 ? 1 : 0)} ms`}
          />
          <LineChart
            showTitle
            title="Slots in use"
            series={[
              {
                label: 'Slots used',
                color: 'var(--ok)',
                points: history.map((p) => ({ t: p.t, v: p.slotsUsed })),
              },
            ]}
            format={(v) => v.toFixed(0)}
            maxY={tm.slots}
          />
        </div>
      </section>
    </>
  );
}

/** The TaskManager's Stdout and Logs, as tabs (only the open one is polled). */
function TaskManagerOutputTabs({ id }: { id: string }) {
  const [tab, setTab] = useState<'stdout' | 'log'>('stdout');
  const labels = { stdout: 'Stdout', log: 'Logs' } as const;
  return (
    <section className="panel" aria-label="TaskManager output">
      <div role="tablist" aria-label="TaskManager output" className="tabs">
        {(['stdout', 'log'] as const).map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            id={`tm-tab-${t}`}
            aria-selected={tab === t}
            aria-controls={`tm-panel-${t}`}
            className="tab"
            onClick={() => {
              setTab(t);
            }}
          >
            {labels[t]}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`tm-panel-${tab}`} aria-labelledby={`tm-tab-${tab}`} className="tab-panel">
        <TaskManagerOutput key={tab} id={id} stream={tab} />
      </div>
    </section>
  );
}

function Stat({ title, value, note }: { title: string; value: string; note: string }) {
  return (
    <section className="card" aria-label={title}>
      <h2 className="card-title">{title}</h2>
      <p className="card-value card-value-text">{value}</p>
      <div className="card-meta">{note}</div>
    </section>
  );
}
