/**
 * `freshet submit PROGRAM --jobmanager URL`: compile here, upload, submit,
 * print the job id and return (as `freshet run --jobmanager --detached`).
 */
import type { Command } from 'commander';
import { printJson } from '../output.js';
import { planOverridesOfOptions, withPlanOptions, type PlanCommandOptions } from './plan.js';
import { call, connect, uploadProgram, withConnectionOptions, type ConnectionOptions } from './jobs.js';

/** Options of `freshet submit`. */
export interface SubmitCommandOptions extends PlanCommandOptions, ConnectionOptions {
  name?: string;
  /** A project directory's or archive's entry file, relative to it. */
  entry?: string;
}

/** Uploads and submits; returns the new job's id. */
export async function submitJob(
  file: string,
  args: string[],
  opts: SubmitCommandOptions,
): Promise<{ jobId: string; artifactId: string }> {
  const client = await connect(opts);
  const { artifactId } = await uploadProgram(client, opts.jobmanager, file, opts.entry);
  const { jobId } = await call(opts.jobmanager, () =>
    client.jobs.submit.mutate({
      artifactId,
      args,
      ...planOverridesOfOptions(opts),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
    }),
  );
  return { jobId, artifactId };
}

/** Registers `freshet submit`. */
export function register(program: Command): void {
  withConnectionOptions(
    withPlanOptions(
      program
        .command('submit')
        .description('Upload a program to a JobManager and submit it as a job (returns at once)'),
    ),
  )
    .option('--name <name>', "job name (default: the program's)")
    .option(
      '--entry <path>',
      "a project directory's or archive's entry file, relative to it (default: package.json main, or its only program file)",
    )
    .addHelpText(
      'after',
      '\nExamples:\n  freshet submit wordcount.ts --jobmanager http://127.0.0.1:8081 -p 2 -- --input words.txt\n  freshet submit examples/ --entry wordcount/wordcount.ts -- --input words.txt\n  freshet submit project.zip -- --rate 100',
    )
    .action(async (file: string, args: string[], opts: SubmitCommandOptions) => {
      const submitted = await submitJob(file, args, opts);
      if (opts.json) printJson(submitted);
      else process.stdout.write(`Submitted job ${submitted.jobId}\n`);
    });
}
