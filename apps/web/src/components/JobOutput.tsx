'use client';

import { useEffect, useId, useMemo, useRef, useState } from 'react';
import type { RouterOutputs } from '@/lib/trpc';
import { useTRPCClient } from '@/lib/trpc';
import { messageOf } from '@/lib/errors';
import { formatCount, formatTime } from '@/lib/format';
import { Empty } from './StateViews';

type OutputRecord = RouterOutputs['output']['tail']['records'][number];

/** Records the tab holds at most; older ones scroll away. */
export const OUTPUT_LINES = 1000;
/** How often a running job's output is polled. */
const POLL_MS = 1000;

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
  const [lines, setLines] = useState<OutputRecord[]>([]);
  const [sinks, setSinks] = useState<string[]>([]);
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const [sink, setSink] = useState('');
  const [dropped, setDropped] = useState(0);
  const [live, setLive] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const after = useRef(0);
  const view = useRef<HTMLOListElement>(null);
  /** Whether the view follows the newest line: until the reader scrolls up, and again at the bottom. */
  const following = useRef(true);

  useEffect(() => {
    if (paused) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async (): Promise<void> => {
      try {
        const page = await client.output.tail.query({ jobId, after: after.current });
        if (stopped) return;
        setError(null);
        after.current = page.latestSeq;
        setLive(page.live);
        setSinks(page.sinks);
        if (page.dropped > 0) setDropped((n) => n + page.dropped);
        if (page.records.length > 0) {
          setLines((old) => {
            const next =
              old.length + page.records.length > OUTPUT_LINES
                ? [...old, ...page.records].slice(-OUTPUT_LINES)
                : [...old, ...page.records];
            return next;
          });
        }
        // An ended job's output is complete once read; a running one is polled on.
        if (!ended || page.records.length > 0) timer = setTimeout(() => void poll(), POLL_MS);
      } catch (err) {
        if (stopped) return;
        setError(messageOf(err));
        timer = setTimeout(() => void poll(), POLL_MS * 3);
      }
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [client, jobId, paused, ended]);

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
      <div className="output-bar">
        <button
          type="button"
          className="button button-secondary"
          aria-pressed={paused}
          onClick={() => {
            setPaused((p) => !p);
          }}
        >
          {paused ? 'Resume' : 'Pause'}
        </button>
        <label className="visually-hidden" htmlFor={`${id}-filter`}>
          Filter output
        </label>
        <input
          id={`${id}-filter`}
          className="input mono output-filter"
          type="search"
          placeholder="Filter records…"
          value={filter}
          onChange={(e) => {
            setFilter(e.currentTarget.value);
          }}
        />
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
      </div>
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
