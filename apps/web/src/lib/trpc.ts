import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { AppRouter, RouterErrorShape, RouterInputs, RouterOutputs } from '@freshet/jobmanager/router';

/**
 * Typed hooks for the JobManager's API: wrap the app in `TRPCProvider`, then
 * `const trpc = useTRPC()` and `useQuery(trpc.cluster.overview.queryOptions())`.
 */
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** Inputs, outputs and error shape of every procedure, e.g. `RouterOutputs['taskManagers']['list']`. */
export type { RouterErrorShape, RouterInputs, RouterOutputs };
/** `cluster.overview` (also what `cluster.onUpdate` streams). */
export type ClusterOverview = RouterOutputs['cluster']['overview'];
/** One row of `taskManagers.list`. */
export type TaskManagerInfo = RouterOutputs['taskManagers']['list'][number];
/** A TaskManager's liveness as the JobManager judges it. */
export type TaskManagerStatus = TaskManagerInfo['status'];

/**
 * Path of the JobManager's API as the browser sees it: the dashboard proxies
 * `/trpc/*` to FRESHET_JOBMANAGER_URL (see `app/trpc/[...trpc]/route.ts`).
 */
export const TRPC_PATH = '/trpc';

/**
 * Creates the browser's tRPC client: subscriptions over SSE, everything else
 * batched over HTTP, both through the dashboard's own origin.
 */
export function createBrowserTRPCClient(): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url: TRPC_PATH }),
        // The JobManager refuses batches above --max-batch-size (10 by default).
        false: httpBatchLink({ url: TRPC_PATH, maxItems: 10 }),
      }),
    ],
  });
}
