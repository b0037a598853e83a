'use client';

import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { SubtaskHealthPoint, SubtaskView } from '@/lib/api-shapes';
import { messageOf } from '@/lib/errors';
import { formatAge, formatPercent, formatWatermark } from '@/lib/format';
import { useTRPC } from '@/lib/trpc';
import { LineChart, type ChartSeries } from './LineChart';

/** How often a running vertex's history is read again. */
const POLL_MS = 2000;
/** The span the "last minute" averages cover. */
const RECENT_MS = 60_000;
/** The span the charts show (the JobManager keeps five minutes). */
const CHART_MS = 120_000;

/** Flink's backpressure levels: at most 10% of the time backpressured is OK, above 50% HIGH. */
export function backpressureLevel(ratio: number): 'OK' | 'LOW' | 'HIGH' {
  if (ratio > 0.5) return 'HIGH';
  if (ratio > 0.1) return 'LOW';
  return 'OK';
}

const LEVEL_TONE = { OK: 'done', LOW: 'stopping', HIGH: 'failed' } as const;

/** Distinct line colours for up to eight subtasks (then they repeat). */
const COLORS = [
  'hsl(210 70% 50%)',
  'hsl(0 75% 50%)',
  'hsl(128 55% 38%)',
  'hsl(35 90% 45%)',
  'hsl(280 55% 50%)',
  'hsl(180 60% 35%)',
  'hsl(320 60% 50%)',
  'hsl(60 60% 35%)',
];

/** A lag in milliseconds: `120 ms`, `4.2 s`, `3m 5s`. */
function formatLag(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatAge(ms);
}

function mean(points: readonly SubtaskHealthPoint[], pick: (p: SubtaskHealthPoint) => number): number | null {
  if (points.length === 0) return null;
  let sum = 0;
  for (const p of points) sum += pick(p);
  return sum / points.length;
}

/**
 * The Backpressure and Watermarks views of one vertex, per subtask (Flink's
 * two vertex tabs): where each subtask's time goes — busy, backpressured
 * (waiting for credit), idle (waiting for input) — now and over the last
 * minute, its backpressure over the last minutes; its input watermark and
 * how far it trails the wall clock.
 */
export function VertexHealth({
  jobId,
  vertexId,
  subtasks,
  ended,
}: {
  jobId: string;
  vertexId: string;
  subtasks: readonly SubtaskView[];
  ended: boolean;
}) {
  const trpc = useTRPC();
  const [view, setView] = useState<'backpressure' | 'watermarks'>('backpressure');
  const history = useQuery({
    ...trpc.jobs.subtaskHistory.queryOptions({ jobId, vertexId }),
    refetchInterval: ended ? false : POLL_MS,
  });
  const points = history.data?.subtasks ?? {};
  const rows = [...subtasks].sort((a, b) => a.subtaskIndex - b.subtaskIndex);
  const newest = Math.max(0, ...Object.values(points).map((p) => p.at(-1)?.t ?? 0));
  const recent = (index: number): SubtaskHealthPoint[] =>
    (points[index] ?? []).filter((p) => p.t > newest - RECENT_MS);
  const series = (pick: (p: SubtaskHealthPoint) => number | null): ChartSeries[] =>
    rows.map((s, i) => ({
      label: `subtask ${s.subtaskIndex}`,
      color: COLORS[i % COLORS.length]!,
      points: (points[s.subtaskIndex] ?? []).flatMap((p) => {
        const v = pick(p);
        return v === null ? [] : [{ t: p.t, v }];
      }),
    }));

  return (
    <div className="vertex-health" data-testid="vertex-health">
      <div className="toolbar" role="group" aria-label="Vertex view">
        <button
          type="button"
          className="button button-secondary button-small"
          aria-pressed={view === 'backpressure'}
          onClick={() => {
            setView('backpressure');
          }}
        >
          Backpressure
        </button>
        <button
          type="button"
          className="button button-secondary button-small"
          aria-pressed={view === 'watermarks'}
          onClick={() => {
            setView('watermarks');
          }}
        >
          Watermarks
        </button>
        {history.isError ? (
          <span className="field-error small">Cannot load the history: {messageOf(history.error)}</span>
        ) : null}
        {ended ? <span className="muted small">The job ended: figures as last reported.</span> : null}
      </div>
      {view === 'backpressure' ? (
        <section aria-label="Backpressure per subtask">
          <div className="table-wrap">
            <table className="table table-compact">
              <thead>
                <tr>
                  <th scope="col" className="num">
                    Subtask
                  </th>
                  <th scope="col">Backpressure</th>
                  <th scope="col" className="num">
                    Busy
                  </th>
                  <th scope="col" className="num">
                    Backpressured
                  </th>
                  <th scope="col" className="num">
                    Idle
                  </th>
                  <th scope="col">Time now</th>
                  <th scope="col" className="num" title="Mean of the per-second figures over the last minute">
                    Busy / backpressured, last minute
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((s) => {
                  const m = s.metrics;
                  const level = backpressureLevel(m?.backpressureRatio ?? 0);
                  const last = recent(s.subtaskIndex);
                  return (
                    <tr key={s.executionId} data-testid="backpressure-row" data-level={level}>
                      <th scope="row" className="num">
                        {s.subtaskIndex}
                      </th>
                      <td>
                        <span className="badge badge-sm" data-tone={LEVEL_TONE[level]}>
                          {level}
                        </span>
                      </td>
                      <td className="num" data-testid="busy">
                        {formatPercent(m?.busyRatio)}
                      </td>
                      <td className="num" data-testid="backpressured">
                        {formatPercent(m?.backpressureRatio)}
                      </td>
                      <td className="num" data-testid="idle">
                        {formatPercent(m?.idleRatio)}
                      </td>
                      <td>
                        <RatioBar
                          busy={m?.busyRatio ?? 0}
                          backpressured={m?.backpressureRatio ?? 0}
                          idle={m?.idleRatio ?? 0}
                        />
                      </td>
                      <td className="num">
                        {formatPercent(mean(last, (p) => p.busyRatio))} /{' '}
                        {formatPercent(mean(last, (p) => p.backpressureRatio))}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <LineChart
            title="Backpressured share of time per subtask"
            showTitle
            series={series((p) => p.backpressureRatio)}
            format={formatPercent}
            maxY={1}
            windowMs={CHART_MS}
          />
        </section>
      ) : (
        <section aria-label="Watermarks per subtask">
          <div className="table-wrap">
            <table className="table table-compact">
              <thead>
                <tr>
                  <th scope="col" className="num">
                    Subtask
                  </th>
                  <th scope="col" className="num">
                    Input watermark (UTC)
                  </th>
                  <th
                    scope="col"
                    className="num"
                    title="How far the watermark trails the TaskManager's clock"
                  >
                    Lag to wall clock
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((s) => (
                  <tr key={s.executionId} data-testid="watermark-row">
                    <th scope="row" className="num">
                      {s.subtaskIndex}
                    </th>
                    <td className="num" data-testid="watermark">
                      {formatWatermark(s.metrics?.inputWatermark)}
                    </td>
                    <td className="num" data-testid="watermark-lag">
                      {formatLag(s.metrics?.watermarkLagMs)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <LineChart
            title="Watermark lag to wall clock per subtask"
            showTitle
            series={series((p) => p.watermarkLagMs)}
            format={formatLag}
            windowMs={CHART_MS}
          />
        </section>
      )}
    </div>
  );
}

/** Busy, backpressured and idle shares of one subtask's time as one stacked bar. */
function RatioBar({ busy, backpressured, idle }: { busy: number; backpressured: number; idle: number }) {
  return (
    <span
      className="ratio-bar"
      role="img"
      aria-label={`busy ${formatPercent(busy)}, backpressured ${formatPercent(backpressured)}, idle ${formatPercent(idle)}`}
    >
      <span style={{ width: `${busy * 100}%`, background: 'hsl(128 70% 42%)' }} />
      <span style={{ width: `${backpressured * 100}%`, background: 'hsl(0 85% 47%)' }} />
      <span style={{ width: `${idle * 100}%`, background: 'hsl(210 70% 60%)' }} />
    </span>
  );
}
