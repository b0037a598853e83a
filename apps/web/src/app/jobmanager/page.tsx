import type { Metadata } from 'next';
import { JobManagerLog } from '@/components/OutputTail';

export const metadata: Metadata = { title: 'JobManager' };

/** `/jobmanager`: the JobManager's log, live. */
export default function JobManagerPage() {
  return (
    <>
      <div className="page-head">
        <h1>JobManager</h1>
        <p className="muted">Its latest log lines, live. A line about a job links to it.</p>
      </div>
      <section className="panel" aria-labelledby="jm-log-title">
        <h2 id="jm-log-title" className="panel-title">
          Log
        </h2>
        <JobManagerLog />
      </section>
    </>
  );
}
