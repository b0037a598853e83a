/**
 * `freshet submit PROGRAM --jobmanager URL`: compile here, upload, submit,
 * print the job id and return (as `freshet run --jobmanager --detached`).
 */
import type { Command } from 'commander';
import { CliError, printJson } from '../output.js';
import { withPlanOptions, type PlanCommandOptions } from './plan.js';
import { call, connect, jobManagerOption, uploadProgram } from './jobs.js';

/** Options of `freshet submit`. */
export interface SubmitCommandOptions extends PlanCommandOptions {
  jobmanager: string;
  name?: string;
}

/** Uploads and submits; returns the new job's id. */
export async function submitJob(
  file: string,
  args: string[],
  opts: SubmitCommandOptions,
): Promise<{ jobId: string; artifactId: string }> {
  if (opts.checkpointInterval !== undefined || opts.checkpointMode !== undefined || opts.restartStrategy !== undefined) {
    throw new CliError(
      '--checkpoint-interval, --checkpoint-mode and --restart-strategy take effect with --local only for now; on a cluster set them in the program',
      2,
    );
  }
  const client = connect(opts.jobmanager);
  const { artifactId } = await uploadProgram(client, opts.jobmanager, file);
  const { jobId } = await call(opts.jobmanager, () =>
    client.jobs.submit.mutate({
      artifactId,
      args,
      ...(opts.parallelism !== undefined ? { parallelism: opts.parallelism } : {}),
      ...(opts.maxParallelism !== undefined ? { maxParallelism: opts.maxParallelism } : {}),
      ...(opts.mode !== undefined ? { runtimeMode: opts.mode } : {}),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
    }),
  );
  return { jobId, artifactId };
}

/** Registers `freshet submit`. */
export function register(program: Command): void {
  withPlanOptions(
    program
      .command('submit')
      .description('Upload a program to a JobManager and submit it as a job (returns at once)'),
  )
    .addOption(jobManagerOption())
    .option('--name <name>', "job name (default: the program's)")
    .addHelpText(
      'after',
      '\nExample:\n  freshet submit wordcount.ts --jobmanager http://127.0.0.1:8081 -p 2 -- --input words.txt',
    )
    .action(async (file: string, args: string[], opts: SubmitCommandOptions) => {
      const submitted = await submitJob(file, args, opts);
      if (opts.json) printJson(submitted);
      else process.stdout.write(`Submitted job ${submitted.jobId}\n`);
    });
}
