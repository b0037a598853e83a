'use client';

import { useMemo, useState } from 'react';
import { messageOf } from '@/lib/errors';
import {
  flameLayout,
  frameAt,
  frameColor,
  withoutIdle,
  type FlameFrame,
  type PlacedFrame,
} from '@/lib/flame';
import { useTRPCClient, type RouterOutputs } from '@/lib/trpc';

type CpuProfile = RouterOutputs['profiles']['cpu'];

/** Seconds the button profiles for. */
const PROFILE_SECONDS = 10;
const ROW = 18;
const WIDTH = 1000;

const ms = (v: number): string =>
  v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(v < 10 ? 1 : 0)} ms`;

/**
 * "Profile 10 s": a CPU profile of the TaskManager's task processes
 * (`profiles.cpu`, every thread of each job process, sampled inside its
 * sandbox), drawn as a flame graph; click a frame to zoom to it.
 */
export function CpuProfilePanel({ taskManagerId }: { taskManagerId: string }) {
  const client = useTRPCClient();
  const [profile, setProfile] = useState<CpuProfile | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [focus, setFocus] = useState<number[]>([]);
  // On-CPU time by default: a lightly loaded worker is mostly `(idle)`, which hides where the CPU went.
  const [idle, setIdle] = useState(false);
  const shown = useMemo(
    () => (profile === null ? null : idle ? profile.tree : withoutIdle(profile.tree)),
    [profile, idle],
  );

  const start = async (): Promise<void> => {
    setRunning(true);
    setError(null);
    try {
      const p = await client.profiles.cpu.mutate({ taskManagerId, durationMs: PROFILE_SECONDS * 1000 });
      setProfile(p);
      setFocus([]);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setRunning(false);
    }
  };

  return (
    <section className="panel" aria-labelledby="tm-profile" data-testid="cpu-profile">
      <h2 id="tm-profile" className="panel-title">
        CPU profile{' '}
        <span className="muted small">· every thread of the job processes that run its tasks</span>
      </h2>
      <div className="output-bar">
        <button
          type="button"
          className="button"
          disabled={running}
          onClick={() => {
            void start();
          }}
        >
          {running ? `Profiling for ${PROFILE_SECONDS} s…` : `Profile ${PROFILE_SECONDS} s`}
        </button>
        {profile ? (
          <span className="muted small" role="status" data-testid="cpu-profile-status">
            {ms(profile.tree.total)} sampled ({ms(withoutIdle(profile.tree).total)} on CPU) over{' '}
            {profile.durationMs / 1000} s from {new Date(profile.startedAt).toLocaleTimeString()} · click a
            frame to zoom
          </span>
        ) : null}
        {profile ? (
          <label className="small">
            <input
              type="checkbox"
              checked={idle}
              onChange={(e) => {
                setIdle(e.target.checked);
                setFocus([]);
              }}
            />{' '}
            Show idle time
          </label>
        ) : null}
        {focus.length > 0 ? (
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setFocus([]);
            }}
          >
            Reset zoom
          </button>
        ) : null}
      </div>
      {error !== null ? (
        <p className="field-error" role="alert">
          Cannot profile: {error}
        </p>
      ) : null}
      {shown ? <FlameGraph tree={shown} focus={focus} onFocus={setFocus} /> : null}
    </section>
  );
}

/** An icicle flame graph of `tree` in SVG: the focused frame on top across the width. */
function FlameGraph({
  tree,
  focus,
  onFocus,
}: {
  tree: FlameFrame;
  focus: number[];
  onFocus: (path: number[]) => void;
}) {
  const placed = flameLayout(tree, focus, 1 / WIDTH);
  const depth = placed.reduce((d, p) => Math.max(d, p.depth), 0) + 1;
  const all = frameAt(tree, []).total || 1;
  return (
    <div className="flame-wrap">
      <svg
        className="flame-graph"
        data-testid="flame-graph"
        viewBox={`0 0 ${WIDTH} ${depth * ROW}`}
        width="100%"
        role="img"
        aria-label={`Flame graph of ${tree.name}`}
      >
        {placed.map((p) => (
          <Frame key={p.path.join('.')} p={p} all={all} onFocus={onFocus} />
        ))}
      </svg>
    </div>
  );
}

function Frame({ p, all, onFocus }: { p: PlacedFrame; all: number; onFocus: (path: number[]) => void }) {
  const { frame } = p;
  const x = p.x * WIDTH;
  const w = p.width * WIDTH;
  const where =
    frame.url === undefined ? '' : ` — ${frame.url}${frame.line === undefined ? '' : `:${frame.line}`}`;
  const label = `${frame.name}${where}\n${ms(frame.total)} (${((100 * frame.total) / all).toFixed(1)} %), self ${ms(frame.self)}`;
  return (
    <g
      data-testid="flame-frame"
      data-name={frame.name}
      onClick={() => {
        onFocus(p.path);
      }}
      style={{ cursor: 'pointer' }}
    >
      <title>{label}</title>
      <rect
        x={x}
        y={p.depth * ROW}
        width={Math.max(w - 0.5, 0.5)}
        height={ROW - 1}
        fill={frameColor(frame)}
      />
      {w > 40 ? (
        <text x={x + 3} y={p.depth * ROW + ROW - 5} className="flame-label">
          {fit(frame.name, w)}
        </text>
      ) : null}
    </g>
  );
}

/** The name cut to what fits in `width` viewBox units (about 6.5 per character at the label's size). */
function fit(name: string, width: number): string {
  const chars = Math.floor((width - 6) / 6.5);
  return name.length <= chars ? name : `${name.slice(0, Math.max(1, chars - 1))}…`;
}
