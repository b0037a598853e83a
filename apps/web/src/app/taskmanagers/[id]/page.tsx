import type { Metadata } from 'next';
import { TaskManagerView } from '@/components/TaskManagerView';

export const metadata: Metadata = { title: 'TaskManager' };

/** `/taskmanagers/<id>`: one TaskManager, its subtasks and its health over the last minutes. */
export default async function TaskManagerPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return <TaskManagerView id={decodeURIComponent(id)} />;
}
