'use client';

import Link from 'next/link';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { formatCount, formatTime } from '@/lib/format';
import { jobHref, parseLogLine } from '@/lib/log-lines';
import { useTRPCClient, type RouterOutputs } from '@/lib/trpc';
import { useTail } from '@/lib/use-tail';
import { Empty } from './StateViews';
import { TailControls } from './TailControls';

type Line = RouterOutputs['taskManagers']['output']['records'][number];
/** A page of lines after a seq, as `taskManagers.output` and `cluster.log` answer. */
type LinePage = Pick<RouterOutputs['taskManagers']['output'], 'records' | 'latestSeq' | 'dropped'>;

/** Lines the tab holds at most (as many as the JobManager keeps). */
export const OUTPUT_TAIL_LINES = 1000;

/**
 * The newest lines of a TaskManager's stdout and stderr (`print()` sinks
 * write there) or of its log (`taskManagers.output`).
 */
export function TaskManagerOutput({ id, stream }: { id: string; stream: 'stdout' | 'log' }) {
  const client = useTRPCClient();
  const load = useCallback(
    (after: number) => client.taskManagers.output.query({ id, stream, after }),
    [client, id, stream],
  );
  return <OutputTail load={load} stream={stream} testId={`tm-${stream}`} />;
}

/** The JobManager's own log (`cluster.log`). */
export function JobManagerLog() {
  const client = useTRPCClient();
  const load = useCallback((after: number) => client.cluster.log.query({ after }), [client]);
  return <OutputTail load={load} stream="log" testId="jm-log" />;
}

/**
 * Lines of a process's output or log, live: `load` polled with the last
 * seq, newest last, in a bounded buffer, with pause and a filter. A JSON
 * log line shows its time, level and message, and links to the job it is about.
 */
function OutputTail({
  load,
  stream,
  testId,
}: {
  load: (after: number) => Promise<LinePage>;
  stream: 'stdout' | 'log';
  testId: string;
}) {
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const { lines, dropped, error } = useTail<Line, LinePage>(load, { paused, limit: OUTPUT_TAIL_LINES });
  const view = useRef<HTMLOListElement>(null);
  const following = useRef(true);

  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return needle === '' ? lines : lines.filter((l) => l.text.toLowerCase().includes(needle));
  }, [lines, filter]);

  useEffect(() => {
    const el = view.current;
    if (el !== null && !paused && following.current) el.scrollTop = el.scrollHeight;
  }, [shown, paused]);

  const what = stream === 'stdout' ? 'stdout and stderr' : 'log';
  return (
    <div className="output" data-testid={testId}>
      <TailControls
        paused={paused}
        onPausedChange={setPaused}
        filter={filter}
        onFilterChange={setFilter}
        filterLabel="Filter lines"
        placeholder="Filter lines…"
      >
        <span className="muted small" role="status" data-testid={`${testId}-status`}>
          {paused ? 'Paused' : 'Live'} · {formatCount(shown.length)} of {formatCount(lines.length)} lines
          (last {formatCount(OUTPUT_TAIL_LINES)} kept)
          {dropped > 0 ? ` · ${formatCount(dropped)} not shown (they came faster than they were read)` : ''}
        </span>
      </TailControls>
      {error !== null ? (
        <p className="field-error">
          Cannot read the {what}: {error}
        </p>
      ) : null}
      {lines.length === 0 ? (
        <Empty title={`No ${what} yet`}>
          <p>
            {stream === 'stdout'
              ? 'What the TaskManager’s subtasks print (print() and printToErr() sinks, console output) appears here.'
              : 'Log lines appear here as they are written.'}
          </p>
        </Empty>
      ) : (
        <ol
          className="output-lines"
          ref={view}
          aria-label={stream === 'stdout' ? 'Stdout lines' : 'Log lines'}
          onScroll={(e) => {
            const el = e.currentTarget;
            following.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }}
        >
          {shown.map((l) =>
            stream === 'stdout' ? (
              <li key={l.seq} data-testid="tm-line" data-stream={l.sink}>
                <span className="output-meta">
                  {formatTime(new Date(l.at).toISOString())} {l.sink === 'stderr' ? 'stderr' : ''}
                </span>
                <code>{l.text}</code>
              </li>
            ) : (
              <LogLine key={l.seq} line={l} linkTaskManagers={testId === 'jm-log'} />
            ),
          )}
        </ol>
      )}
    </div>
  );
}

/**
 * One log line: its time, level and message, and links to what its record
 * names — the job, the vertex and subtask (the job page opened on them) and,
 * on the JobManager's log, the TaskManager.
 */
function LogLine({ line, linkTaskManagers }: { line: Line; linkTaskManagers: boolean }) {
  const e = parseLogLine(line.text, line.at);
  const job = e.jobId === undefined ? undefined : `/jobs/${encodeURIComponent(e.jobId)}`;
  const subtask = e.vertexId === undefined ? undefined : jobHref(e);
  return (
    <li data-testid="tm-line" data-level={e.level}>
      <span className="output-meta">
        {e.time} {e.level}
      </span>
      <code>
        {e.message}
        {job !== undefined && e.jobId !== undefined ? (
          <>
            {' '}
            <Link href={job} data-testid="log-job-link">
              job {e.jobId.slice(0, 8)}
            </Link>
          </>
        ) : null}
        {subtask !== undefined ? (
          <>
            {' · '}
            <Link href={subtask} data-testid="log-subtask-link">
              {e.subtask === undefined ? `vertex ${e.vertexId}` : `subtask ${e.vertexId} #${e.subtask}`}
            </Link>
          </>
        ) : null}
        {linkTaskManagers && e.taskManagerId !== undefined ? (
          <>
            {' · '}
            <Link
              href={`/taskmanagers/${encodeURIComponent(e.taskManagerId)}`}
              data-testid="log-taskmanager-link"
              title={e.taskManagerId}
            >
              TaskManager {e.taskManagerId.slice(0, 8)}
            </Link>
          </>
        ) : null}
      </code>
    </li>
  );
}
