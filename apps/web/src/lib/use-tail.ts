'use client';

import { useEffect, useRef, useState } from 'react';
import { messageOf } from './errors';

/** A page of a numbered tail (`output.tail`, `taskManagers.output`, `cluster.log`). */
export interface TailPage<R> {
  records: R[];
  /** The highest seq so far: asked for as `after` next time. */
  latestSeq: number;
  /** Records after `after` that the server's buffer no longer held. */
  dropped: number;
}

/** Options of {@link useTail}. */
export interface TailOptions<P> {
  /** While paused nothing is fetched; on resume the tail picks up after the last seq seen. */
  paused: boolean;
  /** Records held at most; older ones go. */
  limit: number;
  /** @default 1000 */
  pollMs?: number;
  /** Whether to poll again after `page` (an ended job's output stops once read). @default always */
  again?: (page: P) => boolean;
  /** Sees every page (for what else it carries). */
  onPage?: (page: P) => void;
}

/**
 * Follows a numbered tail on the server: polls `load(after)` with the last
 * seq, appends what arrives (newest last, at most `limit`), counts what the
 * server dropped, and keeps the last error while retrying more slowly.
 * `load` must be stable (memoized) or every render restarts the polling.
 */
export function useTail<R, P extends TailPage<R>>(
  load: (after: number) => Promise<P>,
  { paused, limit, pollMs = 1000, again, onPage }: TailOptions<P>,
): { lines: R[]; dropped: number; error: string | null } {
  const [lines, setLines] = useState<R[]>([]);
  const [dropped, setDropped] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const after = useRef(0);
  // Read at call time, so a new closure on every render does not restart the polling.
  const hooks = useRef({ again, onPage });
  useEffect(() => {
    hooks.current = { again, onPage };
  });

  useEffect(() => {
    if (paused) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async (): Promise<void> => {
      try {
        const page = await load(after.current);
        if (stopped) return;
        setError(null);
        after.current = page.latestSeq;
        hooks.current.onPage?.(page);
        if (page.dropped > 0) setDropped((n) => n + page.dropped);
        if (page.records.length > 0) {
          setLines((old) =>
            old.length + page.records.length > limit
              ? [...old, ...page.records].slice(-limit)
              : [...old, ...page.records],
          );
        }
        if (hooks.current.again?.(page) ?? true) timer = setTimeout(() => void poll(), pollMs);
      } catch (err) {
        if (stopped) return;
        setError(messageOf(err));
        timer = setTimeout(() => void poll(), pollMs * 3);
      }
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [load, paused, limit, pollMs]);

  return { lines, dropped, error };
}
