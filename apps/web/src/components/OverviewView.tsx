'use client';

import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { formatAge, formatRate, plural } from '@/lib/format';
import { useTRPC, type ClusterOverview } from '@/lib/trpc';
import { useNow } from '@/lib/use-now';
import { useLiveStatus } from './LiveCluster';
import { LineChart } from './LineChart';
import { OverviewJobs } from './OverviewJobs';
import { ErrorState, Loading, StaleBanner } from './StateViews';

const DATABASE_LABELS: Record<ClusterOverview['jobManager']['database'], string> = {
  pglite: 'Embedded PGlite',
  postgres: 'PostgreSQL',
};

/** The cluster at a glance, kept current by the `cluster.onUpdate` subscription. */
export function OverviewView() {
  const trpc = useTRPC();
  const overview = useQuery(trpc.cluster.overview.queryOptions());
  const live = useLiveStatus();

  if (overview.isPending) return <Loading label="Loading the cluster overview…" />;
  if (overview.isError && overview.data === undefined) {
    return (
      <ErrorState
        title="Cannot reach the JobManager"
        message={overview.error.message}
        onRetry={() => void overview.refetch()}
      />
    );
  }
  return (
    <>
      {overview.isError || live === 'reconnecting' || live === 'offline' ? (
        <StaleBanner>
          Lost the connection to the JobManager; showing the last known state while reconnecting.
        </StaleBanner>
      ) : null}
      <OverviewCards overview={overview.data} />
      <OverviewJobs />
    </>
  );
}

function OverviewCards({ overview }: { overview: ClusterOverview }) {
  const { taskManagers, slots, jobs, jobManager } = overview;
  const { OK: ok, LATE: late, LOST: lost } = taskManagers.byStatus;
  const usedSlots = slots.total - slots.free;
  const main = ['RUNNING', 'FINISHED', 'FAILED', 'CANCELED'];
  const jobStates: [string, number][] = [
    ...main.map((s): [string, number] => [s, jobs.byStatus[s] ?? 0]),
    ...Object.entries(jobs.byStatus).filter(([s, n]) => n > 0 && !main.includes(s)),
  ];
  const now = useNow();
  const { throughput } = overview;
  return (
    <>
      <div className="cards">
        <Card id="taskmanagers" title="TaskManagers" value={ok + late} unit="live">
          <span>
            {ok} OK · {late} LATE · {lost} LOST
          </span>
        </Card>
        <Card id="slots" title="Slots" value={slots.total} unit="total">
          <span>
            {slots.free} free · {usedSlots} in use
          </span>
          <meter
            className="meter"
            min={0}
            max={Math.max(slots.total, 1)}
            value={usedSlots}
            aria-label={`${usedSlots} of ${plural(slots.total, 'slot')} in use`}
          />
        </Card>
        <Card id="jobs" title="Jobs" value={jobs.total} unit="total">
          <ul className="chips" aria-label="Jobs by state">
            {jobStates.map(([state, n]) => (
              <li key={state} className="chip" data-testid={`jobs-${state}`}>
                {state} <strong>{n}</strong>
              </li>
            ))}
          </ul>
        </Card>
        <Card id="jobmanager" title="JobManager" value={DATABASE_LABELS[jobManager.database]} unit="database">
          <span>
            v{jobManager.version} · up{' '}
            {now === null ? '…' : formatAge(now - Date.parse(jobManager.startedAt))} · LOST after{' '}
            {formatAge(jobManager.heartbeatTimeoutMs)} silent
          </span>
        </Card>
      </div>
      <section className="panel" aria-labelledby="throughput-title">
        <h2 id="throughput-title" className="panel-title">
          Throughput{' '}
          <span className="muted small">
            · records per second the running jobs&apos; sources emit, each record counted once · now{' '}
            <strong data-testid="throughput-now">{formatRate(throughput.recordsPerSec)}</strong>/s
          </span>
        </h2>
        <LineChart
          title="Cluster throughput, records per second"
          series={[
            {
              label: 'records/s',
              color: 'var(--accent)',
              points: throughput.history.map((p) => ({ t: p.t, v: p.recordsPerSec })),
            },
          ]}
          format={formatRate}
        />
      </section>
    </>
  );
}

function Card({
  id,
  title,
  value,
  unit,
  children,
}: {
  id: string;
  title: string;
  value: number | string;
  unit: string;
  children: ReactNode;
}) {
  return (
    <section className="card" aria-labelledby={`card-${id}`} data-testid={`card-${id}`}>
      <h2 id={`card-${id}`} className="card-title">
        {title}
      </h2>
      <p className={typeof value === 'number' ? 'card-value' : 'card-value card-value-text'}>
        <span data-testid={`card-${id}-value`}>{value}</span> <span className="card-unit">{unit}</span>
      </p>
      <div className="card-meta">{children}</div>
    </section>
  );
}
