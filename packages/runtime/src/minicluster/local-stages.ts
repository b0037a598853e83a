/**
 * A staged BATCH job in the mini-cluster (docs/engine.md, "BATCH jobs in
 * stages"): the same pieces as on a cluster, in one process. The job's
 * regions come from `computeStages`; each region runs as a
 * {@link ClusterJob} of the one "TaskManager" this process is — its slots
 * are worker threads of this process, its blocking channels go through
 * their uplinks to one {@link PartitionStore} (in memory up to its budget,
 * then spilled to files) — and without a data plane, since every slot and
 * partition is here.
 *
 * Scheduling runs in waves, so that only one stage's tasks run at a time:
 * every region whose upstream regions all finished is deployed together,
 * and the next wave starts once the whole wave finished and its workers
 * exited. A region reports FINISHED only once its partitions are complete
 * (`ClusterJob`), so a wave's regions read only complete partitions.
 *
 * Failover is the cluster's region failover: a failed region is run again
 * alone — as the next attempt, after the restart strategy's delay — and
 * reads its upstream regions' partitions again; the regions that wrote them
 * stay finished. The other regions of its wave keep running. Like a staged
 * job on a cluster it takes no checkpoints: each subtask commits its sinks
 * as it ends. Records of collect sinks are kept per region run and handed
 * on only when the run finished, so a re-run region's records are not
 * collected twice.
 */
import type { JobGraph } from '@freshet/graph';
import type { PipelinedRegion, PipelinedRegions } from '../executiongraph/pipelined-regions.js';
import type { RestartStrategy } from '../executiongraph/restart-strategy.js';
import type { PartitionStore } from '../network/partition/partition-store.js';
import type { ProgramSpec } from '../program/index.js';
import type { SerializedError } from '../task/errors.js';
import type { SubtaskMetrics } from '../task/metrics.js';
import type { TaskSettings } from '../task/stream-task.js';
import { ClusterJob, type PartitionLocation } from '../taskexecutor/cluster-job.js';
import type { SlotRestore } from '../taskexecutor/messages.js';
import type { AttemptOutcome } from './local-attempt.js';

/** The one TaskManager a mini-cluster is, as its regions' ClusterJobs name it. */
const SELF = 'local';

/** A failed region about to run again. */
export interface LocalRegionRestart {
  /** The attempt the region runs as next. */
  attempt: number;
  /** Its wait before it starts. */
  delayMs: number;
  /** Why its previous run failed. */
  error: SerializedError;
  /** The region that failed (`PipelinedRegion.index`). */
  region: number;
}

/** Options of {@link runLocalStages}. */
export interface LocalStagesOptions {
  program: ProgramSpec;
  jobGraph: JobGraph;
  jobId: string;
  /** The job's slots (worker threads); subtask `i` runs in slot `i mod slots`. */
  slots: number;
  /** The job's stages (`computeStages`). */
  stages: PipelinedRegions;
  strategy: RestartStrategy;
  /** Holds the blocking result partitions; the caller releases them when the job ends. */
  partitions: PartitionStore;
  /** The state every region starts from (a savepoint); each run of a region restores it again. */
  restore?: SlotRestore;
  loader?: string;
  settings?: Partial<TaskSettings>;
  initialCredits?: number;
  /** The first region's subtasks are running. */
  onRunning(): void;
  onMetrics(metrics: SubtaskMetrics[]): void;
  /** Records of a collect sink, from a region run that finished. */
  onCollected(collectId: string, values: unknown[]): void;
  onRestart(restart: LocalRegionRestart): void;
  /** A wave of regions is about to be deployed (for tests: which regions run together). */
  onWave?(regions: readonly number[]): void;
}

/** A running staged job. */
export interface LocalStages {
  /** Settles once with how the job ended and how often a region restarted, after every worker exited. */
  readonly outcome: Promise<{ outcome: AttemptOutcome; restarts: number }>;
  /** Ends the job with `outcome` (the first call wins): running regions are cancelled. */
  end(outcome: AttemptOutcome): void;
}

/** Runs a staged BATCH job region by region, wave after wave. */
export function runLocalStages(o: LocalStagesOptions): LocalStages {
  const slots = Array.from({ length: o.slots }, () => ({
    taskManagerId: SELF,
    host: '127.0.0.1',
    dataPort: 0,
  }));
  const finished = new Set<number>();
  const running = new Set<ClusterJob>();
  let ended: AttemptOutcome | undefined;
  let wakeUp: (() => void) | undefined;
  let attempt = 0;
  let restarts = 0;
  let runningReported = false;

  const end = (outcome: AttemptOutcome): void => {
    if (ended) return;
    ended = outcome;
    const message = outcome.status === 'CANCELED' ? 'canceled' : (outcome.error?.message ?? 'failed');
    for (const job of running) void job.cancel(message);
    wakeUp?.();
  };

  /** Where the partitions `region` reads are: all in this process. */
  const locationsFor = (region: PipelinedRegion): PartitionLocation[] =>
    region.upstream.flatMap((u) =>
      o.stages.regions[u]!.executions.map((e) => ({
        producer: `${e.vertexId}#${e.subtask}`,
        ...slots[0]!,
      })),
    );

  /** Runs `region` until it finished, or the job ended. */
  const runRegion = async (region: PipelinedRegion): Promise<void> => {
    for (;;) {
      if (ended) return;
      const collected = new Map<string, unknown[]>();
      let error: SerializedError | undefined;
      const job = new ClusterJob({
        jobId: o.jobId,
        attempt,
        self: SELF,
        program: o.program,
        jobGraph: o.jobGraph,
        slots,
        subtasks: region.executions,
        region: region.index,
        blockingExchanges: true,
        partitions: o.partitions,
        partitionLocations: locationsFor(region),
        ...(o.restore ? { restore: o.restore } : {}),
        ...(o.loader !== undefined ? { loader: o.loader } : {}),
        ...(o.settings !== undefined ? { settings: o.settings } : {}),
        ...(o.initialCredits !== undefined ? { initialCredits: o.initialCredits } : {}),
        metricsIntervalMs: 1000,
        listener: {
          onStates: (updates) => {
            for (const u of updates) {
              if (u.state === 'FAILED') error ??= u.error;
              if (u.state === 'RUNNING' && !runningReported) {
                runningReported = true;
                o.onRunning();
              }
            }
            if (updates.some((u) => u.state === 'RUNNING')) o.strategy.onRunning(Date.now());
          },
          onMetrics: (metrics) => {
            o.onMetrics(metrics);
          },
          onCollected: (id, values) => {
            let list = collected.get(id);
            if (list === undefined) collected.set(id, (list = []));
            for (const v of values) list.push(v);
          },
        },
      });
      running.add(job);
      try {
        job.start();
      } catch (e) {
        error = { name: 'Error', message: e instanceof Error ? e.message : String(e) };
        void job.cancel(error.message);
      }
      const status = await job.done;
      running.delete(job);
      if (status === 'FINISHED') {
        for (const [id, values] of collected) o.onCollected(id, values);
        finished.add(region.index);
        return;
      }
      if (ended) return;
      const failure = error ?? { name: 'Error', message: `region ${region.index} ended ${status}` };
      const decision = o.strategy.onFailure(Date.now());
      if (!decision.restart) {
        end({ status: 'FAILED', error: failure });
        return;
      }
      restarts++;
      attempt++;
      o.onRestart({ attempt, delayMs: decision.delayMs, error: failure, region: region.index });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, decision.delayMs);
        const previous = wakeUp;
        wakeUp = () => {
          clearTimeout(timer);
          previous?.();
          resolve();
        };
      });
    }
  };

  const outcome = (async () => {
    const { regions } = o.stages;
    while (!ended && finished.size < regions.length) {
      const wave = regions.filter((r) => !finished.has(r.index) && r.upstream.every((u) => finished.has(u)));
      // computeStages only returns stages that form a DAG, so a wave is never empty.
      if (wave.length === 0) throw new Error('the stages of the job are cyclic');
      o.onWave?.(wave.map((r) => r.index));
      await Promise.all(wave.map(runRegion));
    }
    return { outcome: ended ?? { status: 'FINISHED' as const }, restarts };
  })();
  return { outcome, end };
}
