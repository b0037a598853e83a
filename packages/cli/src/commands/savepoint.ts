/**
 * Savepoints from the command line:
 *
 * - `freshet savepoint JOB [--dir DIR]`: a savepoint of a running job
 *   (`jobs.savepoint`), written on the JobManager under its savepoint
 *   directory; the job goes on.
 * - `freshet savepoint inspect PATH [--json]`: what a savepoint (or a
 *   retained checkpoint) holds — the job, its operators by uid, key groups,
 *   state names and sizes. Reads the files here, no JobManager needed.
 * - `freshet stop JOB [--dir DIR] [--drain]`: stop with a savepoint
 *   (`jobs.stop`); the job ends FINISHED.
 * - `freshet rescale JOB -p N`: savepoint, stop, and the job again from it
 *   at the new parallelism (`jobs.rescale`).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { inspectRestorePoint, openRestorePoint, RestorePointError } from '@freshet/runtime';
import { CliError, formatTable, printJson } from '../output.js';
import { formatBytes } from './checkpoints.js';
import { call, connect, withJobManagerOptions, type JobManagerOptions } from './jobs.js';

interface SavepointOptions extends JobManagerOptions {
  dir?: string;
  drain?: boolean;
  parallelism?: number;
}

function parseParallelism(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 4096)
    throw new InvalidArgumentError(`expected 1-4096, got '${value}'`);
  return n;
}

/** The text `freshet savepoint inspect` prints. */
export function renderInspection(
  point: Awaited<ReturnType<typeof openRestorePoint>>,
  vertices: Awaited<ReturnType<typeof inspectRestorePoint>>,
): string {
  const m = point.metadata;
  const out: string[] = [];
  out.push(
    `${point.kind === 'savepoint' ? `Savepoint (${m.trigger})` : 'Checkpoint'} ${point.path}`,
    `Job ${m.jobId} '${m.jobName}', checkpoint ${m.checkpointId} (attempt ${m.attempt}), taken ${new Date(m.takenAt).toISOString()}, format ${m.format} v${m.version}`,
    '',
  );
  const rows: string[][] = [];
  for (const v of vertices) {
    for (const op of v.operators) {
      let keyGroups = 0;
      let bytes = 0;
      let operatorState = false;
      const states = new Map<string, number>();
      for (const s of v.subtasks) {
        bytes += s.bytes;
        const o = s.operators.find((x) => x.uid === op.uid);
        if (o === undefined) continue;
        keyGroups += o.keyGroups;
        operatorState ||= o.operatorState;
        for (const [name, n] of Object.entries(o.states)) states.set(name, (states.get(name) ?? 0) + n);
      }
      rows.push([
        op.uid + (op.generatedUid ? ' (generated)' : ''),
        op.name,
        v.id,
        `${v.parallelism}/${v.maxParallelism}`,
        String(keyGroups),
        [...states].map(([name, n]) => `${name} (${n})`).join(', ') ||
          (operatorState ? 'operator state' : '-'),
        formatBytes(bytes),
      ]);
    }
  }
  out.push(
    formatTable(['UID', 'OPERATOR', 'VERTEX', 'P/MAX', 'KEY GROUPS', 'STATE (ENTRIES)', 'VERTEX SIZE'], rows),
  );
  return `${out.join('\n')}\n`;
}

/** Registers `freshet savepoint`, `freshet stop` and `freshet rescale`. */
export function register(program: Command): void {
  withJobManagerOptions(
    program
      .command('savepoint')
      .description('Take a savepoint of a running job, or inspect one: freshet savepoint inspect PATH')
      .argument('<job>', "job id (see freshet list), or 'inspect'")
      .argument('[path]', 'with inspect: a savepoint or checkpoint directory (or its _metadata)')
      .option('--dir <dir>', "directory for the savepoint, inside the JobManager's savepoint directory"),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  freshet savepoint 0c6b… --dir before-upgrade\n  freshet savepoint inspect ~/.freshet/savepoints/before-upgrade --json',
    )
    .action(async (job: string, path: string | undefined, opts: SavepointOptions) => {
      if (job === 'inspect') {
        if (path === undefined) throw new CliError('freshet savepoint inspect needs a PATH', 2);
        // Read here, as the user may: any readable directory (relative to the working directory).
        let point: Awaited<ReturnType<typeof openRestorePoint>>;
        let vertices: Awaited<ReturnType<typeof inspectRestorePoint>>;
        try {
          point = await openRestorePoint(path, [process.cwd(), '/']);
          vertices = await inspectRestorePoint(point);
        } catch (error) {
          // A missing, corrupt or foreign savepoint is the user's input: one line, no stack.
          if (error instanceof RestorePointError) throw new CliError(error.message);
          throw error;
        }
        if (opts.json) printJson({ kind: point.kind, path: point.path, metadata: point.metadata, vertices });
        else process.stdout.write(renderInspection(point, vertices));
        return;
      }
      if (path !== undefined) throw new CliError(`Unexpected argument '${path}'`, 2);
      const client = await connect(opts);
      const result = await call(opts.jobmanager, () =>
        client.jobs.savepoint.mutate({ jobId: job, ...(opts.dir === undefined ? {} : { dir: opts.dir }) }),
      );
      if (opts.json) printJson(result);
      else
        process.stdout.write(
          `Savepoint of job ${job} (checkpoint ${result.checkpointId}, ${formatBytes(result.bytes)}) written to ${result.path}\n`,
        );
    });

  withJobManagerOptions(
    program
      .command('stop')
      .description('Stop a job with a final savepoint; it ends FINISHED')
      .argument('<job>', 'job id (see freshet list)')
      .option('--dir <dir>', "directory for the savepoint, inside the JobManager's savepoint directory")
      .option('--drain', 'emit the MAX watermark first: every event-time window and timer fires'),
  ).action(async (job: string, opts: SavepointOptions) => {
    const client = await connect(opts);
    const result = await call(opts.jobmanager, () =>
      client.jobs.stop.mutate({
        jobId: job,
        drain: opts.drain === true,
        ...(opts.dir === undefined ? {} : { dir: opts.dir }),
      }),
    );
    if (opts.json) printJson(result);
    else
      process.stdout.write(
        `Job ${job} ${result.status}; savepoint (checkpoint ${result.checkpointId}) in ${result.path}\n`,
      );
  });

  withJobManagerOptions(
    program
      .command('rescale')
      .description('Savepoint, stop, and run the job again from it at a new parallelism')
      .argument('<job>', 'job id (see freshet list)')
      .requiredOption('-p, --parallelism <n>', 'the new parallelism', parseParallelism),
  ).action(async (job: string, opts: SavepointOptions) => {
    const client = await connect(opts);
    const result = await call(opts.jobmanager, () =>
      client.jobs.rescale.mutate({ jobId: job, parallelism: opts.parallelism! }),
    );
    for (const w of result.warnings) process.stderr.write(`Warning: ${w}\n`);
    if (opts.json) printJson(result);
    else
      process.stdout.write(
        `Job ${job} stopped with a savepoint in ${result.savepoint}; rescaled to parallelism ${opts.parallelism!} as job ${result.jobId}\n`,
      );
  });
}
