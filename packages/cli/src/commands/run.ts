/**
 * `freshet run PROGRAM --local`: prepare the job like `freshet plan`, then
 * run it on the local mini-cluster (worker threads of this process). Ctrl-C
 * cancels the job. A FAILED job prints the user's source-mapped stack and
 * exits with code 1.
 *
 * `freshet run PROGRAM --jobmanager URL`: compile here, upload, submit, and
 * follow the job until it ends (printing its state changes and collected
 * records); `--detached` returns after the submission.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  assignRestoredState,
  openRestorePoint,
  RestorePointError,
  runLocalJob,
  StateMappingError,
  type LocalJobOptions,
} from '@freshet/runtime';
import { CliError, printAccumulators, printJson } from '../output.js';
import { parsePositiveInt, prepareJob, withPlanOptions } from './plan.js';
import type { PlanCommandOptions } from './plan.js';
import { connect, followJob, printCollected, call, withCredentialOptions } from './jobs.js';
import { withCheckpointDirOption } from './fault-tolerance.js';
import { submitJob } from './submit.js';

interface RunCommandOptions extends PlanCommandOptions {
  local?: boolean;
  jobmanager?: string;
  token?: string;
  jobmanagerCa?: string;
  detached?: boolean;
  name?: string;
  entry?: string;
  slots?: number;
  timeout?: number;
  fromSavepoint?: string;
  allowNonRestoredState?: boolean;
  partitionMemoryMib?: number;
}

/** Parses a non-negative whole number of MiB. */
function parseMiB(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected a whole number of MiB (0 or more), got '${value}'`);
  return n;
}

/** Collected records `run --local` prints, over all collect ids: the JobManager's `--collect-limit-per-job` default. */
const LOCAL_COLLECT_LIMIT = 10_000;
/** Registers `freshet run`. */
export function register(program: Command): void {
  withCheckpointDirOption(
    withCredentialOptions(
      withPlanOptions(
        program.command('run').description('Compile, plan and run a program (locally with --local)'),
      ),
      'with --jobmanager: ',
    ),
  )
    .option('--local', 'run on a local mini-cluster in this process')
    .option(
      '--jobmanager <url>',
      'submit to this JobManager and follow the job (or set FRESHET_JOBMANAGER_URL; default http://127.0.0.1:8081)',
    )
    .option('--detached', 'with --jobmanager: return once the job is submitted')

    .option('--name <name>', "with --jobmanager: job name (default: the program's)")
    .option(
      '--entry <path>',
      'with --jobmanager and a project directory or archive: its entry file, relative to it',
    )
    .option('--slots <n>', 'task slots (worker threads) of the local mini-cluster', parsePositiveInt)
    .option('--timeout <ms>', 'cancel the job after this many milliseconds', parsePositiveInt)
    .option(
      '--partition-memory-mib <n>',
      "with --local: memory for a staged BATCH job's blocking result partitions, in MiB, before they spill to a temporary directory (default 64)",
      parseMiB,
    )
    .option(
      '-s, --from-savepoint <path>',
      "start from a savepoint or a retained checkpoint's directory (with --jobmanager, on the JobManager; with --local, on this machine)",
    )
    .option(
      '--allow-non-restored-state',
      'with -s: drop state of operators the program no longer has instead of refusing the job',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  freshet run examples/wordcount/wordcount.ts --local --mode batch -p 2 -- --input words.txt\n  freshet run examples/wordcount/wordcount.ts --jobmanager http://127.0.0.1:8081 -p 2 -- --input words.txt',
    )
    .action(async (file: string, args: string[], opts: RunCommandOptions) => {
      if (opts.local && opts.jobmanager !== undefined) {
        throw new CliError('Pass either --local or --jobmanager, not both', 2);
      }
      if (!opts.local) {
        await runOnCluster(file, args, {
          ...opts,
          jobmanager: opts.jobmanager ?? process.env.FRESHET_JOBMANAGER_URL ?? 'http://127.0.0.1:8081',
        });
        return;
      }
      if (opts.entry !== undefined)
        throw new CliError('--entry needs --jobmanager (--local runs a program file)', 2);
      const job = await prepareJob(file, args, opts);
      const restoreFrom =
        opts.fromSavepoint === undefined
          ? undefined
          : await localRestorePoint(opts.fromSavepoint, job.jobGraph, opts.allowNonRestoredState === true);
      const controller = new AbortController();
      const onSigint = (): void => {
        process.stderr.write('Cancelling the job (Ctrl-C again to force quit)...\n');
        controller.abort();
        process.once('SIGINT', () => process.exit(130));
      };
      process.once('SIGINT', onSigint);
      let result;
      try {
        result = await runLocalJob({
          program: { bundlePath: job.compiled.bundlePath, args, ...job.overrides },
          jobGraph: job.jobGraph,
          ...(opts.slots !== undefined ? { slots: opts.slots } : {}),
          ...(opts.timeout !== undefined ? { timeoutMs: opts.timeout } : {}),
          ...(opts.checkpointDir !== undefined ? { checkpointDir: opts.checkpointDir } : {}),
          ...(opts.partitionMemoryMib !== undefined
            ? { partitionMemoryBytes: opts.partitionMemoryMib * 1024 * 1024 }
            : {}),
          ...(restoreFrom !== undefined ? { restoreFrom } : {}),
          signal: controller.signal,
          onRestart: (r) => {
            // A staged BATCH job runs the failed region again alone; its finished inputs are read again.
            const how =
              r.region !== undefined
                ? `region ${r.region} alone in ${r.delayMs} ms, reading its inputs again`
                : `in ${r.delayMs} ms ${r.checkpointId === undefined ? 'from the start' : `from checkpoint ${r.checkpointId}`}`;
            process.stderr.write(
              `Attempt ${r.attempt - 1} failed: ${r.error.message}\nRestarting ${how} (attempt ${r.attempt})\n`,
            );
          },
        });
      } finally {
        process.off('SIGINT', onSigint);
      }

      if (opts.json) {
        printJson(result);
      } else {
        const restarts = restartsText(result.restarts);
        const checkpoints =
          result.checkpoints.length === 0
            ? ''
            : `, ${result.checkpoints.length} checkpoint${result.checkpoints.length === 1 ? '' : 's'}`;
        process.stdout.write(
          `Job '${job.jobGraph.jobName}' ${result.status} in ${Math.round(result.durationMs)} ms${restarts}${checkpoints}\n`,
        );
        printAccumulators(result.accumulators);
        // The cluster's limit (--collect-limit-per-job's default, over all collect ids), said the same way.
        let left = LOCAL_COLLECT_LIMIT;
        for (const [id, records] of Object.entries(result.collected)) {
          const shown = records.slice(0, Math.max(0, left));
          left -= shown.length;
          const more = shown.length < records.length ? `, showing the first ${LOCAL_COLLECT_LIMIT}` : '';
          process.stdout.write(
            `\n${id} (${records.length} record${records.length === 1 ? '' : 's'}${more}):\n`,
          );
          for (const r of shown) process.stdout.write(`  ${JSON.stringify(r)}\n`);
        }
      }
      if (result.status === 'FAILED') {
        const e = result.error;
        throw new CliError(
          `Job failed${failureWhere(e?.operator, e?.subtask)}: ${e?.stack ?? e?.message ?? 'unknown error'}`,
        );
      }
      if (result.status === 'CANCELED') process.exitCode = 130;
    });
}

/**
 * `run --local -s PATH`: a savepoint or retained checkpoint directory on this
 * machine (the local mode's are under its `--checkpoint-dir`), mapped onto
 * the job by operator uid; the mapping's warnings go to stderr.
 */
async function localRestorePoint(
  path: string,
  jobGraph: Parameters<typeof assignRestoredState>[1],
  allowNonRestoredState: boolean,
): Promise<NonNullable<LocalJobOptions['restoreFrom']>> {
  try {
    // Any directory of this machine the user names (relative to the working directory).
    const point = await openRestorePoint(resolve(path), [resolve(path)]);
    const assignment = assignRestoredState(point.metadata, jobGraph, { allowNonRestoredState });
    for (const warning of assignment.warnings) process.stderr.write(`Warning: ${warning}\n`);
    process.stderr.write(
      `Starting from ${point.kind} ${point.path} (checkpoint ${assignment.checkpointId} of job ${point.metadata.jobId})\n`,
    );
    return { point, assignment };
  } catch (err) {
    if (err instanceof RestorePointError || err instanceof StateMappingError)
      throw new CliError(`Cannot start from '${path}': ${err.message}`, 2);
    throw err;
  }
}

/** `, N restarts` of a job's status line (nothing without restarts). */
function restartsText(restarts: number): string {
  return restarts === 0 ? '' : `, ${restarts} restart${restarts === 1 ? '' : 's'}`;
}

/** ` in 'op' (subtask n)` of a failure, the same for a local run and a cluster's job. */
function failureWhere(operator: string | undefined, subtask: number | undefined): string {
  if (!operator) return '';
  return ` in '${operator}'${subtask === undefined ? '' : ` (subtask ${subtask})`}`;
}

/**
 * A cluster's stack traces name the uploaded program's files `program:<path
 * in the upload>` (the JobManager compiled them); the user knows them by the
 * path they gave, as a local run shows them. An archive's files keep their
 * `program:` names.
 */
function localPaths(text: string, file: string): string {
  const path = resolve(file);
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    return text;
  }
  if (isDir) return text.replace(/program:([^\s():]+)/g, (_, rel: string) => join(path, rel));
  if (/\.(zip|tar\.gz|tgz)$/.test(path)) return text;
  return text.replaceAll(`program:${basename(path)}`, path);
}

/** `run --jobmanager`: submit, then follow until the job ends (unless detached). */
async function runOnCluster(
  file: string,
  args: string[],
  opts: RunCommandOptions & { jobmanager: string },
): Promise<void> {
  const url = opts.jobmanager;
  let jobId: string;
  try {
    ({ jobId } = await submitJob(file, args, opts));
  } catch (err) {
    // A program that fails while the JobManager plans it: its stack names the user's files as a local run does.
    if (err instanceof CliError)
      throw new CliError(localPaths(err.message, file), err.details.exitCode, err.code);
    throw err;
  }
  if (opts.detached) {
    if (opts.json) printJson({ jobId });
    else process.stdout.write(`Submitted job ${jobId}\n`);
    return;
  }
  if (!opts.json) process.stdout.write(`Submitted job ${jobId} to ${url}\n`);
  const client = await connect(opts);
  const controller = new AbortController();
  const onSigint = (): void => {
    process.stderr.write('Cancelling the job (Ctrl-C again to stop following)...\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  let result;
  try {
    result = await followJob(client, url, jobId, opts.json === true, controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (opts.json) {
    const { collections } = await call(url, () => client.jobs.collected.query({ jobId }));
    printJson({ ...result, collected: Object.fromEntries(collections.map((c) => [c.collectId, c.records])) });
  } else {
    // The same line as a local run's (the id was printed at submission).
    process.stdout.write(
      `Job '${result.name}' ${result.status} in ${Math.round(result.durationMs)} ms${restartsText(result.restarts)}\n`,
    );
    printAccumulators(result.accumulators);
    await printCollected(client, url, jobId);
  }
  if (result.status === 'FAILED') {
    const at = result.failedIn;
    throw new CliError(
      `Job failed${failureWhere(at?.operator, at?.subtask ?? undefined)}: ${localPaths(result.failureCause ?? 'unknown cause', file)}`,
    );
  }
  if (result.status === 'CANCELED') process.exitCode = 130;
}
