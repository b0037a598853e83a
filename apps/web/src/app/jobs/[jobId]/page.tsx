import type { Metadata } from 'next';
import { JobView } from '@/components/JobView';

export const metadata: Metadata = { title: 'Job' };

/** `/jobs/<id>`: one job, live. */
export default async function JobPage({ params }: { params: Promise<{ jobId: string }> }) {
  const { jobId } = await params;
  return <JobView jobId={decodeURIComponent(jobId)} />;
}
