/**
 * A typed tRPC client for the JobManager, for Node programs (the CLI, tests):
 * `@freshet/jobmanager/client`. Uses `httpLink`, which also carries the
 * `FormData` of `artifacts.upload`.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createTRPCClient, httpLink, TRPCClientError, type TRPCClient } from '@trpc/client';
import type { ProgramDiagnostic } from '@freshet/planner';
import type { AppRouter } from './router.js';
import type { UploadResult } from './artifacts/service.js';
import { JobManagerEndpoints } from '@freshet/protocol';
import { fetchTrusting } from './tls-fetch.js';

export { fetchTrusting };

/** A typed client of the JobManager's API. */
export type JobManagerClient = TRPCClient<AppRouter>;

/** The JobManager URL to use: `FRESHET_JOBMANAGER_URL` or http://127.0.0.1:8081. */
export const DEFAULT_JOBMANAGER_URL = 'http://127.0.0.1:8081';

/** Options of {@link createJobManagerClient}. */
export interface JobManagerClientOptions {
  /** API token sent as `Authorization: Bearer <token>`; every procedure but a few needs one. */
  token?: string | undefined;
  /** PEM file of CA certificates to trust for an `https://` JobManager, besides the system's. */
  caFile?: string | undefined;
}

/**
 * Creates a client for the JobManager at `url` (its base URL, e.g.
 * `http://127.0.0.1:8081`; `/trpc` is appended), authenticated with `token`.
 * `url` may list several JobManagers, comma-separated: the client follows
 * their leader (as it does when the one JobManager named is a standby).
 */
export function createJobManagerClient(url: string, options: JobManagerClientOptions = {}): JobManagerClient {
  const { token, caFile } = options;
  // Several JobManagers (comma-separated) of a highly available cluster, or one that may be a standby: calls follow the leader.
  const endpoints = new JobManagerEndpoints(url);
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${endpoints.urls[0]}/trpc`,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        fetch: endpoints.fetch(caFile === undefined ? undefined : fetchTrusting(caFile)),
      }),
    ],
  });
}

/** Uploads a program file (its base name is sent for display). */
export async function uploadProgramFile(client: JobManagerClient, path: string): Promise<UploadResult> {
  const form = new FormData();
  form.append('file', new Blob([await readFile(path)]), basename(path));
  return client.artifacts.upload.mutate(form);
}

/**
 * What the program compiler puts first in a bundle for its CommonJS
 * dependencies; the JobManager's compile of an upload adds its own, so an
 * uploaded bundle goes without it.
 */
const REQUIRE_BANNER =
  "import { createRequire as __freshetCreateRequire } from 'node:module';\nconst require = __freshetCreateRequire(import.meta.url);\n";

/**
 * Uploads a program compiled here (`@freshet/planner`'s `compileProgram`):
 * the bundle of a program of several files, sent as `fileName` (`.mjs`).
 */
export async function uploadBundle(
  client: JobManagerClient,
  bundlePath: string,
  fileName: string,
): Promise<UploadResult> {
  let code = await readFile(bundlePath, 'utf8');
  if (code.startsWith(REQUIRE_BANNER)) code = code.slice(REQUIRE_BANNER.length);
  const form = new FormData();
  form.append('file', new Blob([code]), fileName);
  return client.artifacts.upload.mutate(form);
}

/** The diagnostics of a failed upload (`error.data.diagnostics`), if the error carries any. */
export function diagnosticsOf(err: unknown): ProgramDiagnostic[] {
  if (!(err instanceof TRPCClientError)) return [];
  return (err as TRPCClientError<AppRouter>).data?.diagnostics ?? [];
}

export { TRPCClientError };
export type { AppRouter, ProgramDiagnostic };
