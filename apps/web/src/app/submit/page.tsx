import type { Metadata } from 'next';
import { SubmitGate } from '@/components/SubmitGate';

export const metadata: Metadata = { title: 'Submit' };

/** `/submit`: upload a program, look at its plan, run it. */
export default function SubmitPage() {
  return (
    <>
      <div className="page-head">
        <h1>Submit a program</h1>
        <p className="muted">
          Upload a program, check its optimized dataflow graph, then run it on the cluster.
        </p>
      </div>
      <SubmitGate />
    </>
  );
}
