import type { TaskManagerHealth, TaskManagerStatus } from '@freshet/protocol';

/** One TaskManager as persisted. */
export interface TaskManagerRecord {
  id: string;
  host: string;
  dataPort: number;
  controlAddress: string;
  slots: number;
  status: TaskManagerStatus;
  registeredAt: Date;
  lastHeartbeatAt: Date;
  health: TaskManagerHealth | null;
}

/** Fields written when a TaskManager (re-)registers. */
export type TaskManagerRegistration = Pick<
  TaskManagerRecord,
  'host' | 'dataPort' | 'controlAddress' | 'slots'
>;

/**
 * The persistence the cluster registry needs. The JobManager implements it over
 * Prisma; keeping it this narrow lets the registry be tested without a database.
 */
export interface ClusterStore {
  /** Database flavour, shown in the overview. */
  readonly kind: 'pglite' | 'postgres';
  listTaskManagers(): Promise<TaskManagerRecord[]>;
  getTaskManager(id: string): Promise<TaskManagerRecord | null>;
  createTaskManager(id: string, registration: TaskManagerRegistration, now: Date): Promise<TaskManagerRecord>;
  /** Re-activates an existing row after a re-registration. */
  reviveTaskManager(id: string, registration: TaskManagerRegistration, now: Date): Promise<TaskManagerRecord>;
  recordHeartbeat(id: string, at: Date, health: TaskManagerHealth, status: TaskManagerStatus): Promise<void>;
  setTaskManagerStatus(id: string, status: TaskManagerStatus): Promise<void>;
  /** Number of jobs per job status. */
  countJobsByStatus(): Promise<Record<string, number>>;
}
