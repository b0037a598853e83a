import type { Metadata } from 'next';
import { JobsView } from '@/components/JobsView';

export const metadata: Metadata = { title: 'Jobs' };

/** `/jobs`: every job and its state. */
export default function JobsPage() {
  return (
    <>
      <div className="page-head">
        <h1>Jobs</h1>
        <p className="muted">Every job submitted to this cluster, newest first, updated live.</p>
      </div>
      <JobsView />
    </>
  );
}
