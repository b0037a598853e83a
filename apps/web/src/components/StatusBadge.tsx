import type { TaskManagerStatus } from '@/lib/trpc';

const DESCRIPTIONS: Record<TaskManagerStatus, string> = {
  OK: 'Heartbeats arrive on time',
  LATE: 'Heartbeats are late (over half the timeout)',
  LOST: 'No heartbeat within the timeout; its slots are gone',
  DEREGISTERED: 'Shut down cleanly',
};

/** A TaskManager's status as a coloured, labelled badge. */
export function StatusBadge({ status }: { status: TaskManagerStatus }) {
  return (
    <span className="badge" data-status={status} title={DESCRIPTIONS[status]}>
      {status}
    </span>
  );
}
