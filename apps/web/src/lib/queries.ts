'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect } from 'react';
import type { JobStatus } from '@freshet/protocol';
import type { JobDetails, PlanInput } from './api-shapes';
import { useTRPC } from './trpc';

/** The newest state `jobs.onUpdate` pushed per job on screen (dropped when its view unmounts). */
const latestPushed = new Map<string, JobDetails>();

/** Delay before re-subscribing after a job's stream failed. */
const RESUBSCRIBE_MS = 3_000;

/** Jobs, newest first, optionally of one status; `cluster.onUpdate` keeps the list fresh. */
export function useJobList(status: JobStatus | undefined) {
  const trpc = useTRPC();
  return useQuery(trpc.jobs.list.queryOptions(status ? { status: [status], limit: 200 } : { limit: 200 }));
}

/** Live state of a subscription feeding a query. */
export type StreamState = 'connecting' | 'live' | 'error';

/**
 * One job, kept live by one `jobs.onUpdate` subscription that writes every
 * pushed state into the `jobs.get` query cache (no polling). The
 * subscription ends when the view unmounts.
 */
export function useLiveJob(jobId: string) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const query = useQuery({ ...trpc.jobs.get.queryOptions({ jobId }), staleTime: Infinity });
  const subscription = useSubscription(
    trpc.jobs.onUpdate.subscriptionOptions(
      { jobId },
      {
        onData: (detail) => {
          // A pushed state is newer than what a `jobs.get` still in flight
          // read: cancel that fetch, or its answer lands last and the page
          // stays on an old state once the job stops changing.
          const queryKey = trpc.jobs.get.queryKey({ jobId });
          latestPushed.set(jobId, detail);
          void queryClient.cancelQueries({ queryKey }).then(() => {
            // The newest pushed state, whichever cancellation settles last.
            const latest = latestPushed.get(jobId);
            if (latest !== undefined) queryClient.setQueryData(queryKey, latest);
          });
        },
      },
    ),
  );
  // A failed stream (the JobManager restarted, the network blinked) is
  // retried after a pause; the cached state stays on screen meanwhile.
  const { reset, status } = subscription;
  useEffect(() => {
    if (status !== 'error') return;
    const timer = setTimeout(reset, RESUBSCRIBE_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [status, reset]);
  useEffect(
    () => () => {
      latestPushed.delete(jobId);
    },
    [jobId],
  );
  const stream: StreamState = status === 'pending' ? 'live' : status === 'error' ? 'error' : 'connecting';
  return { ...query, stream };
}

/** Plans a stored program without running it. */
export function usePlan() {
  const trpc = useTRPC();
  return useMutation(trpc.jobs.plan.mutationOptions());
}

/** Submits a stored program as a job. */
export function useSubmit() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return useMutation(
    trpc.jobs.submit.mutationOptions({
      onSuccess: () => queryClient.invalidateQueries(trpc.jobs.list.pathFilter()),
    }),
  );
}

/** Cancels a job. */
export function useCancelJob() {
  const trpc = useTRPC();
  return useMutation(trpc.jobs.cancel.mutationOptions());
}

export type { PlanInput };

/** Triggers a savepoint of a running job; resolves with its directory. */
export function useSavepointJob() {
  const trpc = useTRPC();
  return useMutation(trpc.jobs.savepoint.mutationOptions());
}

/** Stops a job with a final savepoint (optionally draining first). */
export function useStopJob() {
  const trpc = useTRPC();
  return useMutation(trpc.jobs.stop.mutationOptions());
}

/** Savepoint, stop, and the same program again at a new parallelism; resolves with the new job's id. */
export function useRescaleJob() {
  const trpc = useTRPC();
  return useMutation(trpc.jobs.rescale.mutationOptions());
}
