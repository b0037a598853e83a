'use client';

import { useId, useRef, type KeyboardEvent, type ReactElement } from 'react';
import type { JobDetails } from '@/lib/api-shapes';
import { formatTime } from '@/lib/format';
import { isTerminal, statusTone } from '@/lib/jobs';
import { JobCheckpoints } from './JobCheckpoints';
import { JobOutput } from './JobOutput';
import { JobUserMetrics } from './JobUserMetrics';
import { Empty } from './StateViews';

const TABS = ['output', 'checkpoints', 'metrics', 'exceptions', 'timeline', 'configuration'] as const;
/** A tab of the job page's details. */
export type JobTab = (typeof TABS)[number];
type Tab = JobTab;
const LABELS: Record<Tab, string> = {
  output: 'Output',
  checkpoints: 'Checkpoints',
  metrics: 'Metrics',
  exceptions: 'Exceptions',
  timeline: 'Timeline',
  configuration: 'Configuration',
};

/** The tab a job page opens on: its exceptions when it has any. */
export function initialJobTab(detail: JobDetails): JobTab {
  return detail.exceptions.length > 0 ? 'exceptions' : 'timeline';
}

/**
 * The live output, checkpoints, accumulators and user metrics, exceptions, the timeline of state transitions and the
 * configuration, as keyboard-operable tabs; the page holds which is open (its header links to
 * the exceptions).
 */
export function JobTabs({
  detail,
  tab,
  onTabChange: setTab,
}: {
  detail: JobDetails;
  tab: JobTab;
  onTabChange: (tab: JobTab) => void;
}) {
  const id = useId();
  const refs = useRef<Partial<Record<Tab, HTMLButtonElement | null>>>({});

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const i = TABS.indexOf(tab);
    let next: Tab | undefined;
    if (e.key === 'ArrowRight') next = TABS[(i + 1) % TABS.length];
    else if (e.key === 'ArrowLeft') next = TABS[(i + TABS.length - 1) % TABS.length];
    else if (e.key === 'Home') next = TABS[0];
    else if (e.key === 'End') next = TABS[TABS.length - 1];
    if (next) {
      e.preventDefault();
      setTab(next);
      refs.current[next]?.focus();
    }
  };

  const counts: Record<Tab, number | null> = {
    output: null,
    checkpoints: null,
    metrics: null,
    exceptions: detail.exceptions.length,
    timeline: detail.events.length,
    configuration: null,
  };

  return (
    <section className="panel" id="job-details">
      <div role="tablist" aria-label="Job details" className="tabs" onKeyDown={onKeyDown}>
        {TABS.map((t) => (
          <button
            key={t}
            ref={(el) => {
              refs.current[t] = el;
            }}
            type="button"
            role="tab"
            id={`${id}-tab-${t}`}
            aria-selected={tab === t}
            aria-controls={`${id}-panel-${t}`}
            tabIndex={tab === t ? 0 : -1}
            className="tab"
            onClick={() => {
              setTab(t);
            }}
          >
            {LABELS[t]}
            {counts[t] !== null ? <span className="tab-count">{counts[t]}</span> : null}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`${id}-panel-${tab}`}
        aria-labelledby={`${id}-tab-${tab}`}
        tabIndex={0}
        className="tab-panel"
      >
        {tab === 'output' ? <JobOutput jobId={detail.id} ended={isTerminal(detail.status)} /> : null}
        {tab === 'checkpoints' ? (
          <JobCheckpoints
            jobId={detail.id}
            ended={isTerminal(detail.status)}
            vertexNames={new Map(detail.vertices.map((v) => [v.id, v.name]))}
          />
        ) : null}
        {tab === 'metrics' ? <JobUserMetrics detail={detail} /> : null}
        {tab === 'exceptions' ? <Exceptions detail={detail} /> : null}
        {tab === 'timeline' ? <Timeline detail={detail} /> : null}
        {tab === 'configuration' ? <Configuration detail={detail} /> : null}
      </div>
    </section>
  );
}

function Exceptions({ detail }: { detail: JobDetails }) {
  if (detail.exceptions.length === 0) {
    return (
      <Empty title="No exceptions">
        <p>Nothing has failed in this job.</p>
      </Empty>
    );
  }
  const names = new Map(detail.vertices.map((v) => [v.id, v.name]));
  return (
    <ol className="exceptions">
      {[...detail.exceptions].reverse().map((ex, i) => (
        <li key={i} className="exception" data-testid="exception">
          <p className="exception-head">
            <strong>{shortIds(ex.message)}</strong>
          </p>
          <p className="muted small">
            {formatTime(ex.at)}
            {ex.vertexId !== null ? ` · ${names.get(ex.vertexId) ?? ex.vertexId}` : ''}
            {ex.subtaskIndex !== null ? ` · subtask ${ex.subtaskIndex}` : ''}
            {ex.attempt !== null ? ` · attempt ${ex.attempt}` : ''}
            {ex.taskManagerId !== null ? ` · TaskManager ${ex.taskManagerId.slice(0, 8)}` : ''}
          </p>
          {ex.stackTrace ? <pre className="code-frame">{ex.stackTrace}</pre> : null}
        </li>
      ))}
    </ol>
  );
}

function Timeline({ detail }: { detail: JobDetails }) {
  if (detail.events.length === 0) {
    return (
      <Empty title="No events yet">
        <p>State transitions of the job and its subtasks appear here as they happen.</p>
      </Empty>
    );
  }
  return (
    <ol className="timeline">
      {/* Newest first: the state a job ended in is what a reader looks for. */}
      {[...detail.events].reverse().map((e) => (
        <li
          key={e.id}
          data-testid="timeline-event"
          data-restart={e.toState === null && isRestart(e.message) ? true : undefined}
        >
          <time dateTime={e.at} className="timeline-time">
            {formatTime(e.at)}
          </time>
          {e.toState ? (
            <span className="badge badge-sm" data-tone={statusTone(e.toState)}>
              {e.toState}
            </span>
          ) : isRestart(e.message) ? (
            <span className="badge badge-sm" data-tone="stopping">
              RESTART
            </span>
          ) : (
            <span className="badge badge-sm">{e.kind}</span>
          )}
          <span>{shortIds(e.message)}</span>
        </li>
      ))}
    </ol>
  );
}

/** Whether a timeline entry is the JobManager restarting (some regions of) the job as a new attempt. */
function isRestart(message: string): boolean {
  return /^Restarting \d+ regions? .* as attempt \d+/.test(message);
}

function Configuration({ detail }: { detail: JobDetails }) {
  const c = detail.configuration;
  const rows: [string, string][] = [
    ['Job id', detail.id],
    ['Program', `${detail.fileName} (${detail.artifactId.slice(0, 12)})`],
    ['Arguments', c.arguments.length === 0 ? '(none)' : c.arguments.map(quote).join(' ')],
    ['Runtime mode', c.runtimeMode],
    ['Parallelism', String(c.parallelism)],
    ['Max parallelism', String(c.maxParallelism)],
    ['Slots needed', String(c.slotsNeeded)],
    [
      'Auto watermark interval',
      c.autoWatermarkIntervalMs === null ? 'default' : `${c.autoWatermarkIntervalMs} ms`,
    ],
    ['Buffer timeout', c.bufferTimeoutMs === null ? 'default' : `${c.bufferTimeoutMs} ms`],
    [
      'Plan overrides',
      Object.keys(c.planOverrides).length === 0 ? '(none)' : JSON.stringify(c.planOverrides),
    ],
    ['Plan hash', detail.planHash],
    ['Bundle', detail.bundleSha256],
  ];
  return (
    <dl className="config">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>
            <code>{v}</code>
          </dd>
        </div>
      ))}
    </dl>
  );
}

function quote(arg: string): string {
  return /[\s"']/.test(arg) || arg === '' ? JSON.stringify(arg) : arg;
}

const UUID = /\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;

/** A message with every UUID (TaskManager and execution ids) shortened to its first 8 digits, the full id on hover. */
function shortIds(message: string) {
  const parts: (string | ReactElement)[] = [];
  let last = 0;
  for (const m of message.matchAll(UUID)) {
    parts.push(message.slice(last, m.index));
    parts.push(
      <abbr key={m.index} title={m[0]} className="short-id">
        {m[1]}
      </abbr>,
    );
    last = m.index + m[0].length;
  }
  parts.push(message.slice(last));
  return parts;
}
