'use client';

import { useCallback, useEffect, useMemo, useState } from 'react';
import type { RouterOutputs } from '@/lib/trpc';
import { useTRPCClient } from '@/lib/trpc';
import { formatCount } from '@/lib/format';
import { useTail } from '@/lib/use-tail';
import { Empty } from './StateViews';
import { TailControls } from './TailControls';

type TapView = RouterOutputs['taps']['poll'];
type TapRecord = TapView['records'][number];

/** Sampled records the panel keeps (the newest). */
const TAP_RECORDS_SHOWN = 200;

/**
 * A live sample of the records crossing one edge of a running job
 * (`taps.poll`, about once a second: each poll also keeps the tap alive),
 * with the producing subtask of each; closing the panel ends the tap
 * (`taps.stop`), and a tab that simply goes away lets it expire.
 */
export function EdgeTapPanel({
  jobId,
  edgeId,
  vertexNames,
  onClose,
}: {
  jobId: string;
  edgeId: string;
  /** Names of the job's vertices by id, for the subtask column and the title. */
  vertexNames: Readonly<Record<string, string>>;
  onClose: () => void;
}) {
  const client = useTRPCClient();
  const [paused, setPaused] = useState(false);
  const [filter, setFilter] = useState('');
  const [view, setView] = useState<TapView | null>(null);
  const load = useCallback(
    async (after: number) => ({ ...(await client.taps.poll.mutate({ jobId, edgeId, after })), dropped: 0 }),
    [client, jobId, edgeId],
  );
  // Pausing stops polling, so the tap expires at the TaskManagers by its time to live.
  const { lines, error } = useTail<TapRecord, TapView & { dropped: number }>(load, {
    paused,
    limit: TAP_RECORDS_SHOWN,
    onPage: setView,
  });
  useEffect(
    () => () => {
      void client.taps.stop.mutate({ jobId, edgeId }).catch(() => undefined);
    },
    [client, jobId, edgeId],
  );
  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const newestFirst = [...lines].reverse();
    return needle === '' ? newestFirst : newestFirst.filter((r) => r.preview.toLowerCase().includes(needle));
  }, [lines, filter]);

  const name = (id: string | undefined): string => (id === undefined ? '…' : (vertexNames[id] ?? id));
  return (
    <section className="panel" aria-labelledby="tap-title" data-testid="edge-tap">
      <h2 id="tap-title" className="panel-title">
        Records crossing {name(view?.source)} → {name(view?.target)}
        {view ? <span className="muted small"> · {view.partitioning}</span> : null}
        <button type="button" className="link-button close-button" onClick={onClose}>
          Close
        </button>
      </h2>
      <TailControls
        paused={paused}
        onPausedChange={setPaused}
        filter={filter}
        onFilterChange={setFilter}
        filterLabel="Filter sampled records"
        placeholder="Filter records…"
      >
        <span className="muted small" role="status" data-testid="edge-tap-status">
          {paused ? 'Paused' : 'Live'} · {formatCount(shown.length)} of {formatCount(lines.length)} sampled
          records
          {view
            ? ` · up to ${view.maxPerSecond}/s from each of ${view.subtasks} producing subtasks, newest first`
            : ''}
        </span>
      </TailControls>
      {error !== null ? <p className="field-error">Cannot tap the edge: {error}</p> : null}
      {lines.length === 0 ? (
        <Empty title="No records sampled yet">
          <p>Records appear here as they cross the edge; an idle edge shows nothing.</p>
        </Empty>
      ) : (
        <ol className="tap-records" data-testid="tap-records">
          {shown.map((r) => (
            <li key={r.seq} data-testid="tap-record">
              <span title="Producing subtask" data-testid="tap-record-subtask">
                {name(r.vertexId)} #{r.subtask}
              </span>
              <span className="muted" title="Event timestamp">
                {r.timestamp === null ? 'no timestamp' : new Date(r.timestamp).toISOString().slice(11, 23)}
              </span>
              <code data-testid="tap-record-value" title={r.truncated ? 'Shortened for display' : undefined}>
                {r.preview}
              </code>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
