import {
  createTRPCClient,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
  type TRPCClient,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from '@freshet/jobmanager/router';
import type { DeploymentContractRouter } from './contract.js';

/** A typed client of the JobManager's tRPC API. */
export type JobManagerClient = TRPCClient<AppRouter>;

/** A client of the deployment procedures (commands subscription, reports). */
export type DeploymentClient = TRPCClient<DeploymentContractRouter>;

/** Creates a client for the JobManager at `baseUrl` (its API is under `/trpc`). */
export function createJobManagerClient(baseUrl: string): JobManagerClient {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${baseUrl}/trpc` })] });
}

/**
 * Creates the deployment client: mutations over HTTP, the commands
 * subscription over server-sent events (Node 20 has no EventSource; the
 * `eventsource` package provides it).
 */
export function createDeploymentClient(baseUrl: string): DeploymentClient {
  return createTRPCClient<DeploymentContractRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url: `${baseUrl}/trpc`, EventSource }),
        false: httpLink({ url: `${baseUrl}/trpc` }),
      }),
    ],
  });
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
