'use client';

import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { JobDetails } from '@/lib/api-shapes';
import { messageOf } from '@/lib/errors';
import { formatDuration, formatTime, plural } from '@/lib/format';
import { isTerminal, vertexStatus, type VertexMetrics } from '@/lib/jobs';
import { useLiveJob } from '@/lib/queries';
import { canAct, useSession } from '@/lib/session-client';
import { useNow } from '@/lib/use-now';
import { CancelJobButton } from './CancelJobButton';
import { EdgeTapPanel } from './EdgeTapPanel';
import { SavepointActions } from './SavepointActions';
import { JobGraphView } from './JobGraphView';
import { JobStatusBadge } from './JobStatusBadge';
import { initialJobTab, JobTabs, type JobTab } from './JobTabs';
import { Empty, ErrorState, Loading, StaleBanner } from './StateViews';
import { SubtasksTable } from './SubtasksTable';
import { VertexHealth } from './VertexHealth';

/**
 * One job, live: its graph with figures, the subtasks of a chosen vertex,
 * exceptions, timeline, configuration. `vertexId` (and `subtask`) open it on
 * that vertex's subtasks, that subtask marked.
 */
export function JobView({
  jobId,
  vertexId,
  subtask,
}: {
  jobId: string;
  vertexId?: string | undefined;
  subtask?: number | undefined;
}) {
  const job = useLiveJob(jobId);
  if (job.isPending) return <Loading label="Loading the job…" />;
  if (job.isError && job.data === undefined) {
    const notFound = job.error.data?.code === 'NOT_FOUND';
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
      {job.stream === 'error' && !isTerminal(job.data.status) ? (
        <StaleBanner>
          Lost the live connection to the JobManager; showing the last known state while reconnecting.
        </StaleBanner>
      ) : null}
      <JobDetailView
        detail={job.data}
        live={job.stream === 'live'}
        initialVertexId={vertexId}
        markedSubtask={subtask}
      />
    </>
  );
}

function JobDetailView({
  detail,
  live,
  initialVertexId,
  markedSubtask,
}: {
  detail: JobDetails;
  live: boolean;
  initialVertexId: string | undefined;
  markedSubtask: number | undefined;
}) {
  const job = detail;
  const { subtasks } = detail;
  const now = useNow();
  const session = useSession();
  const [selected, setSelected] = useState<string | null>(() =>
    initialVertexId !== undefined && detail.vertices.some((v) => v.id === initialVertexId)
      ? initialVertexId
      : null,
  );
  // Opened from a link to a subtask: its table is where the reader wants to be.
  const subtasksPanel = useRef<HTMLElement>(null);
  const [openedOn] = useState(selected);
  useEffect(() => {
    if (openedOn !== null) subtasksPanel.current?.scrollIntoView({ block: 'start' });
  }, [openedOn]);
  const [tab, setTab] = useState<JobTab>(() => initialJobTab(detail));
  const showException = (): void => {
    setTab('exceptions');
    document.getElementById('job-details')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  const onSelect = useCallback((id: string) => {
    setSelected((cur) => (cur === id ? null : id));
  }, []);
  const [tapped, setTapped] = useState<string | null>(null);
  const onTapEdge = useCallback((id: string) => {
    setTapped((cur) => (cur === id ? null : id));
  }, []);
  const vertexNames = useMemo(
    () => Object.fromEntries(detail.vertices.map((v) => [v.id, v.name])),
    [detail.vertices],
  );

  const graph = useMemo(
    () => ({ vertices: detail.vertices, edges: detail.edges }),
    [detail.vertices, detail.edges],
  );
  const statuses = useMemo(() => {
    const out: Record<string, string> = {};
    for (const v of detail.vertices) {
      const states = Object.entries(v.tasks)
        .filter(([, n]) => n > 0)
        .map(([state]) => state);
      out[v.id] = vertexStatus(states, job.status);
    }
    return out;
  }, [detail.vertices, job.status]);
  // Once a job ended nothing flows: its last samples' rates and ratios would
  // read as live, so they show as zero; the record totals stay.
  const ended = isTerminal(job.status);
  const metrics = useMemo(() => {
    const out: Record<string, VertexMetrics> = {};
    for (const v of detail.vertices) {
      out[v.id] = ended
        ? { ...v.metrics, recordsInPerSec: 0, recordsOutPerSec: 0, busyRatio: 0, backpressureRatio: 0 }
        : v.metrics;
    }
    return out;
  }, [detail.vertices, ended]);
  const edgeRates = useMemo(
    () => (ended ? Object.fromEntries(detail.edges.map((e) => [e.id, 0])) : exchangeRates(detail)),
    [detail, ended],
  );

  const selectedVertex = detail.vertices.find((v) => v.id === selected);
  const running = subtasks.filter((s) => s.state === 'RUNNING').length;

  return (
    <>
      <div className="job-head">
        <div>
          <h1>
            {job.name} <JobStatusBadge status={job.status} />
          </h1>
          <p className="muted">
            <code title="Job id">{job.id}</code> · {job.fileName} · started{' '}
            {formatTime(job.startedAt ?? job.createdAt, now ?? undefined)} ·{' '}
            {isTerminal(job.status) ? 'ran' : 'running for'}{' '}
            {formatDuration(job.startedAt ?? job.createdAt, job.endedAt, now)} · parallelism {job.parallelism}{' '}
            · {job.runtimeMode.toLowerCase()} · {plural(running, 'subtask')} running ·{' '}
            <span data-testid="job-attempt">
              attempt {job.attempt}, {plural(job.restarts, 'restart')}
            </span>
            {live && !isTerminal(job.status) ? ' · live' : ''}
          </p>
          {job.failureCause ? (
            <p className="failure-cause field-error" role="status" data-testid="failure-cause">
              {/* One line: the cause's first line; the stack trace is in the Exceptions tab. */}
              <span className="failure-cause-text" title={job.failureCause}>
                {firstLine(job.failureCause)}
              </span>
              <button type="button" className="link-button" onClick={showException}>
                See the exception
              </button>
            </p>
          ) : null}
        </div>
        <div className="job-actions">
          <Link href="/jobs" className="button button-secondary">
            All jobs
          </Link>
          {isTerminal(job.status) || !canAct(session?.role, 'developer') ? null : (
            <CancelJobButton jobId={job.id} jobName={job.name} />
          )}
          {canAct(session?.role, 'developer') ? (
            <SavepointActions
              jobId={job.id}
              jobName={job.name}
              parallelism={job.parallelism}
              running={job.status === 'RUNNING'}
            />
          ) : null}
        </div>
      </div>

      <section className="panel" aria-labelledby="graph-title">
        <h2 id="graph-title" className="panel-title">
          Dataflow{' '}
          <span className="muted small">
            · select a vertex to see its subtasks
            {job.status === 'RUNNING' ? ', an edge to see the records crossing it' : ''}
          </span>
        </h2>
        {graph.vertices.length === 0 ? (
          <Empty title="No dataflow graph">
            <p>This job was stored without its JobGraph.</p>
          </Empty>
        ) : (
          <JobGraphView
            graph={graph}
            vertexMetrics={metrics}
            vertexStatus={statuses}
            edgeRates={edgeRates}
            selectedVertexId={selected}
            onSelectVertex={onSelect}
            onTapEdge={job.status === 'RUNNING' ? onTapEdge : undefined}
            tappedEdgeId={tapped}
            label={`JobGraph of ${job.name}`}
          />
        )}
        <Legend />
      </section>

      {tapped !== null && job.status === 'RUNNING' ? (
        <EdgeTapPanel
          key={tapped}
          jobId={job.id}
          edgeId={tapped}
          vertexNames={vertexNames}
          onClose={() => {
            setTapped(null);
          }}
        />
      ) : null}

      {selectedVertex ? (
        <section
          className="panel"
          aria-labelledby="subtasks-title"
          data-testid="subtasks"
          ref={subtasksPanel}
        >
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
          <SubtasksTable
            subtasks={subtasks.filter((s) => s.vertexId === selectedVertex.id)}
            now={now}
            marked={selectedVertex.id === openedOn ? markedSubtask : undefined}
          />
          <VertexHealth
            jobId={job.id}
            vertexId={selectedVertex.id}
            subtasks={subtasks.filter((s) => s.vertexId === selectedVertex.id)}
            ended={ended}
          />
        </section>
      ) : null}

      <JobTabs detail={detail} tab={tab} onTabChange={setTab} />
    </>
  );
}

/**
 * Records per second on each exchange. A vertex's out-rate counts a record
 * once per outgoing exchange, so it is the rate of an exchange only when the
 * vertex has one; otherwise the consumer's in-rate is, when the exchange is
 * its only input; else the out-rate is shared evenly among the exchanges.
 */
function exchangeRates(detail: JobDetails): Record<string, number> {
  const byId = new Map(detail.vertices.map((v) => [v.id, v.metrics]));
  const outDegree = new Map<string, number>();
  const inDegree = new Map<string, number>();
  for (const e of detail.edges) {
    outDegree.set(e.source, (outDegree.get(e.source) ?? 0) + 1);
    inDegree.set(e.target, (inDegree.get(e.target) ?? 0) + 1);
  }
  const out: Record<string, number> = {};
  for (const e of detail.edges) {
    const fanOut = outDegree.get(e.source) ?? 1;
    const target = byId.get(e.target);
    if (fanOut === 1) out[e.id] = e.recordsPerSec;
    else if (inDegree.get(e.target) === 1 && target !== undefined) out[e.id] = target.recordsInPerSec;
    else out[e.id] = e.recordsPerSec / fanOut;
  }
  return out;
}

/** The first non-empty line of a failure cause (a stack trace's message line). */
function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? text
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
