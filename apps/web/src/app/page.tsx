import type { Metadata } from 'next';
import { OverviewView } from '@/components/OverviewView';

export const metadata: Metadata = { title: 'Overview' };

/** `/`: the cluster at a glance. */
export default function OverviewPage() {
  return (
    <>
      <div className="page-head">
        <h1>Overview</h1>
        <p className="muted">
          TaskManagers, slots, throughput, running and recently ended jobs of this cluster, updated live.
        </p>
      </div>
      <OverviewView />
    </>
  );
}
