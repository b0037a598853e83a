'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { createContext, useContext, useEffect, type ReactNode } from 'react';
import { useTRPC, type ClusterOverview } from '@/lib/trpc';

/** State of the live connection to the JobManager (the `cluster.onUpdate` SSE stream). */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

/** Delay before re-subscribing after the stream failed. */
const RESUBSCRIBE_MS = 3_000;

const LiveStatusContext = createContext<LiveStatus>('connecting');

/**
 * Subscribes once, for the whole app, to `cluster.onUpdate`. Each update
 * replaces the cached `cluster.overview` and marks the TaskManager and job
 * list queries stale, so every page follows the cluster without polling or reloads.
 */
export function LiveClusterProvider({
  children,
  enabled = true,
}: {
  children: ReactNode;
  enabled?: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const subscription = useSubscription(
    trpc.cluster.onUpdate.subscriptionOptions(undefined, {
      // Not on the login page: there is no session yet.
      enabled,
      onData: (overview: ClusterOverview) => {
        queryClient.setQueryData(trpc.cluster.overview.queryKey(), overview);
        void queryClient.invalidateQueries(trpc.taskManagers.pathFilter());
        // Job counts changed or not, the list is cheap: keep it current without polling.
        void queryClient.invalidateQueries(trpc.jobs.list.pathFilter());
      },
    }),
  );
  const status = liveStatusOf(subscription.status, subscription.error !== null);
  // A failed stream (e.g. the JobManager was down when the page opened) is not
  // retried by the link; try again every few seconds until it comes back.
  const { reset } = subscription;
  useEffect(() => {
    if (subscription.status !== 'error') return;
    const timer = setTimeout(reset, RESUBSCRIBE_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [subscription.status, reset]);
  return <LiveStatusContext.Provider value={status}>{children}</LiveStatusContext.Provider>;
}

/** Whether the dashboard is receiving live updates from the JobManager right now. */
export function useLiveStatus(): LiveStatus {
  return useContext(LiveStatusContext);
}

function liveStatusOf(status: 'idle' | 'connecting' | 'pending' | 'error', failed: boolean): LiveStatus {
  switch (status) {
    case 'pending': // connected, waiting for the next update
      return 'live';
    case 'error':
      return 'offline';
    case 'connecting':
      return failed ? 'reconnecting' : 'connecting';
    case 'idle':
      return 'connecting';
  }
}
