'use client';

import Link from 'next/link';
import { useId, useState } from 'react';
import { JOB_STATUSES, type JobStatus } from '@freshet/protocol';
import { messageOf } from '@/lib/errors';
import { formatDuration, formatTime } from '@/lib/format';
import { useJobList } from '@/lib/queries';
import { canAct, useSession } from '@/lib/session-client';
import { useNow } from '@/lib/use-now';
import { JobStatusBadge } from './JobStatusBadge';
import { Empty, ErrorState, Loading, StaleBanner } from './StateViews';

/** Every job, newest first, filterable by status; refreshed whenever the cluster reports a change. */
export function JobsView() {
  const id = useId();
  const [status, setStatus] = useState<JobStatus | ''>('');
  const list = useJobList(status || undefined);
  const now = useNow();
  // A viewer cannot submit: no links to a page that would refuse them.
  const mayRun = canAct(useSession()?.role, 'developer');

  return (
    <>
      <div className="toolbar">
        <label htmlFor={`${id}-status`}>Status</label>
        <select
          id={`${id}-status`}
          className="input input-inline"
          value={status}
          onChange={(e) => {
            setStatus(e.currentTarget.value as JobStatus | '');
          }}
        >
          <option value="">All</option>
          {JOB_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        {mayRun ? (
          <Link href="/submit" className="button toolbar-end">
            Submit a program
          </Link>
        ) : null}
      </div>
      {list.isPending ? (
        <Loading label="Loading jobs…" />
      ) : list.isError && list.data === undefined ? (
        <ErrorState
          title="Cannot load the jobs"
          message={messageOf(list.error)}
          onRetry={() => void list.refetch()}
        />
      ) : list.data.jobs.length === 0 ? (
        <Empty title={status ? `No ${status} jobs` : 'No jobs yet'}>
          {mayRun ? (
            <p>
              {status ? 'Pick another status, or ' : ''}
              <Link href="/submit">submit a program</Link> to start one.
            </p>
          ) : status ? (
            <p>Pick another status.</p>
          ) : null}
        </Empty>
      ) : (
        <>
          {list.isError ? (
            <StaleBanner>Could not refresh the jobs; showing the last known list.</StaleBanner>
          ) : null}
          <div className="table-wrap">
            <table className="table">
              <caption>
                {list.data.jobs.length} {status ? `${status} ` : ''}job
                {list.data.jobs.length === 1 ? '' : 's'}
              </caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Started</th>
                  <th scope="col" className="num">
                    Duration
                  </th>
                  <th scope="col" className="num">
                    Parallelism
                  </th>
                  <th scope="col">Job id</th>
                </tr>
              </thead>
              <tbody>
                {list.data.jobs.map((job) => (
                  <tr key={job.id} data-testid="job-row" data-status={job.status}>
                    <th scope="row">
                      <Link href={`/jobs/${encodeURIComponent(job.id)}`}>{job.name}</Link>
                    </th>
                    <td>
                      <JobStatusBadge status={job.status} />
                    </td>
                    <td>{formatTime(job.startedAt ?? job.createdAt, now ?? undefined)}</td>
                    <td className="num">
                      {formatDuration(job.startedAt ?? job.createdAt, job.endedAt, now)}
                    </td>
                    <td className="num">{job.parallelism}</td>
                    <td>
                      <code title={job.id}>{job.id.slice(0, 8)}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}
