/** `freshet cancel JOB`: cancels a job on the JobManager. */
import type { Command } from 'commander';
import { printJson } from '../output.js';
import { call, connect, withJobManagerOptions, type JobManagerOptions } from './jobs.js';

/** Registers `freshet cancel`. */
export function register(program: Command): void {
  withJobManagerOptions(
    program.command('cancel').description('Cancel a job').argument('<job>', 'job id (see freshet list)'),
  ).action(async (jobId: string, opts: JobManagerOptions) => {
    const client = await connect(opts);
    const result = await call(opts.jobmanager, () => client.jobs.cancel.mutate({ jobId }));
    if (opts.json) printJson(result);
    else process.stdout.write(`Cancelling job ${jobId} (${result.status})\n`);
  });
}
