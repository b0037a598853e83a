'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type {
  ArtifactInfo,
  HealthPoint,
  JobDetail,
  JobSummary,
  PlanInput,
  PlanOutput,
  ThroughputPoint,
} from './api-shapes';
import { useTRPCClient } from './trpc';

interface Unsubscribable {
  unsubscribe(): void;
}

/** The job, artifact and history procedures, as the dashboard calls them. */
interface JobsClient {
  artifacts: { list: { query(): Promise<ArtifactInfo[]> } };
  jobs: {
    list: { query(input: { status?: string; limit?: number }): Promise<{ items: JobSummary[] }> };
    get: { query(input: { jobId: string }): Promise<JobDetail> };
    plan: { mutate(input: PlanInput): Promise<PlanOutput> };
    submit: { mutate(input: PlanInput & { name?: string }): Promise<{ jobId: string }> };
    cancel: { mutate(input: { jobId: string }): Promise<unknown> };
    onUpdate: {
      subscribe(
        input: { jobId: string },
        opts: { onData(d: JobDetail): void; onError(e: unknown): void; onStarted?(): void },
      ): Unsubscribable;
    };
  };
  cluster: { throughput: { query(): Promise<ThroughputPoint[]> } };
  taskManagers: {
    health: { query(input: { id: string }): Promise<{ history: HealthPoint[]; subtasks: unknown[] }> };
  };
}

function useJobsClient(): JobsClient {
  return useTRPCClient() as unknown as JobsClient;
}

/** Query keys of the job views; `cluster.onUpdate` invalidates the list. */
export const jobKeys = {
  all: ['freshet', 'jobs'] as const,
  list: (status: string | undefined) => ['freshet', 'jobs', 'list', status ?? 'ALL'] as const,
  get: (jobId: string) => ['freshet', 'jobs', 'get', jobId] as const,
  throughput: ['freshet', 'cluster', 'throughput'] as const,
  health: (id: string) => ['freshet', 'taskManagers', 'health', id] as const,
};

/** Jobs, newest first, optionally of one status. */
export function useJobList(status: string | undefined) {
  const client = useJobsClient();
  return useQuery({
    queryKey: jobKeys.list(status),
    queryFn: async () =>
      (await client.jobs.list.query(status ? { status, limit: 200 } : { limit: 200 })).items,
  });
}

/** Live state of a subscription feeding a query. */
export type StreamState = 'connecting' | 'live' | 'error';

/**
 * One job, kept live by one `jobs.onUpdate` subscription that writes every
 * pushed state into the query cache (no polling). The subscription stops when
 * the view unmounts.
 */
export function useLiveJob(jobId: string) {
  const client = useJobsClient();
  const queryClient = useQueryClient();
  const [stream, setStream] = useState<StreamState>('connecting');
  const [attempt, setAttempt] = useState(0);
  const query = useQuery({
    queryKey: jobKeys.get(jobId),
    queryFn: () => client.jobs.get.query({ jobId }),
    staleTime: Infinity,
  });
  useEffect(() => {
    const sub = client.jobs.onUpdate.subscribe(
      { jobId },
      {
        onStarted: () => {
          setStream('live');
        },
        onData: (detail) => {
          setStream('live');
          queryClient.setQueryData(jobKeys.get(jobId), detail);
        },
        onError: () => {
          setStream('error');
        },
      },
    );
    return () => {
      sub.unsubscribe();
    };
  }, [client, queryClient, jobId, attempt]);
  // A failed stream is retried after a pause (e.g. the JobManager restarted).
  useEffect(() => {
    if (stream !== 'error') return;
    const timer = setTimeout(() => {
      setStream('connecting');
      setAttempt((a) => a + 1);
    }, 3_000);
    return () => {
      clearTimeout(timer);
    };
  }, [stream]);
  return { ...query, stream };
}

/** Plans a stored program without running it. */
export function usePlan() {
  const client = useJobsClient();
  return useMutation({ mutationFn: (input: PlanInput) => client.jobs.plan.mutate(input) });
}

/** Submits a stored program as a job. */
export function useSubmit() {
  const client = useJobsClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: PlanInput & { name?: string }) => client.jobs.submit.mutate(input),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: jobKeys.all }),
  });
}

/** Cancels a job. */
export function useCancelJob(jobId: string) {
  const client = useJobsClient();
  return useMutation({ mutationFn: () => client.jobs.cancel.mutate({ jobId }) });
}

/** The cluster's throughput over the last minutes. */
export function useThroughput() {
  const client = useJobsClient();
  return useQuery({ queryKey: jobKeys.throughput, queryFn: () => client.cluster.throughput.query() });
}
