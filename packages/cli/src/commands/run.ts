/**
 * `freshet run PROGRAM --local`: prepare the job like `freshet plan`, then
 * run it on the local mini-cluster (worker threads of this process). Ctrl-C
 * cancels the job. A FAILED job prints the user's source-mapped stack and
 * exits with code 1.
 */
import type { Command } from 'commander';
import { runLocalJob } from '@freshet/runtime';
import { CliError, printJson } from '../output.js';
import { parsePositiveInt, prepareJob, withPlanOptions } from './plan.js';
import type { PlanCommandOptions } from './plan.js';

interface RunCommandOptions extends PlanCommandOptions {
  local?: boolean;
  slots?: number;
  timeout?: number;
}

/** Registers `freshet run`. */
export function register(program: Command): void {
  withPlanOptions(
    program.command('run').description('Compile, plan and run a program (locally with --local)'),
  )
    .option('--local', 'run on a local mini-cluster in this process')
    .option('--slots <n>', 'task slots (worker threads) of the local mini-cluster', parsePositiveInt)
    .option('--timeout <ms>', 'cancel the job after this many milliseconds', parsePositiveInt)
    .addHelpText(
      'after',
      '\nExample:\n  freshet run wordcount.ts --local --parallelism 2 -- "to be or not to be"',
    )
    .action(async (file: string, args: string[], opts: RunCommandOptions) => {
      if (!opts.local) {
        throw new CliError(
          'Only local runs are supported for now: pass --local (cluster submission comes with --jobmanager)',
        );
      }
      const job = await prepareJob(file, args, opts);
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
          signal: controller.signal,
        });
      } finally {
        process.off('SIGINT', onSigint);
      }

      if (opts.json) {
        printJson(result);
      } else {
        process.stdout.write(
          `Job '${job.jobGraph.jobName}' ${result.status} in ${Math.round(result.durationMs)} ms\n`,
        );
        for (const [id, records] of Object.entries(result.collected)) {
          process.stdout.write(`\n${id} (${records.length} record${records.length === 1 ? '' : 's'}):\n`);
          for (const r of records) process.stdout.write(`  ${JSON.stringify(r)}\n`);
        }
      }
      if (result.status === 'FAILED') {
        const e = result.error;
        const where = e?.operator
          ? ` in '${e.operator}'${e.subtask === undefined ? '' : ` (subtask ${e.subtask})`}`
          : '';
        throw new CliError(`Job failed${where}: ${e?.stack ?? e?.message ?? 'unknown error'}`);
      }
      if (result.status === 'CANCELED') process.exitCode = 130;
    });
}
