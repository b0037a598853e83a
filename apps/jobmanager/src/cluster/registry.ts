import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import {
  TASK_MANAGER_STATUSES,
  type DeregisterInput,
  type HeartbeatInput,
  type HeartbeatOutput,
  type RegisterTaskManagerInput,
  type RegisterTaskManagerOutput,
  type TaskManagerStatus,
} from '@freshet/protocol';
import type { Logger } from '../logger.js';
import { ChangeFeed } from './changes.js';
import type { ClusterStore, TaskManagerRecord } from './store.js';

/** A TaskManager as the API shows it (dates as ISO strings, ready for JSON). */
export interface TaskManagerInfo {
  id: string;
  host: string;
  dataPort: number;
  controlAddress: string;
  slots: number;
  slotsUsed: number;
  status: TaskManagerStatus;
  registeredAt: string;
  lastHeartbeatAt: string;
  health: TaskManagerRecord['health'];
}

/** The cluster at a glance, as `cluster.overview` returns it. */
export interface ClusterOverview {
  taskManagers: { total: number; byStatus: Record<TaskManagerStatus, number> };
  /** Slots of live (OK or LATE) TaskManagers. */
  slots: { total: number; free: number };
  jobs: { total: number; byStatus: Record<string, number> };
  jobManager: {
    version: string;
    startedAt: string;
    database: ClusterStore['kind'];
    heartbeatTimeoutMs: number;
  };
}

/** In-memory view of a TaskManager that is not known to be gone. */
interface LiveTaskManager {
  status: 'OK' | 'LATE';
  slots: number;
  slotsUsed: number;
  /** Last sign of life (ms since epoch); the JobManager's start time for rows inherited from a previous run. */
  lastSeenMs: number;
  /** sha256 of the session token; absent for rows inherited from a previous JobManager run. */
  tokenHash?: Buffer;
}

/** Options of {@link ClusterRegistry}. */
export interface ClusterRegistryOptions {
  store: ClusterStore;
  logger: Logger;
  version: string;
  /** Silence after which a TaskManager is LOST; LATE after half of it. */
  heartbeatTimeoutMs: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();

/**
 * The JobManager's book of TaskManagers: registration, heartbeats, liveness.
 * Session tokens live only in memory (as hashes): after a JobManager restart
 * every TaskManager is told to register again, which is also when the new
 * JobManager learns what it runs.
 */
export class ClusterRegistry {
  /** Bumped on every visible change of the cluster (for `cluster.onUpdate`). */
  readonly changes = new ChangeFeed();
  readonly startedAt: Date;
  readonly heartbeatIntervalMs: number;
  readonly #live = new Map<string, LiveTaskManager>();
  readonly #opts: ClusterRegistryOptions;
  readonly #now: () => number;

  constructor(opts: ClusterRegistryOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.startedAt = new Date(this.#now());
    // Four heartbeats per timeout: one lost packet never makes a TaskManager LATE.
    this.heartbeatIntervalMs = Math.max(50, Math.floor(opts.heartbeatTimeoutMs / 4));
  }

  /**
   * Loads TaskManagers a previous run left OK or LATE. They get a full timeout,
   * counted from now, to register again before they are declared LOST.
   */
  async restore(): Promise<void> {
    const startMs = this.startedAt.getTime();
    for (const row of await this.#opts.store.listTaskManagers()) {
      if (row.status !== 'OK' && row.status !== 'LATE') continue;
      this.#live.set(row.id, {
        status: row.status,
        slots: row.slots,
        slotsUsed: row.health?.slotsUsed ?? 0,
        lastSeenMs: Math.max(row.lastHeartbeatAt.getTime(), startMs),
      });
    }
  }

  /** Registers a TaskManager, or re-registers one under its resource id (reviving its row). */
  async register(input: RegisterTaskManagerInput): Promise<RegisterTaskManagerOutput> {
    const { store, logger } = this.#opts;
    const now = new Date(this.#now());
    const registration = {
      host: input.host,
      dataPort: input.dataPort,
      controlAddress: input.controlAddress ?? `${input.host}:${input.dataPort}`,
      slots: input.slots,
    };
    const id = input.resourceId ?? randomUUID();
    const previous = input.resourceId === undefined ? null : await store.getTaskManager(id);
    const reused = previous !== null;
    const row = reused
      ? await store.reviveTaskManager(id, registration, now)
      : await store.createTaskManager(id, registration, now);
    const token = randomBytes(32).toString('base64url');
    this.#live.set(row.id, {
      status: 'OK',
      slots: row.slots,
      slotsUsed: 0,
      lastSeenMs: now.getTime(),
      tokenHash: hashToken(token),
    });
    logger.info(
      { taskManagerId: row.id, host: row.host, dataPort: row.dataPort, slots: row.slots, reused },
      reused ? 'TaskManager re-registered' : 'TaskManager registered',
    );
    this.changes.notify();
    return { taskManagerId: row.id, token, heartbeatIntervalMs: this.heartbeatIntervalMs };
  }

  /** Records a heartbeat; tells the TaskManager to register again if its session is unknown. */
  async heartbeat(input: HeartbeatInput): Promise<HeartbeatOutput> {
    const live = this.#live.get(input.taskManagerId);
    if (live?.tokenHash === undefined) {
      return {
        status: 'reregister',
        reason: `unknown TaskManager ${input.taskManagerId}: the JobManager restarted or declared it lost`,
      };
    }
    this.#authenticate(live.tokenHash, input.token);
    const nowMs = this.#now();
    const recovered = live.status !== 'OK';
    const slotsChanged = live.slotsUsed !== input.health.slotsUsed;
    live.lastSeenMs = nowMs;
    live.status = 'OK';
    live.slotsUsed = input.health.slotsUsed;
    await this.#opts.store.recordHeartbeat(input.taskManagerId, new Date(nowMs), input.health, 'OK');
    if (recovered) this.#opts.logger.info({ taskManagerId: input.taskManagerId }, 'TaskManager is OK again');
    if (recovered || slotsChanged) this.changes.notify();
    return { status: 'ok' };
  }

  /** Marks a TaskManager that shuts down cleanly as DEREGISTERED. */
  async deregister(input: DeregisterInput): Promise<{ status: 'DEREGISTERED' }> {
    const live = this.#live.get(input.taskManagerId);
    if (live?.tokenHash === undefined) {
      throw new TRPCError({
        code: 'NOT_FOUND',
        message: `TaskManager ${input.taskManagerId} has no session with this JobManager; nothing to deregister`,
      });
    }
    this.#authenticate(live.tokenHash, input.token);
    this.#live.delete(input.taskManagerId);
    await this.#opts.store.setTaskManagerStatus(input.taskManagerId, 'DEREGISTERED');
    this.#opts.logger.info({ taskManagerId: input.taskManagerId }, 'TaskManager deregistered');
    this.changes.notify();
    return { status: 'DEREGISTERED' };
  }

  /**
   * Moves silent TaskManagers to LATE (half the timeout) or LOST (the whole
   * timeout), persists the change and notifies subscribers. A LOST TaskManager's
   * session ends: its next heartbeat is told to register again.
   */
  async checkLiveness(): Promise<void> {
    const { heartbeatTimeoutMs, store, logger } = this.#opts;
    const nowMs = this.#now();
    let changed = false;
    for (const [id, live] of [...this.#live]) {
      const silentMs = nowMs - live.lastSeenMs;
      let next: TaskManagerStatus = live.status;
      if (silentMs >= heartbeatTimeoutMs) next = 'LOST';
      else if (silentMs >= heartbeatTimeoutMs / 2) next = 'LATE';
      if (next === live.status) continue;
      if (next === 'LOST') {
        this.#live.delete(id);
        logger.warn({ taskManagerId: id, silentMs }, 'TaskManager lost: no heartbeat within the timeout');
      } else {
        live.status = 'LATE';
        logger.warn({ taskManagerId: id, silentMs }, 'TaskManager late: heartbeats overdue');
      }
      await store.setTaskManagerStatus(id, next);
      changed = true;
    }
    if (changed) this.changes.notify();
  }

  /** Every TaskManager ever registered, newest first. */
  async list(): Promise<TaskManagerInfo[]> {
    const rows = await this.#opts.store.listTaskManagers();
    return rows.map((row) => this.#info(row));
  }

  /** One TaskManager, or NOT_FOUND. */
  async get(id: string): Promise<TaskManagerInfo> {
    const row = await this.#opts.store.getTaskManager(id);
    if (row === null) {
      throw new TRPCError({
        code: 'NOT_FOUND',
        message: `No TaskManager with id ${JSON.stringify(id)}; list them with taskManagers.list`,
      });
    }
    return this.#info(row);
  }

  /** Counts for the dashboard's front page. */
  async overview(): Promise<ClusterOverview> {
    const { store, version, heartbeatTimeoutMs } = this.#opts;
    const [rows, jobsByStatus] = await Promise.all([store.listTaskManagers(), store.countJobsByStatus()]);
    const byStatus = Object.fromEntries(TASK_MANAGER_STATUSES.map((s) => [s, 0])) as Record<
      TaskManagerStatus,
      number
    >;
    let total = 0;
    let used = 0;
    for (const row of rows) {
      const status = this.#statusOf(row);
      byStatus[status]++;
      if (status === 'OK' || status === 'LATE') {
        total += row.slots;
        used += Math.min(row.slots, this.#live.get(row.id)?.slotsUsed ?? 0);
      }
    }
    let jobs = 0;
    for (const n of Object.values(jobsByStatus)) jobs += n;
    return {
      taskManagers: { total: rows.length, byStatus },
      slots: { total, free: total - used },
      jobs: { total: jobs, byStatus: jobsByStatus },
      jobManager: {
        version,
        startedAt: this.startedAt.toISOString(),
        database: store.kind,
        heartbeatTimeoutMs,
      },
    };
  }

  #authenticate(expected: Buffer, token: string): void {
    if (!timingSafeEqual(expected, hashToken(token))) {
      throw new TRPCError({
        code: 'UNAUTHORIZED',
        message: 'Invalid TaskManager token; register again to get a new session',
      });
    }
  }

  /** The in-memory status is fresher than the row between a change and its write. */
  #statusOf(row: TaskManagerRecord): TaskManagerStatus {
    return this.#live.get(row.id)?.status ?? row.status;
  }

  #info(row: TaskManagerRecord): TaskManagerInfo {
    return {
      id: row.id,
      host: row.host,
      dataPort: row.dataPort,
      controlAddress: row.controlAddress,
      slots: row.slots,
      slotsUsed: this.#live.get(row.id)?.slotsUsed ?? 0,
      status: this.#statusOf(row),
      registeredAt: row.registeredAt.toISOString(),
      lastHeartbeatAt: row.lastHeartbeatAt.toISOString(),
      health: row.health,
    };
  }
}
