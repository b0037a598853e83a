'use client';

import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import type { JobCheckpoints as JobCheckpointsData } from '@/lib/api-shapes';
import { messageOf } from '@/lib/errors';
import { formatBytes, formatCount, formatTime } from '@/lib/format';
import { useTRPC } from '@/lib/trpc';
import { LineChart } from './LineChart';
import { Empty, ErrorState, Loading } from './StateViews';

/** How often a running job's checkpoints are read again. */
const POLL_MS = 2000;
/** Checkpoints listed in the history (newest first). */
const HISTORY = 50;

/** Milliseconds as the table shows them: `12 ms`, `1.4 s`. */
function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

const STATUS_TONE = { COMPLETED: 'done', FAILED: 'failed', IN_PROGRESS: 'running' } as const;

type CheckpointEntry = JobCheckpointsData['history'][number];

/** What took a savepoint, as its badge says it. */
const SAVEPOINT_LABELS: Record<NonNullable<NonNullable<CheckpointEntry['savepoint']>['kind']>, string> = {
  SAVEPOINT: 'savepoint',
  STOP: 'stop',
  DRAIN: 'stop, drained',
  RESCALE: 'rescale',
};

/** The kind column of a checkpoint: `Checkpoint`, or `Savepoint (stop)`. */
export function checkpointKindLabel(c: Pick<CheckpointEntry, 'savepoint'>): string {
  if (c.savepoint === null) return 'Checkpoint';
  const kind = c.savepoint.kind;
  return kind === null || kind === 'SAVEPOINT' ? 'Savepoint' : `Savepoint (${SAVEPOINT_LABELS[kind]})`;
}

/**
 * A job's checkpoints (`jobs.checkpoints`, read from the database, so they
 * survive a JobManager restart): counts, the latest completed one with its
 * restore path and every subtask's acknowledgement, duration and size over
 * time, and the history with each failed checkpoint's cause. Polled while
 * the job runs.
 */
export function JobCheckpoints({
  jobId,
  ended,
  vertexNames,
}: {
  jobId: string;
  ended: boolean;
  vertexNames: ReadonlyMap<string, string>;
}) {
  const trpc = useTRPC();
  const query = useQuery({
    ...trpc.jobs.checkpoints.queryOptions({ jobId, limit: HISTORY }),
    refetchInterval: ended ? false : POLL_MS,
  });
  // The polling stops as the job ends, but its last checkpoints (a stop's
  // savepoint, the final one) complete just before: read them once more.
  const { refetch } = query;
  useEffect(() => {
    if (ended) void refetch();
  }, [ended, refetch]);
  if (query.isPending) return <Loading label="Loading the checkpoints…" />;
  if (query.isError)
    return (
      <ErrorState
        title="Cannot load the checkpoints"
        message={messageOf(query.error)}
        onRetry={() => void query.refetch()}
      />
    );
  return <CheckpointsView data={query.data} vertexNames={vertexNames} />;
}

function CheckpointsView({
  data,
  vertexNames,
}: {
  data: JobCheckpointsData;
  vertexNames: ReadonlyMap<string, string>;
}) {
  const { counts, latest, latestSavepoint, history, checkpointing } = data;
  const total = counts.completed + counts.failed + counts.inProgress;
  return (
    <div className="checkpoints" data-testid="checkpoints">
      <p className="muted small" data-testid="checkpointing-config">
        {checkpointing === null
          ? 'Periodic checkpoints are off for this job (a bounded job still ends with one final checkpoint).'
          : `Every ${formatMs(checkpointing.intervalMs)}, ${checkpointing.mode.replace('_', '-').toLowerCase()}, timeout ${formatMs(checkpointing.timeoutMs)}, ${checkpointing.maxRetainedCheckpoints} retained.`}
      </p>
      <dl className="stat-row" aria-label="Checkpoint counts">
        <div data-testid="checkpoints-completed">
          <dt>Completed</dt>
          <dd>{counts.completed}</dd>
        </div>
        <div data-testid="checkpoints-savepoints">
          <dt>Of them savepoints</dt>
          <dd>{counts.savepoints}</dd>
        </div>
        <div data-testid="checkpoints-failed">
          <dt>Failed</dt>
          <dd>{counts.failed}</dd>
        </div>
        <div data-testid="checkpoints-in-progress">
          <dt>In progress</dt>
          <dd>{counts.inProgress}</dd>
        </div>
        <div>
          <dt>Duration p50 / p99</dt>
          <dd>
            {data.durationMs === null
              ? '–'
              : `${formatMs(data.durationMs.p50)} / ${formatMs(data.durationMs.p99)}`}
          </dd>
        </div>
      </dl>
      {total === 0 ? (
        <Empty title="No checkpoints yet">
          <p>Checkpoints appear here as the JobManager triggers them.</p>
        </Empty>
      ) : (
        <>
          <Latest latest={latest} vertexNames={vertexNames} />
          <LatestSavepoint savepoint={latestSavepoint} />
          <Charts history={history} />
          <History history={history} />
        </>
      )}
    </div>
  );
}

function Latest({
  latest,
  vertexNames,
}: {
  latest: JobCheckpointsData['latest'];
  vertexNames: ReadonlyMap<string, string>;
}) {
  if (latest === null) {
    return (
      <section aria-label="Latest completed checkpoint">
        <h3>Latest completed</h3>
        <p className="muted">None has completed yet: a restart now would start from scratch.</p>
      </section>
    );
  }
  return (
    <section aria-label="Latest completed checkpoint" data-testid="checkpoint-latest">
      <h3>
        Latest completed: checkpoint <span data-testid="checkpoint-latest-id">{latest.checkpointId}</span>
      </h3>
      <p className="muted small">
        {formatTime(latest.completedAt)} · attempt {latest.attempt} · took {formatMs(latest.durationMs)} ·{' '}
        {formatBytes(latest.bytes)}
        {writtenNote(latest)} · alignment {formatMs(latest.alignmentMs)} · {latest.acknowledged}/
        {latest.total} acknowledged
        {latest.discarded ? ' · its data was deleted by retention' : ''}
      </p>
      <p className="small">
        Restore path:{' '}
        <code data-testid="checkpoint-restore-path">{latest.metadataPath ?? '(not recorded)'}</code>
      </p>
      <details>
        <summary>Acknowledgements of its {latest.acks.length} subtasks</summary>
        <div className="table-wrap">
          <table className="table table-compact" aria-label="Subtask acknowledgements">
            <thead>
              <tr>
                <th scope="col">Vertex</th>
                <th scope="col" className="num">
                  Subtask
                </th>
                <th scope="col" className="num">
                  Acknowledged after
                </th>
                <th scope="col" className="num">
                  Size
                </th>
                <th scope="col" className="num">
                  Alignment
                </th>
                <th scope="col" className="num">
                  Sync / async
                </th>
              </tr>
            </thead>
            <tbody>
              {latest.acks.map((a) => (
                <tr key={`${a.vertexId}#${a.subtaskIndex}`} data-testid="checkpoint-ack">
                  <td>{vertexNames.get(a.vertexId) ?? a.vertexId}</td>
                  <td className="num">
                    {a.subtaskIndex}
                    {a.final ? ' (final state)' : ''}
                  </td>
                  <td className="num">{formatMs(Date.parse(a.ackedAt) - Date.parse(latest.triggeredAt))}</td>
                  <td className="num">{formatBytes(a.bytes)}</td>
                  <td className="num">{formatMs(a.alignmentMs)}</td>
                  <td className="num">
                    {formatMs(a.syncMs)} / {formatMs(a.asyncMs)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </section>
  );
}

function LatestSavepoint({ savepoint }: { savepoint: JobCheckpointsData['latestSavepoint'] }) {
  if (savepoint?.savepoint == null) return null;
  return (
    <section aria-label="Latest savepoint" data-testid="savepoint-latest">
      <h3>
        Latest savepoint: checkpoint <span data-testid="savepoint-latest-id">{savepoint.checkpointId}</span>{' '}
        <SavepointBadge c={savepoint} />
      </h3>
      <p className="small">
        {formatTime(savepoint.completedAt)} · {formatBytes(savepoint.bytes)} · start a job from:{' '}
        <code data-testid="savepoint-latest-path">{savepoint.savepoint.path ?? '(not recorded)'}</code>
      </p>
    </section>
  );
}

function SavepointBadge({ c }: { c: CheckpointEntry }) {
  return c.savepoint === null ? (
    <span className="muted small">checkpoint</span>
  ) : (
    <span className="badge badge-sm" data-tone="savepoint" data-testid="savepoint-badge">
      {checkpointKindLabel(c)}
    </span>
  );
}

function Charts({ history }: { history: JobCheckpointsData['history'] }) {
  const done = history.filter((c) => c.status === 'COMPLETED').reverse();
  if (done.length < 2) return null;
  const points = done.map((c) => ({ t: Date.parse(c.triggeredAt), c }));
  const span = points.at(-1)!.t - points[0]!.t;
  const windowMs = Math.max(60_000, Math.ceil(span / 60_000) * 60_000);
  return (
    <div className="charts">
      <LineChart
        title="Checkpoint duration"
        showTitle
        windowMs={windowMs}
        series={[
          {
            label: 'duration',
            color: 'var(--accent)',
            points: points.map((p) => ({ t: p.t, v: p.c.durationMs ?? 0 })),
          },
        ]}
        format={formatMs}
      />
      <LineChart
        title="Checkpoint size"
        showTitle
        windowMs={windowMs}
        series={[
          {
            label: 'size',
            color: 'hsl(128 55% 40%)',
            points: points.map((p) => ({ t: p.t, v: p.c.bytes ?? 0 })),
          },
        ]}
        format={formatBytes}
      />
    </div>
  );
}

function History({ history }: { history: JobCheckpointsData['history'] }) {
  return (
    <section aria-label="Checkpoint history">
      <h3>History</h3>
      <div className="table-wrap">
        <table className="table table-compact" aria-label="Checkpoints, newest first">
          <thead>
            <tr>
              <th scope="col" className="num">
                Id
              </th>
              <th scope="col">Status</th>
              <th scope="col">Kind</th>
              <th scope="col" className="num">
                Attempt
              </th>
              <th scope="col">Triggered</th>
              <th scope="col" className="num">
                Duration
              </th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col" className="num">
                Alignment
              </th>
              <th scope="col" className="num">
                Acknowledged
              </th>
            </tr>
          </thead>
          <tbody>
            {history.map((c) => (
              <CheckpointRow key={c.checkpointId} c={c} />
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** " (N written)" when an incremental checkpoint wrote less than the full state it holds. */
function writtenNote(c: { bytes: number | null; checkpointedBytes: number | null }): string {
  if (c.bytes === null || c.checkpointedBytes === null || c.checkpointedBytes >= c.bytes) return '';
  return ` (${formatBytes(c.checkpointedBytes)} written)`;
}

function CheckpointRow({ c }: { c: CheckpointEntry }) {
  return (
    <>
      <tr
        data-testid="checkpoint-row"
        data-status={c.status}
        data-kind={c.savepoint === null ? 'checkpoint' : 'savepoint'}
      >
        <th scope="row" className="num">
          {c.checkpointId}
        </th>
        <td>
          <span className="badge badge-sm" data-tone={STATUS_TONE[c.status]}>
            {c.status.replace('_', ' ')}
          </span>
        </td>
        <td>
          <SavepointBadge c={c} />
        </td>
        <td className="num">{c.attempt}</td>
        <td>{formatTime(c.triggeredAt)}</td>
        <td className="num">{formatMs(c.durationMs)}</td>
        <td className="num">
          {formatBytes(c.bytes)}
          {writtenNote(c)}
        </td>
        <td className="num">{formatMs(c.alignmentMs)}</td>
        <td className="num">
          {formatCount(c.acknowledged)}/{formatCount(c.total)}
        </td>
      </tr>
      {c.savepoint?.path != null ? (
        <tr className="checkpoint-cause" data-testid="savepoint-path-row">
          <td />
          <td colSpan={8} className="small">
            Savepoint at <code data-testid="savepoint-path">{c.savepoint.path}</code>
          </td>
        </tr>
      ) : null}
      {c.failureCause !== null ? (
        <tr className="checkpoint-cause" data-testid="checkpoint-failure">
          <td />
          <td colSpan={8} className="field-error small">
            Checkpoint {c.checkpointId} failed: {c.failureCause}
          </td>
        </tr>
      ) : null}
    </>
  );
}
