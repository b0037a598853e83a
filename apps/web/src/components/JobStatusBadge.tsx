import { statusTone } from '@/lib/jobs';

/** A job's or subtask's state as a coloured, labelled badge. */
export function JobStatusBadge({ status }: { status: string }) {
  return (
    <span className="badge" data-tone={statusTone(status)} data-testid="job-status">
      {status}
    </span>
  );
}
