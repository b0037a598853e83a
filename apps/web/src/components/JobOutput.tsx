'use client';

import { useCallback, useEffect, useId, useMemo, useRef, useState } from 'react';
import type { RouterOutputs } from '@/lib/trpc';
import { useTRPCClient } from '@/lib/trpc';
import { formatCount, formatTime } from '@/lib/format';
import { useTail } from '@/lib/use-tail';
import { Empty } from './StateViews';
import { TailControls } from './TailControls';

type OutputPage = RouterOutputs['output']['tail'];
type OutputRecord = OutputPage['records'][number];

/** Records the tab holds at most; older ones scroll away. */
export const OUTPUT_LINES = 1000;

/**
 * A job's live output, as Arroyo's console tails it: the records of its
 * collect sinks as they arrive (`output.tail` polled with the last seq),
 * newest last, in a bounded buffer; pause keeps the view still (records
 * that arrive meanwhile are fetched on resume, as far as the JobManager's
 * buffer still holds them); a filter and a sink choice narrow what is shown.
 * An ended job shows its last records.
 */
export function JobOutput({ jobId, ended }: { jobId: string; ended: boolean }) {
  const client = useTRPCClient();
  const id = useId();
  const [sinks, setSinks] = useState<string[]>([]);
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const [sink, setSink] = useState('');
  const [live, setLive] = useState(true);
  const load = useCallback((after: number) => client.output.tail.query({ jobId, after }), [client, jobId]);
  const { lines, dropped, error } = useTail<OutputRecord, OutputPage>(load, {
    paused,
    limit: OUTPUT_LINES,
    // An ended job's output is complete once read; a running one is polled on.
    again: (page) => !ended || page.records.length > 0,
    onPage: (page) => {
      setLive(page.live);
      setSinks(page.sinks);
    },
  });
  const view = useRef<HTMLOListElement>(null);
  /** Whether the view follows the newest line: until the reader scrolls up, and again at the bottom. */
  const following = useRef(true);

  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return lines.filter(
      (l) => (sink === '' || l.sink === sink) && (needle === '' || l.text.toLowerCase().includes(needle)),
    );
  }, [lines, filter, sink]);

  useEffect(() => {
    const el = view.current;
    if (el !== null && !paused && following.current) el.scrollTop = el.scrollHeight;
  }, [shown, paused]);

  return (
    <div className="output" data-testid="job-output">
      <TailControls
        paused={paused}
        onPausedChange={setPaused}
        filter={filter}
        onFilterChange={setFilter}
        filterLabel="Filter output"
        placeholder="Filter records…"
      >
        <label className="visually-hidden" htmlFor={`${id}-sink`}>
          Sink
        </label>
        <select
          id={`${id}-sink`}
          className="input"
          value={sink}
          onChange={(e) => {
            setSink(e.currentTarget.value);
          }}
        >
          <option value="">All sinks</option>
          {sinks.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <span className="muted small" role="status" data-testid="output-status">
          {paused ? 'Paused' : ended ? 'Ended' : 'Live'} · {formatCount(shown.length)} of{' '}
          {formatCount(lines.length)} records (last {formatCount(OUTPUT_LINES)} kept)
          {dropped > 0
            ? ` · ${formatCount(dropped)} not shown (they arrived faster than they were read)`
            : ''}
          {!live ? ' · the JobManager no longer holds this job’s live output: its stored results' : ''}
        </span>
      </TailControls>
      {error !== null ? <p className="field-error">Cannot read the output: {error}</p> : null}
      {lines.length === 0 ? (
        <Empty title={ended ? 'No output' : 'No output yet'}>
          <p>
            Records of the job&apos;s <code>collect()</code> sinks appear here as they are produced. What its{' '}
            <code>print()</code> sinks write is on the Stdout tab of the TaskManagers that run them.
          </p>
        </Empty>
      ) : (
        <ol
          className="output-lines"
          ref={view}
          aria-label="Output records"
          onScroll={(e) => {
            const el = e.currentTarget;
            following.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }}
        >
          {shown.map((l) => (
            <li key={l.seq} data-testid="output-record">
              <span className="output-meta">
                {l.at > 0 ? formatTime(new Date(l.at).toISOString()) : ''} {l.sink}
              </span>
              <code>{l.text}</code>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
