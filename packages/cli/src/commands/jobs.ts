/**
 * What the cluster commands (`run --jobmanager`, `submit`, `list`,
 * `cancel`) share: the JobManager URL, the typed client, uploading a
 * program, following a job until it ends.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Option } from 'commander';
import type { Command } from 'commander';
import { formatDiagnostic } from '@freshet/planner';
import { parseJobManagerUrls } from '@freshet/protocol';
import {
  createJobManagerClient,
  DEFAULT_JOBMANAGER_URL,
  diagnosticsOf,
  TRPCClientError,
  type JobManagerClient,
} from '@freshet/jobmanager/client';
import { CliError } from '../output.js';
import { resolveToken } from './credentials.js';
import { uploadFormFor } from './upload.js';

/** How to reach and authenticate with a JobManager: what every cluster command takes. */
export interface ConnectionOptions {
  jobmanager: string;
  /** API token (`--token`, `FRESHET_TOKEN`); absent = the one `freshet login` saved. */
  token?: string | undefined;
  /** CA file for an https:// JobManager (`--jobmanager-ca`, `FRESHET_JOBMANAGER_CA_FILE`). */
  jobmanagerCa?: string | undefined;
}

/** Options every cluster command has. */
export interface JobManagerOptions extends ConnectionOptions {
  json?: boolean;
}

/** The `--jobmanager URL` option, defaulting to `FRESHET_JOBMANAGER_URL` or http://127.0.0.1:8081. */
export function jobManagerOption(): Option {
  return new Option('--jobmanager <url>', 'JobManager base URL')
    .env('FRESHET_JOBMANAGER_URL')
    .default(DEFAULT_JOBMANAGER_URL);
}

/** Adds `--jobmanager`, `--token` and `--jobmanager-ca`. */
export function withConnectionOptions(command: Command): Command {
  return withCredentialOptions(command.addOption(jobManagerOption()));
}

/**
 * Adds `--token` and `--jobmanager-ca`; `scope` prefixes their help (`with
 * --jobmanager: `) for commands that also run locally.
 */
export function withCredentialOptions(command: Command, scope = ''): Command {
  return command
    .addOption(
      new Option('--token <token>', `${scope}API token (default: the one \`freshet login\` saved)`).env(
        'FRESHET_TOKEN',
      ),
    )
    .addOption(
      new Option('--jobmanager-ca <file>', `${scope}PEM CA file to trust for an https:// JobManager`).env(
        'FRESHET_JOBMANAGER_CA_FILE',
      ),
    );
}

/** Adds `--jobmanager`, `--token`, `--jobmanager-ca` and `--json`. */
export function withJobManagerOptions(command: Command): Command {
  return withConnectionOptions(command).option('--json', 'print JSON instead of text');
}

/** A client for the JobManager of `opts`, with its token (`--token`, `FRESHET_TOKEN` or the saved one). */
export async function connect(opts: ConnectionOptions): Promise<JobManagerClient> {
  let urls: string[];
  try {
    // Several, comma-separated, for a highly available cluster: the client follows the leader.
    urls = parseJobManagerUrls(opts.jobmanager);
  } catch (err) {
    throw new CliError(
      `Invalid JobManager URL '${opts.jobmanager}': ${(err as Error).message}; expected e.g. ${DEFAULT_JOBMANAGER_URL}`,
      2,
    );
  }
  return createJobManagerClient(urls.join(','), {
    token: await resolveToken(urls[0]!, opts.token),
    caFile: opts.jobmanagerCa,
  });
}

/**
 * Runs a call against the JobManager, turning its errors into one-line CLI
 * errors (compile diagnostics printed first, with their code frames).
 */
export async function call<T>(url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TRPCClientError) {
      const diagnostics = diagnosticsOf(err);
      for (const d of diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n\n`);
      const cause = (err as { cause?: unknown }).cause;
      if (
        cause instanceof Error &&
        /fetch failed|ECONNREFUSED/.test(`${cause.message} ${String((cause as { cause?: unknown }).cause)}`)
      ) {
        throw new CliError(
          `Cannot reach the JobManager at ${url}: is it running? (set --jobmanager or FRESHET_JOBMANAGER_URL)`,
          1,
          'UNAVAILABLE',
        );
      }
      const code = (err.data as { code?: string } | undefined)?.code;
      if (code === 'UNAUTHORIZED') {
        throw new CliError(
          `${err.message}\nLog in with \`freshet login --jobmanager ${url}\`, or pass --token / FRESHET_TOKEN (the first admin token is in the JobManager's <data-dir>/admin-token)`,
          1,
          'UNAUTHORIZED',
        );
      }
      throw new CliError(err.message);
    }
    throw err;
  }
}

/**
 * Uploads a program: a file (compiled and type-checked here first, so errors
 * point at local files; a single-file program goes as its source, one made
 * of several files as its bundle), or a project directory or archive (the
 * JobManager compiles it; `entry` names its entry file). Returns the
 * artifact id.
 */
export async function uploadProgram(
  client: JobManagerClient,
  url: string,
  target: string,
  entry?: string,
): Promise<{ artifactId: string; fileName: string }> {
  const { form, fileName } = await uploadFormFor(target, entry);
  const uploaded = await call(url, () => client.artifacts.upload.mutate(form));
  return { artifactId: uploaded.artifact.id, fileName };
}

const TERMINAL = new Set(['FINISHED', 'FAILED', 'CANCELED']);

/** How a followed job ended. */
export interface FollowResult {
  jobId: string;
  /** The job's name. */
  name: string;
  status: string;
  failureCause: string | null;
  /** Where the failure happened, when the JobManager recorded the operator (as a local run names it). */
  failedIn?: { operator: string; subtask: number | null };
  /** Restarts of the job (or of its regions). */
  restarts: number;
  durationMs: number;
  /** The job's accumulators, merged across subtasks. */
  accumulators: Record<string, unknown>;
}

/**
 * Polls a job once a second until it ends, printing its state changes and
 * the JobManager's notes (waiting for slots, deploying) unless `quiet`.
 */
export async function followJob(
  client: JobManagerClient,
  url: string,
  jobId: string,
  quiet: boolean,
  signal?: AbortSignal,
): Promise<FollowResult> {
  const seen = new Set<number>();
  for (;;) {
    const job = await call(url, () => client.jobs.get.query({ jobId }));
    for (const e of job.events) {
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      // Subtask transitions are many; the job's own and the notes are what a terminal wants.
      if (quiet || e.executionId !== null || e.kind === 'EXCEPTION') continue;
      process.stdout.write(`${e.at.slice(11, 23)}  ${e.message}\n`);
    }
    if (TERMINAL.has(job.status)) {
      const failedIn = failureLocation(job.exceptions, job.failureCause);
      return {
        jobId,
        name: job.name,
        status: job.status,
        failureCause: job.failureCause,
        ...(failedIn === undefined ? {} : { failedIn }),
        restarts: job.restarts,
        durationMs: job.durationMs,
        accumulators: job.accumulators,
      };
    }
    if (signal?.aborted) {
      await call(url, () => client.jobs.cancel.mutate({ jobId })).catch(() => undefined);
    }
    await sleep(1000);
  }
}

/**
 * The operator and subtask of the job's failure: the first exception whose
 * stack trace is the job's failure cause. The JobManager writes an
 * exception's message as `<task> failed in '<operator>': …` when the error
 * named its operator.
 */
function failureLocation(
  exceptions: readonly {
    at: string;
    message: string;
    stackTrace: string | null;
    subtaskIndex: number | null;
  }[],
  cause: string | null,
): FollowResult['failedIn'] {
  if (cause === null) return undefined;
  const root = [...exceptions]
    .sort((a, b) => a.at.localeCompare(b.at))
    .find((e) => e.stackTrace !== null && e.stackTrace === cause);
  const operator = root === undefined ? undefined : / failed in '(.+?)': /.exec(root.message)?.[1];
  if (root === undefined || operator === undefined) return undefined;
  return { operator, subtask: root.subtaskIndex };
}

/** Prints the records the job's collect sinks shipped, as `freshet run --local` does. */
export async function printCollected(client: JobManagerClient, url: string, jobId: string): Promise<void> {
  const { collections, limit } = await call(url, () => client.jobs.collected.query({ jobId }));
  for (const c of collections) {
    const more = c.truncated ? `, showing the first ${limit}` : '';
    process.stdout.write(`\n${c.collectId} (${c.total} record${c.total === 1 ? '' : 's'}${more}):\n`);
    for (const r of c.records) process.stdout.write(`  ${JSON.stringify(r)}\n`);
  }
}
