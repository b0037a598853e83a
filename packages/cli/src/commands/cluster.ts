/**
 * `freshet cluster start`: a JobManager and N TaskManagers as separate
 * processes in the foreground. Each runs in its own process group; Ctrl-C
 * (or SIGTERM) stops the TaskManagers first (they cancel their tasks and
 * deregister), then the JobManager, and kills whatever is left in the
 * groups, so nothing outlives the command.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { z } from 'zod';
import { CliError } from '../output.js';

const OptionsSchema = z.object({
  taskmanagers: z.coerce.number().int().min(1).max(64),
  slots: z.coerce.number().int().min(1).max(1024),
  port: z.coerce.number().int().min(0).max(65535).optional(),
  dataDir: z.string().min(1).optional(),
});

/** Options of `freshet cluster start`, validated. */
export type ClusterStartOptions = z.infer<typeof OptionsSchema>;

interface Child {
  name: string;
  child: ChildProcess;
  /** Pino JSON lines seen so far are matched against waiters. */
  waiters: Set<(line: Record<string, unknown>) => void>;
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

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
  const children: Child[] = [];
  let stopping = false;
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (resolveExit = resolve));

  const killGroup = (c: Child, signal: NodeJS.Signals): void => {
    if (signal !== 'SIGKILL' && (c.child.exitCode !== null || c.child.signalCode !== null)) return;
    try {
      process.kill(-c.child.pid!, signal);
    } catch {
      // The group is gone already.
    }
  };

  const stop = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    out.write('freshet cluster: stopping…\n');
    // TaskManagers first (in parallel), then the JobManager.
    const tms = children.filter((c) => c.name !== 'jobmanager');
    const jm = children.filter((c) => c.name === 'jobmanager');
    for (const batch of [tms, jm]) {
      for (const c of batch) killGroup(c, 'SIGTERM');
      const deadline = Date.now() + 10_000;
      while (
        Date.now() < deadline &&
        batch.some((c) => c.child.exitCode === null && c.child.signalCode === null)
      )
        await sleep(50);
      for (const c of batch) killGroup(c, 'SIGKILL');
    }
    resolveExit(code);
  };

  const launch = (name: string, bin: string, args: string[]): Child => {
    const child = spawn(process.execPath, [...process.execArgv, bin, ...args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const c: Child = { name, child, waiters: new Set() };
    const prefix = `[${name}]`;
    createInterface({ input: child.stdout }).on('line', (line) => {
      let entry: Record<string, unknown> | undefined;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        entry = undefined;
      }
      if (entry && typeof entry.msg === 'string') {
        for (const w of [...c.waiters]) w(entry);
        out.write(`${prefix} ${LEVELS[Number(entry.level)] ?? 'INFO '} ${entry.msg}\n`);
      } else {
        out.write(`${prefix} ${line}\n`);
      }
    });
    createInterface({ input: child.stderr }).on('line', (line) => out.write(`${prefix} ${line}\n`));
    child.on('exit', (code, signal) => {
      if (stopping) return;
      out.write(
        `freshet cluster: ${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the cluster\n`,
      );
      void stop(1);
    });
    children.push(c);
    return c;
  };

  const waitFor = (c: Child, prefix: string, timeoutMs = 120_000): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.waiters.delete(w);
        reject(new CliError(`${c.name} did not log "${prefix}" within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      const w = (line: Record<string, unknown>): void => {
        if (typeof line.msg === 'string' && line.msg.startsWith(prefix)) {
          clearTimeout(timer);
          c.waiters.delete(w);
          resolve(line);
        }
      };
      c.waiters.add(w);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new CliError(`${c.name} stopped before it was ready`));
      });
    });

  const onSignal = (): void => {
    void stop(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const lastResort = (): void => {
    for (const c of children) killGroup(c, 'SIGKILL');
  };
  process.on('exit', lastResort);
  try {
    const jmArgs: string[] = [];
    if (opts.port !== undefined) jmArgs.push('--port', String(opts.port));
    if (opts.dataDir !== undefined) jmArgs.push('--data-dir', opts.dataDir);
    const jm = launch('jobmanager', binOf('@freshet/jobmanager'), jmArgs);
    const listening = await waitFor(jm, 'JobManager listening on ');
    const url = /listening on (\S+)/.exec(String(listening.msg))?.[1];
    if (url === undefined) throw new CliError('could not read the JobManager URL from its log');
    const registered: Promise<Record<string, unknown>>[] = [];
    for (let i = 1; i <= opts.taskmanagers; i++) {
      const args = ['--jobmanager', url, '--slots', String(opts.slots), '--resource-id', `taskmanager-${i}`];
      if (opts.dataDir !== undefined) args.push('--data-dir', join(opts.dataDir, `taskmanager-${i}`));
      const tm = launch(`taskmanager-${i}`, binOf('@freshet/taskmanager'), args);
      registered.push(waitFor(tm, 'TaskManager registered as '));
    }
    await Promise.all(registered);
    out.write(
      `Freshet cluster is running: JobManager ${url} with ${opts.taskmanagers} TaskManager${opts.taskmanagers === 1 ? '' : 's'} × ${opts.slots} slot${opts.slots === 1 ? '' : 's'} (Ctrl-C stops it)\n`,
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
  process.off('exit', lastResort);
  return code;
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
