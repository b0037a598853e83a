/**
 * `freshet submit PROGRAM --jobmanager URL`: compile here, upload, submit,
 * print the job id and return (as `freshet run --jobmanager --detached`).
 */
import type { Command } from 'commander';
import { CliError, printJson } from '../output.js';
import { planOverridesOfOptions, withPlanOptions, type PlanCommandOptions } from './plan.js';
import { call, connect, uploadProgram, withConnectionOptions, type ConnectionOptions } from './jobs.js';

/** Options of `freshet submit`. */
export interface SubmitCommandOptions extends PlanCommandOptions, ConnectionOptions {
  name?: string;
  /** A project directory's or archive's entry file, relative to it. */
  entry?: string;
  /** `-s PATH`: start from this savepoint or retained checkpoint (on the JobManager). */
  fromSavepoint?: string;
  allowNonRestoredState?: boolean;
}

/** Adds `-s/--from-savepoint` and `--allow-non-restored-state` (submit, and run on a cluster). */
export function withRestoreOptions(command: Command): Command {
  return command
    .option(
      '-s, --from-savepoint <path>',
      "start from a savepoint or a retained checkpoint's directory, on the JobManager (relative paths from its savepoint directory)",
    )
    .option(
      '--allow-non-restored-state',
      'with -s: drop state of operators the program no longer has instead of refusing the job',
    );
}

/** Uploads and submits; returns the new job's id. */
export async function submitJob(
  file: string,
  args: string[],
  opts: SubmitCommandOptions,
): Promise<{ jobId: string; artifactId: string }> {
  const client = await connect(opts);
  const { artifactId } = await uploadProgram(client, opts.jobmanager, file, opts.entry);
  if (opts.allowNonRestoredState === true && opts.fromSavepoint === undefined)
    throw new CliError('--allow-non-restored-state needs -s/--from-savepoint', 2);
  const { jobId, warnings } = await call(opts.jobmanager, () =>
    client.jobs.submit.mutate({
      artifactId,
      args,
      ...planOverridesOfOptions(opts),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      ...(opts.fromSavepoint !== undefined
        ? { savepointPath: opts.fromSavepoint, allowNonRestoredState: opts.allowNonRestoredState === true }
        : {}),
    }),
  );
  for (const w of warnings) process.stderr.write(`Warning: ${w}\n`);
  return { jobId, artifactId };
}

/** Registers `freshet submit`. */
export function register(program: Command): void {
  withRestoreOptions(
    withConnectionOptions(
      withPlanOptions(
        program
          .command('submit')
          .description('Upload a program to a JobManager and submit it as a job (returns at once)'),
      ),
    ),
  )
    .option('--name <name>', "job name (default: the program's)")
    .option(
      '--entry <path>',
      "a project directory's or archive's entry file, relative to it (default: package.json main, or its only program file)",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  freshet submit wordcount.ts --jobmanager http://127.0.0.1:8081 -p 2 -- --input words.txt\n  freshet submit examples/ --entry wordcount/wordcount.ts -- --input words.txt\n  freshet submit project.zip -- --rate 100\n  freshet submit job.ts -s savepoint-1 --allow-non-restored-state',
    )
    .action(async (file: string, args: string[], opts: SubmitCommandOptions) => {
      const submitted = await submitJob(file, args, opts);
      if (opts.json) printJson(submitted);
      else process.stdout.write(`Submitted job ${submitted.jobId}\n`);
    });
}
