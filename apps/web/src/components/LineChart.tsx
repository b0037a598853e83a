'use client';

import { useEffect, useRef, useState } from 'react';

/** One line of a {@link LineChart}. */
export interface ChartSeries {
  label: string;
  /** A CSS colour (a custom property works: `var(--accent)`). */
  color: string;
  /** Points in time order; `t` in ms since epoch. */
  points: readonly { t: number; v: number }[];
}

/** Props of {@link LineChart}. */
export interface LineChartProps {
  /** Accessible name, e.g. "Cluster throughput, records per second". */
  title: string;
  series: readonly ChartSeries[];
  /** Formats axis and latest values. */
  format: (v: number) => string;
  /** Span of the x axis ending at the newest point. @default 300_000 (5 minutes) */
  windowMs?: number;
  /** Lowest value the y axis shows (0 keeps small wiggles honest). @default 0 */
  minY?: number;
  /** Highest y axis value at least (e.g. 1 for ratios). */
  maxY?: number;
  height?: number;
  /** Show the title above the chart (off when a surrounding heading says it). */
  showTitle?: boolean;
}

/** Width before the first measurement (server rendering). */
const DEFAULT_WIDTH = 600;
const PAD = { top: 10, right: 12, bottom: 22, left: 70 };

/**
 * A small time-series chart in plain SVG: a few lines over the last minutes,
 * three y gridlines, and a legend with the latest values. Enough for a
 * dashboard card without a charting library.
 */
export function LineChart({
  title,
  series,
  format,
  windowMs = 300_000,
  minY = 0,
  maxY,
  height = 160,
  showTitle = false,
}: LineChartProps) {
  const heading = showTitle ? <h3>{title}</h3> : null;
  const all = series.flatMap((s) => s.points);
  const empty = all.length === 0;
  // Drawn at the figure's real pixel width, so text is never stretched.
  const figure = useRef<HTMLElement>(null);
  const [width, setWidth] = useState(DEFAULT_WIDTH);
  useEffect(() => {
    const el = figure.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => {
      const w = Math.round(entry?.contentRect.width ?? 0);
      if (w > 0) setWidth(w);
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
    };
  }, [empty]);
  if (empty) {
    return (
      <figure className="chart chart-empty" aria-label={title} ref={figure}>
        {heading}
        <p className="muted">No data yet: figures appear within a few seconds.</p>
      </figure>
    );
  }
  const tMax = Math.max(...all.map((p) => p.t));
  const tMin = tMax - windowMs;
  let yMax = Math.max(maxY ?? 0, ...all.map((p) => p.v));
  if (yMax <= minY) yMax = minY + 1;
  yMax = niceCeil(yMax);
  const innerW = width - PAD.left - PAD.right;
  const innerH = height - PAD.top - PAD.bottom;
  const x = (t: number): number => PAD.left + ((t - tMin) / windowMs) * innerW;
  const y = (v: number): number => PAD.top + innerH - ((v - minY) / (yMax - minY)) * innerH;
  const ticks = [minY, minY + (yMax - minY) / 2, yMax];

  const latest = series.map((s) => ({ s, last: s.points.at(-1) }));
  const summary = latest
    .map(({ s, last }) => `${s.label} ${last === undefined ? 'no data' : format(last.v)}`)
    .join(', ');

  return (
    <figure className="chart" ref={figure}>
      {heading}
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${title}: latest ${summary}`}
        width={width}
        height={height}
        className="chart-svg"
      >
        {ticks.map((v) => (
          <g key={v}>
            <line x1={PAD.left} x2={width - PAD.right} y1={y(v)} y2={y(v)} className="chart-grid" />
            <text x={PAD.left - 6} y={y(v) + 4} textAnchor="end" className="chart-tick">
              {format(v)}
            </text>
          </g>
        ))}
        <text x={PAD.left} y={height - 4} className="chart-tick">
          −{Math.round(windowMs / 60_000)} min
        </text>
        <text x={width - PAD.right} y={height - 4} textAnchor="end" className="chart-tick">
          now
        </text>
        {series.map((s) => {
          const pts = s.points.filter((p) => p.t >= tMin);
          if (pts.length === 0) return null;
          const d = pts
            .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`)
            .join('');
          return (
            <path
              key={s.label}
              d={d}
              fill="none"
              stroke={s.color}
              strokeWidth={2}
              vectorEffect="non-scaling-stroke"
            />
          );
        })}
      </svg>
      <figcaption className="chart-legend">
        {latest.map(({ s, last }) => (
          <span key={s.label}>
            <span className="chart-swatch" style={{ background: s.color }} aria-hidden="true" />
            {s.label} <strong>{last === undefined ? '–' : format(last.v)}</strong>
          </span>
        ))}
      </figcaption>
    </figure>
  );
}

/** 1, 2 or 5 times a power of ten, at least `v`. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}
