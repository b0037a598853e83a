'use client';

import { useLiveStatus, type LiveStatus } from './LiveCluster';

const LABELS: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/** Shows whether live updates from the JobManager are flowing. */
export function LiveIndicator() {
  const status = useLiveStatus();
  return (
    <span
      className="live"
      data-status={status}
      role="status"
      aria-live="polite"
      title="Live updates from the JobManager"
    >
      <span className="live-dot" aria-hidden="true" />
      {LABELS[status]}
    </span>
  );
}
