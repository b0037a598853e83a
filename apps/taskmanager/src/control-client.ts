import { createTRPCClient, httpLink, TRPCClientError, type TRPCClient } from '@trpc/client';
import type { AppRouter } from '@freshet/jobmanager/router';

/** A typed client of the JobManager's tRPC API. */
export type JobManagerClient = TRPCClient<AppRouter>;

/** Creates a client for the JobManager at `baseUrl` (its API is under `/trpc`). */
export function createJobManagerClient(baseUrl: string): JobManagerClient {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${baseUrl}/trpc` })] });
}

/** The tRPC error code of a failed call, or `undefined` when the JobManager was not reached. */
export function errorCode(err: unknown): string | undefined {
  if (err instanceof TRPCClientError) {
    const data: unknown = err.data;
    if (typeof data === 'object' && data !== null && 'code' in data && typeof data.code === 'string')
      return data.code;
  }
  return undefined;
}
