/** `freshet taskmanagers`: the TaskManagers the JobManager knows, with their slots and health. */
import type { Command } from 'commander';
import { formatTable, printJson } from '../output.js';
import { call, connect, withJobManagerOptions, type JobManagerOptions } from './jobs.js';
import { formatDuration } from './list.js';

/** `1.2 GiB`, `340.0 MiB`. */
function formatBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return mib >= 1024 ? `${(mib / 1024).toFixed(1)} GiB` : `${mib.toFixed(1)} MiB`;
}

/** Registers `freshet taskmanagers`. */
export function register(program: Command): void {
  withJobManagerOptions(
    program
      .command('taskmanagers')
      .description('List the TaskManagers the JobManager knows: address, slots, heartbeat age and health'),
  ).action(async (opts: JobManagerOptions) => {
    const client = await connect(opts);
    const taskManagers = await call(opts.jobmanager, () => client.taskManagers.list.query());
    if (opts.json) {
      printJson(taskManagers);
      return;
    }
    if (taskManagers.length === 0) {
      process.stdout.write('No TaskManagers have registered\n');
      return;
    }
    const now = Date.now();
    const rows = taskManagers.map((tm) => [
      tm.id,
      `${tm.host}:${tm.dataPort}`,
      tm.status,
      `${tm.slotsUsed}/${tm.slots}`,
      `${formatDuration(Math.max(0, now - Date.parse(tm.lastHeartbeatAt)))} ago`,
      tm.health ? `${(tm.health.cpu * 100).toFixed(0)}%` : '-',
      tm.health ? formatBytes(tm.health.heapUsed) : '-',
      tm.health ? `${tm.health.eventLoopDelayMs.toFixed(1)}ms` : '-',
      tm.health ? formatDuration(tm.health.uptimeSec * 1000) : '-',
    ]);
    process.stdout.write(
      `${formatTable(['ID', 'ADDRESS', 'STATUS', 'SLOTS', 'HEARTBEAT', 'CPU', 'HEAP', 'LOOP DELAY', 'UPTIME'], rows)}\n`,
    );
  });
}
