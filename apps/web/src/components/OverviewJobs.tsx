'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import type { ReactNode } from 'react';
import type { JobList, JobSummary } from '@/lib/api-shapes';
import { messageOf } from '@/lib/errors';
import { formatDuration, formatRate, formatTime } from '@/lib/format';
import { ACTIVE_JOB_STATUSES, TERMINAL_JOB_STATUSES, taskProgress } from '@/lib/jobs';
import { canAct, useSession } from '@/lib/session-client';
import { useTRPC } from '@/lib/trpc';
import { useNow } from '@/lib/use-now';
import { JobStatusBadge } from './JobStatusBadge';
import { ErrorState, Loading } from './StateViews';

/** Ended jobs the overview lists (the Jobs page has them all). */
const RECENT_LIMIT = 10;

/**
 * The overview's job tables, as on Flink's front page: every job not yet
 * ended, with its sources' rate, and the most recently ended ones. Both
 * follow `cluster.onUpdate` (it invalidates `jobs.list`).
 */
export function OverviewJobs() {
  const trpc = useTRPC();
  const running = useQuery(trpc.jobs.list.queryOptions({ status: [...ACTIVE_JOB_STATUSES], limit: 100 }));
  const ended = useQuery(
    trpc.jobs.list.queryOptions({
      status: [...TERMINAL_JOB_STATUSES],
      limit: RECENT_LIMIT,
      orderBy: 'ended',
    }),
  );
  const now = useNow();
  // A viewer cannot submit: no link to a page that would refuse them.
  const mayRun = canAct(useSession()?.role, 'developer');
  return (
    <>
      <JobsPanel
        kind="running"
        title="Running jobs"
        what="running jobs"
        query={running}
        now={now}
        empty={
          mayRun ? (
            <>
              No job is running. <Link href="/submit">Submit a program</Link> to start one.
            </>
          ) : (
            'No job is running.'
          )
        }
      />
      <JobsPanel
        kind="ended"
        title={
          <>
            Recently finished, failed or cancelled{' '}
            <span className="muted small">
              · the last {RECENT_LIMIT} · <Link href="/jobs">all jobs</Link>
            </span>
          </>
        }
        what="ended jobs"
        query={ended}
        now={now}
        empty="No job has ended yet."
      />
    </>
  );
}

/** One of the overview's job tables, with its loading, error and empty states. */
function JobsPanel({
  kind,
  title,
  what,
  query,
  now,
  empty,
}: {
  kind: 'running' | 'ended';
  title: ReactNode;
  what: string;
  query: { isPending: boolean; data: JobList | undefined; error: unknown; refetch: () => Promise<unknown> };
  now: number | null;
  empty: ReactNode;
}) {
  return (
    <section className="panel" aria-labelledby={`${kind}-jobs-title`} data-testid={`overview-${kind}`}>
      <h2 id={`${kind}-jobs-title`} className="panel-title">
        {title}
      </h2>
      {query.isPending ? (
        <Loading label={`Loading the ${what}…`} />
      ) : query.data === undefined ? (
        <ErrorState
          title={`Cannot load the ${what}`}
          message={messageOf(query.error)}
          onRetry={() => void query.refetch()}
        />
      ) : query.data.jobs.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <JobTable jobs={query.data.jobs} now={now} kind={kind} />
      )}
    </section>
  );
}

function JobTable({
  jobs,
  now,
  kind,
}: {
  jobs: readonly JobSummary[];
  now: number | null;
  kind: 'running' | 'ended';
}) {
  return (
    <div className="table-wrap">
      <table className="table table-compact" aria-label={kind === 'running' ? 'Running jobs' : 'Ended jobs'}>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Job id</th>
            <th scope="col">Status</th>
            <th scope="col">Started</th>
            {kind === 'ended' ? <th scope="col">Ended</th> : null}
            <th scope="col" className="num">
              Duration
            </th>
            <th scope="col" className="num">
              Parallelism
            </th>
            <th scope="col" className="num">
              Tasks
            </th>
            {kind === 'running' ? (
              <th scope="col" className="num">
                Source records/s
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => {
            const tasks = taskProgress(job.tasks);
            return (
              <tr
                key={job.id}
                data-testid={`overview-${kind}-job`}
                data-job-id={job.id}
                data-status={job.status}
              >
                <th scope="row">
                  <Link href={`/jobs/${encodeURIComponent(job.id)}`}>{job.name}</Link>
                </th>
                <td>
                  <code title={job.id}>{job.id.slice(0, 8)}</code>
                </td>
                <td>
                  <JobStatusBadge status={job.status} />
                </td>
                <td>{formatTime(job.startedAt ?? job.createdAt, now ?? undefined)}</td>
                {kind === 'ended' ? <td>{formatTime(job.endedAt, now ?? undefined)}</td> : null}
                <td className="num">{formatDuration(job.startedAt ?? job.createdAt, job.endedAt, now)}</td>
                <td className="num">{job.parallelism}</td>
                <td
                  className="num"
                  title={`${tasks.running} running, ${tasks.finished} finished of ${tasks.total}`}
                >
                  {kind === 'running' ? `${tasks.running}/${tasks.total}` : tasks.total}
                </td>
                {kind === 'running' ? (
                  <td className="num" data-testid="overview-job-rate">
                    {job.sourceRecordsPerSec === null ? '–' : formatRate(job.sourceRecordsPerSec)}
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
