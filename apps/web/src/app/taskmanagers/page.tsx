import type { Metadata } from 'next';
import { TaskManagersView } from '@/components/TaskManagersView';

export const metadata: Metadata = { title: 'TaskManagers' };

/** `/taskmanagers`: the workers and their liveness. */
export default function TaskManagersPage() {
  return (
    <>
      <div className="page-head">
        <h1>TaskManagers</h1>
        <p className="muted">Workers registered with the JobManager. A silent one turns LATE, then LOST.</p>
      </div>
      <TaskManagersView />
    </>
  );
}
