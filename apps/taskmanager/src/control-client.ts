import {
  createTRPCClient,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  TRPCClientError,
  type TRPCClient,
} from '@trpc/client';
import { EventSource } from 'eventsource';
import type { JobManagerEndpoints } from '@freshet/protocol';
import type { ControlPlaneRouter } from '@freshet/protocol/control-plane';

/**
 * A client of the JobManager's control plane, typed by the contract both
 * sides compile against (`@freshet/protocol/control-plane`).
 */
export type ControlPlaneClient = TRPCClient<ControlPlaneRouter>;

/**
 * Creates the control-plane client for the JobManager at `baseUrl` (its API
 * is under `/trpc`), or for the leader among several JobManagers: mutations over HTTP, the commands subscription over
 * server-sent events (Node 20 has no EventSource; the `eventsource` package
 * provides it).
 */
export function createControlPlaneClient(baseUrl: string | JobManagerEndpoints): ControlPlaneClient {
  if (typeof baseUrl === 'string') {
    return createTRPCClient<ControlPlaneRouter>({
      links: [
        splitLink({
          condition: (op) => op.type === 'subscription',
          true: httpSubscriptionLink({ url: `${baseUrl}/trpc`, EventSource }),
          false: httpLink({ url: `${baseUrl}/trpc` }),
        }),
      ],
    });
  }
  // Several JobManagers (high availability): calls follow the leader; the stream subscribes again at the one in use.
  const endpoints = baseUrl;
  return createTRPCClient<ControlPlaneRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url: () => `${endpoints.current}/trpc`, EventSource }),
        false: httpLink({ url: `${endpoints.urls[0]}/trpc`, fetch: endpoints.fetch() }),
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
