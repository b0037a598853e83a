import type { FreshetDatabase as Database } from '@freshet/db';
import { TaskManagerHealthSchema, type TaskManagerHealth, type TaskManagerStatus } from '@freshet/protocol';
import type { ClusterStore, TaskManagerRecord, TaskManagerRegistration } from './store.js';

type PrismaClient = Database['prisma'];
type TaskManagerRow = NonNullable<Awaited<ReturnType<PrismaClient['taskManager']['findUnique']>>>;

function toRecord(row: TaskManagerRow): TaskManagerRecord {
  // Health is JSON written by this code; anything else (a hand-edited row) shows as unknown.
  const health = TaskManagerHealthSchema.safeParse(row.health);
  return {
    id: row.id,
    host: row.host,
    dataPort: row.dataPort,
    controlAddress: row.controlAddress,
    slots: row.slots,
    status: row.status,
    registeredAt: row.registeredAt,
    lastHeartbeatAt: row.lastHeartbeatAt,
    health: health.success ? health.data : null,
  };
}

/** {@link ClusterStore} over the metadata database. */
export function prismaClusterStore(db: Database): ClusterStore {
  const { prisma } = db;
  return {
    kind: db.kind,

    async listTaskManagers() {
      const rows = await prisma.taskManager.findMany({ orderBy: [{ registeredAt: 'desc' }, { id: 'asc' }] });
      return rows.map(toRecord);
    },

    async getTaskManager(id: string) {
      const row = await prisma.taskManager.findUnique({ where: { id } });
      return row === null ? null : toRecord(row);
    },

    async createTaskManager(id: string, registration: TaskManagerRegistration, now: Date) {
      const row = await prisma.taskManager.create({
        data: { id, ...registration, status: 'OK', registeredAt: now, lastHeartbeatAt: now },
      });
      return toRecord(row);
    },

    async reviveTaskManager(id: string, registration: TaskManagerRegistration, now: Date) {
      const row = await prisma.taskManager.update({
        where: { id },
        data: { ...registration, status: 'OK', registeredAt: now, lastHeartbeatAt: now },
      });
      return toRecord(row);
    },

    async recordHeartbeat(id: string, at: Date, health: TaskManagerHealth, status: TaskManagerStatus) {
      await prisma.taskManager.update({ where: { id }, data: { lastHeartbeatAt: at, health, status } });
    },

    async setTaskManagerStatus(id: string, status: TaskManagerStatus) {
      await prisma.taskManager.update({ where: { id }, data: { status } });
    },

    async countJobsByStatus() {
      const groups = await prisma.job.groupBy({ by: ['status'], _count: { _all: true } });
      const counts: Record<string, number> = {};
      for (const group of groups) counts[group.status] = group._count._all;
      return counts;
    },
  };
}
