import type { Metadata } from 'next';
import { JobView } from '@/components/JobView';

export const metadata: Metadata = { title: 'Job' };

/** `/jobs/<id>`: one job, live; `?vertex=<id>&subtask=<n>` opens on that vertex's subtasks (log lines link so). */
export default async function JobPage({
  params,
  searchParams,
}: {
  params: Promise<{ jobId: string }>;
  searchParams: Promise<Record<string, string | string[] | undefined>>;
}) {
  const { jobId } = await params;
  const { vertex, subtask } = await searchParams;
  const index = typeof subtask === 'string' && /^\d+$/.test(subtask) ? Number(subtask) : undefined;
  return (
    <JobView
      jobId={decodeURIComponent(jobId)}
      vertexId={typeof vertex === 'string' ? vertex : undefined}
      subtask={index}
    />
  );
}
