'use client';

import Link from 'next/link';
import { useCallback, useMemo, useState } from 'react';
import type { JobDetail, SubtaskInfo } from '@/lib/api-shapes';
import { messageOf } from '@/lib/errors';
import { formatDuration, formatTime, plural } from '@/lib/format';
import { isTerminal, vertexStatus, type VertexMetrics } from '@/lib/jobs';
import { useLiveJob } from '@/lib/queries';
import { useNow } from '@/lib/use-now';
import { CancelJobButton } from './CancelJobButton';
import { JobGraphView } from './JobGraphView';
import { JobStatusBadge } from './JobStatusBadge';
import { JobTabs } from './JobTabs';
import { ErrorState, Loading, StaleBanner } from './StateViews';
import { SubtasksTable } from './SubtasksTable';

/** One job, live: its graph with figures, the subtasks of a chosen vertex, exceptions, timeline, configuration. */
export function JobView({ jobId }: { jobId: string }) {
  const job = useLiveJob(jobId);
  if (job.isPending) return <Loading label="Loading the job…" />;
  if (job.isError && job.data === undefined) {
    const notFound = /not.?found/i.test(messageOf(job.error));
    return (
      <ErrorState
        title={notFound ? 'No such job' : 'Cannot load the job'}
        message={
          notFound ? `The JobManager knows no job ${jobId}. It may have been removed.` : messageOf(job.error)
        }
        onRetry={notFound ? undefined : () => void job.refetch()}
      />
    );
  }
  return (
    <>
      {job.stream === 'error' && !isTerminal(job.data.job.status) ? (
        <StaleBanner>
          Lost the live connection to the JobManager; showing the last known state while reconnecting.
        </StaleBanner>
      ) : null}
      <JobDetailView detail={job.data} live={job.stream === 'live'} />
    </>
  );
}

function JobDetailView({ detail, live }: { detail: JobDetail; live: boolean }) {
  const { job, jobGraph, subtasks } = detail;
  const now = useNow();
  const [selected, setSelected] = useState<string | null>(null);
  const onSelect = useCallback((id: string) => {
    setSelected((cur) => (cur === id ? null : id));
  }, []);

  const byVertex = useMemo(() => {
    const m = new Map<string, SubtaskInfo[]>();
    for (const s of subtasks) {
      const list = m.get(s.vertexId) ?? [];
      list.push(s);
      m.set(s.vertexId, list);
    }
    return m;
  }, [subtasks]);

  const statuses = useMemo(() => {
    const out: Record<string, string> = {};
    for (const v of jobGraph.vertices) {
      out[v.id] = vertexStatus(
        latestAttempts(byVertex.get(v.id) ?? []).map((s) => s.state),
        job.status,
      );
    }
    return out;
  }, [jobGraph.vertices, byVertex, job.status]);

  const metrics = useMemo(() => {
    const out: Record<string, VertexMetrics> = {};
    for (const v of jobGraph.vertices) {
      const m = detail.vertexMetrics[v.id];
      const subs = latestAttempts(byVertex.get(v.id) ?? []);
      const recordsIn = m?.recordsIn ?? sum(subs, (s) => s.recordsIn);
      const recordsOut = m?.recordsOut ?? sum(subs, (s) => s.recordsOut);
      out[v.id] = {
        recordsInPerSecond: m?.recordsInPerSecond ?? 0,
        recordsOutPerSecond: m?.recordsOutPerSecond ?? 0,
        busyRatio: m?.busyRatio ?? 0,
        backpressureRatio: m?.backpressureRatio ?? 0,
        lowestInputWatermark: m?.lowestInputWatermark ?? null,
        recordsIn,
        recordsOut,
      };
    }
    return out;
  }, [jobGraph.vertices, detail.vertexMetrics, byVertex]);

  const edgeRates = useMemo(() => {
    const out: Record<string, number> = {};
    for (const [id, m] of Object.entries(detail.edgeMetrics)) out[id] = m.recordsPerSecond;
    return out;
  }, [detail.edgeMetrics]);

  const selectedVertex = jobGraph.vertices.find((v) => v.id === selected);

  return (
    <>
      <div className="job-head">
        <div>
          <h1>
            {job.name} <JobStatusBadge status={job.status} />
          </h1>
          <p className="muted">
            <code title="Job id">{job.id}</code> · started{' '}
            {formatTime(job.startedAt ?? job.createdAt, now ?? undefined)} ·{' '}
            {isTerminal(job.status) ? 'ran' : 'running for'}{' '}
            {formatDuration(job.startedAt ?? job.createdAt, job.endedAt, now)} · parallelism {job.parallelism}{' '}
            · {jobGraph.runtimeMode.toLowerCase()} ·{' '}
            {plural(subtasks.filter((s) => s.state === 'RUNNING').length, 'subtask')} running
            {live && !isTerminal(job.status) ? ' · live' : ''}
          </p>
        </div>
        <div className="job-actions">
          <Link href="/jobs" className="button button-secondary">
            All jobs
          </Link>
          {isTerminal(job.status) ? null : <CancelJobButton jobId={job.id} jobName={job.name} />}
        </div>
      </div>

      <section className="panel" aria-labelledby="graph-title">
        <h2 id="graph-title" className="panel-title">
          Dataflow <span className="muted small">· select a vertex to see its subtasks</span>
        </h2>
        <JobGraphView
          graph={jobGraph}
          vertexMetrics={metrics}
          vertexStatus={statuses}
          edgeRates={edgeRates}
          selectedVertexId={selected}
          onSelectVertex={onSelect}
          label={`JobGraph of ${job.name}`}
        />
        <Legend />
      </section>

      {selectedVertex ? (
        <section className="panel" aria-labelledby="subtasks-title" data-testid="subtasks">
          <h2 id="subtasks-title" className="panel-title">
            Subtasks of {selectedVertex.name}
            <button
              type="button"
              className="link-button close-button"
              onClick={() => {
                setSelected(null);
              }}
            >
              Close
            </button>
          </h2>
          <SubtasksTable subtasks={byVertex.get(selectedVertex.id) ?? []} now={now} />
        </section>
      ) : null}

      <JobTabs detail={detail} />
    </>
  );
}

function Legend() {
  return (
    <p className="legend muted small" aria-label="Colour legend">
      <span>
        <span className="chart-swatch" style={{ background: 'hsl(210 70% 50%)' }} aria-hidden="true" /> idle
      </span>
      <span>
        <span className="chart-swatch" style={{ background: 'hsl(128 70% 50%)' }} aria-hidden="true" /> busy
      </span>
      <span>
        <span className="chart-swatch" style={{ background: 'hsl(45 70% 50%)' }} aria-hidden="true" /> fully
        busy
      </span>
      <span>
        <span className="chart-swatch" style={{ background: 'hsl(0 85% 47%)' }} aria-hidden="true" />{' '}
        backpressured
      </span>
    </p>
  );
}

/** The newest attempt of each subtask index. */
function latestAttempts(subtasks: readonly SubtaskInfo[]): SubtaskInfo[] {
  const byIndex = new Map<number, SubtaskInfo>();
  for (const s of subtasks) {
    const cur = byIndex.get(s.index);
    if (!cur || s.attempt > cur.attempt) byIndex.set(s.index, s);
  }
  return [...byIndex.values()];
}

function sum<T>(items: readonly T[], f: (t: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}
