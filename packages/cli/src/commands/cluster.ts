/**
 * `freshet cluster start`: a JobManager and N TaskManagers as separate
 * processes in the foreground, started by `@freshet/launcher`. Each runs in
 * its own process group with its logs forwarded under a `[name]` prefix;
 * Ctrl-C (or SIGTERM) stops the TaskManagers first (they cancel their tasks
 * and deregister), then the JobManager, and kills whatever is left in the
 * groups, so nothing outlives the command.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { ADMIN_TOKEN_FILE, describeExit, ProcessGroup } from '@freshet/launcher';
import { CliError } from '../output.js';
import { loginLink } from './token.js';

const OptionsSchema = z.object({
  taskmanagers: z.coerce.number().int().min(1).max(64),
  slots: z.coerce.number().int().min(1).max(1024),
  port: z.coerce.number().int().min(0).max(65535).optional(),
  dataDir: z.string().min(1).optional(),
  dashboard: z.url().default('http://127.0.0.1:3000'),
  taskFiles: z.string().min(1).optional(),
  taskNetwork: z.enum(['none', 'host']).optional(),
});

/** Options of `freshet cluster start`, validated. */
export type ClusterStartOptions = z.infer<typeof OptionsSchema>;

/** The `bin` module of a workspace app, next to the entry its package exports (dist, or src under tsx). */
function binOf(pkg: string): string {
  const entry = fileURLToPath(import.meta.resolve(pkg));
  return join(entry, '..', entry.endsWith('.ts') ? 'bin.ts' : 'bin.js');
}

/** Runs the cluster until a signal or until one of its processes dies. */
export async function startCluster(
  opts: ClusterStartOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  let stopping = false;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));
  const group = new ProcessGroup({
    bins: { jobManager: binOf('@freshet/jobmanager'), taskManager: binOf('@freshet/taskmanager') },
    // The same Node flags as this process (a TypeScript loader when run from sources).
    execArgv: process.execArgv,
    logs: { forward: out, retain: 1_000 },
    readyTimeoutMs: 120_000,
    graceMs: 10_000,
    onUnexpectedExit: (p, status) => {
      if (stopping) return;
      out.write(
        `freshet cluster: ${p.name} exited unexpectedly (${describeExit(status)}); stopping the cluster\n`,
      );
      void stop(1);
    },
  });

  // TaskManagers first (in parallel: they cancel their tasks and deregister), then the JobManager.
  async function stop(code: number): Promise<void> {
    if (stopping) return;
    stopping = true;
    out.write('freshet cluster: stopping…\n');
    await group.stop();
    resolveExit(code);
  }

  const onSignal = (): void => {
    void stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  try {
    const jm = await group.startJobManager({ port: opts.port, dataDir: opts.dataDir });
    await Promise.all(
      Array.from({ length: opts.taskmanagers }, (_, i) =>
        group.startTaskManager({
          name: `taskmanager-${i + 1}`,
          jobManagerUrl: jm.url,
          slots: opts.slots,
          resourceId: `taskmanager-${i + 1}`,
          dataDir: opts.dataDir === undefined ? undefined : join(opts.dataDir, `taskmanager-${i + 1}`),
          args: [
            ...(opts.taskFiles === undefined ? [] : ['--task-files', opts.taskFiles]),
            ...(opts.taskNetwork === undefined ? [] : ['--task-network', opts.taskNetwork]),
          ],
        }),
      ),
    );
    // One write: whoever sees the cluster running also sees how to log in.
    const hint = await loginHint(jm.url, jm.dataDir, () => jm.adminToken, opts.dashboard);
    out.write(
      `Freshet cluster is running: JobManager ${jm.url} with ${opts.taskmanagers} TaskManager${opts.taskmanagers === 1 ? '' : 's'} × ${opts.slots} slot${opts.slots === 1 ? '' : 's'} (Ctrl-C stops it)\n` +
        hint,
    );
  } catch (err) {
    if (!stopping) {
      out.write(`freshet cluster: ${(err as Error).message}\n`);
      void stop(1);
    }
  }
  const code = await exited;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
  return code;
}

/**
 * How to log in: where the admin token is, and a one-time dashboard login
 * link (a short-lived code, not the token) for a dashboard pointed at this
 * JobManager.
 */
async function loginHint(
  jobManagerUrl: string,
  dataDir: string,
  adminToken: () => string,
  dashboard: string,
): Promise<string> {
  let token: string;
  try {
    token = adminToken();
  } catch {
    return `No admin token in ${join(dataDir, ADMIN_TOKEN_FILE)} (the database already had admin tokens): log in with one of those\n`;
  }
  const { link } = await loginLink({ jobmanager: jobManagerUrl, token }, dashboard);
  return (
    `Admin token: ${join(dataDir, ADMIN_TOKEN_FILE)} (use it with --token or \`freshet login\`)\n` +
    `Dashboard login (one-time link, 15 minutes; start the dashboard with FRESHET_JOBMANAGER_URL=${jobManagerUrl}):\n  ${link}\n`
  );
}

/** Registers `freshet cluster start`. */
export function register(program: Command): void {
  const cluster = program.command('cluster').description('Run a local cluster of separate processes');
  cluster
    .command('start')
    .description(
      'Start a JobManager and N TaskManagers as separate processes in the foreground; Ctrl-C stops them all',
    )
    .option('--taskmanagers <n>', 'number of TaskManager processes', '2')
    .option('--slots <n>', 'task slots per TaskManager', '2')
    .option('--port <port>', 'JobManager port (default: the JobManager default, 8081)')
    .option(
      '--data-dir <dir>',
      'JobManager data directory; TaskManagers cache bundles under <dir>/taskmanager-<i>',
    )
    .option('--dashboard <url>', 'dashboard the printed login link opens', 'http://127.0.0.1:3000')
    .option(
      '--task-files <dirs>',
      "comma-separated directories the jobs' tasks may read and write (their sandbox sees no other host files)",
    )
    .option(
      '--task-network <mode>',
      "none (the default: the jobs' tasks have no network) or host (connectors to brokers, databases, services)",
    )
    .action(async (raw: Record<string, string | undefined>) => {
      const parsed = OptionsSchema.safeParse(raw);
      if (!parsed.success) {
        throw new CliError(
          `Invalid option: ${parsed.error.issues.map((i) => `--${i.path.join('.').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${i.message}`).join('; ')}`,
          2,
        );
      }
      const code = await startCluster(parsed.data);
      if (code !== 0) throw new CliError('the cluster stopped because one of its processes failed', code);
    });
}
