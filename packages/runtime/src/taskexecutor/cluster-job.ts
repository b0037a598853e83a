/**
 * A TaskManager's part of one job attempt: runs the global slots assigned to
 * this TaskManager (the same slot worker as the local mini-cluster's, started
 * by `slot-host.ts`) and relays their frames to the other TaskManagers.
 *
 * Wiring: slots of this TaskManager talk to each other over one
 * MessageChannel per pair (as in the local mini-cluster). Every slot also
 * gets an *uplink* MessagePort to this (main) thread, which stands for all
 * slots of other TaskManagers. The main thread relays by channel id — ids
 * are unique per job, and each TaskManager derives the same table from the
 * JobGraph — between uplinks and the one {@link PeerLink} per peer
 * TaskManager: a batch encoded in a worker crosses to the main thread as a
 * transferred buffer and goes to the socket without a copy (the frame header
 * is written into the codec's headroom); a frame read from a socket is cut
 * into its own buffer and transferred to the consuming worker. Credits flow
 * the same way, end to end between each channel's producer and consumer, so
 * the relay never blocks: a slow consumer only withholds its own channel's
 * credit.
 *
 * The mini-cluster runs each region of a staged BATCH job through one too
 * (`minicluster/local-stages.ts`), as the only TaskManager and without a
 * data plane: its slots and partitions are all in that process.
 */
import type { JobGraph } from '@freshet/graph';
import { FRAME_HEADROOM, type PeerConnection } from '../network/connection.js';
import { DEFAULT_INITIAL_CREDITS } from '../network/environment.js';
import { BLOCKING_PEER_SLOT, ChannelTopology, consumersOf, isBlockingEdge } from '../network/topology.js';
import type {
  PartitionReader,
  PartitionStore,
  PartitionWriter,
} from '../network/partition/partition-store.js';
import type { ProgramSpec } from '../program/index.js';
import type { SerializedError } from '../task/errors.js';
import type { SubtaskMetrics } from '../task/metrics.js';
import type { TaskSettings } from '../task/stream-task.js';
import type {
  AlignmentReportMessage,
  ExecutorMessage,
  SlotRestore,
  SubtaskRef,
  TapSampleMessage,
} from './messages.js';
import type { AlignmentAnnouncement } from '../executiongraph/watermark-alignment.js';
import {
  threadSlots,
  type SlotHandle,
  type SlotLauncher,
  type SlotSpec,
  type SlotUplink,
  type StartedSlots,
} from './slot-host.js';
import { JobLinks, type DataPlane, type PeerAddress } from '../network/tcp/data-plane.js';
import type { PeerLink } from '../network/tcp/peer-link.js';
import type { FlameNode } from '../profiling/flame-tree.js';

/** A subtask's state as a TaskManager reports it (the execution states after SCHEDULED/DEPLOYING). */
export type ClusterSubtaskState = 'INITIALIZING' | 'RUNNING' | 'FINISHED' | 'CANCELED' | 'FAILED';

/** One subtask state transition. */
export interface ClusterSubtaskUpdate {
  vertexId: string;
  subtask: number;
  state: ClusterSubtaskState;
  error?: SerializedError;
}

/** What a {@link ClusterJob} tells its TaskManager. */
export interface ClusterJobListener {
  onStates(updates: ClusterSubtaskUpdate[]): void;
  /** Latest metrics of running subtasks (about every `metricsIntervalMs`). */
  onMetrics(metrics: SubtaskMetrics[]): void;
  /** Records of a collect sink. */
  onCollected(collectId: string, values: unknown[]): void;
  /**
   * The data connection to another TaskManager broke before it said CLOSE
   * (it crashed, or the network failed): reported at once, so the
   * JobManager can start failover without waiting for a heartbeat timeout.
   */
  onPeerLost?(peerId: string, error: Error): void;
  /** A subtask's snapshot for checkpoint `checkpointId` (its own buffer): store it, then acknowledge. */
  onCheckpoint?(snapshot: {
    vertexId: string;
    subtask: number;
    checkpointId: number;
    state: Uint8Array;
    /** The earlier checkpoints whose pieces the (incremental) snapshot refers to; empty for a full one. */
    pieces: number[];
    alignmentMs: number;
    syncMs: number;
    /** Packing after the barrier (an asynchronous snapshot). */
    encodeMs?: number;
  }): void;
  /** A subtask's input ended: its final state (its own buffer); it waits for {@link ClusterJob.finishTasks}. */
  onFinalState?(snapshot: {
    vertexId: string;
    subtask: number;
    afterCheckpointId: number;
    state: Uint8Array;
    syncMs: number;
  }): void;
  /** A subtask could not take checkpoint `checkpointId`. */
  onDeclineCheckpoint?(vertexId: string, subtask: number, checkpointId: number, reason: string): void;
  /**
   * The watermarks of a slot's aligned sources (watermark alignment), every
   * update interval: the host reports them to the job's coordinator and
   * hands its answer to {@link ClusterJob.allowWatermarks}. Without this
   * listener `withWatermarkAlignment` has no effect.
   */
  onAlignment?(reports: AlignmentReportMessage[]): void;
  /** Records sampled from tapped edge `edgeId` ({@link ClusterJob.tapEdge}). */
  onTapSamples?(edgeId: string, samples: TapSampleMessage[]): void;
}

/** Options of a {@link ClusterJob}. */
export interface ClusterJobOptions {
  jobId: string;
  attempt: number;
  /** This TaskManager's id. */
  self: string;
  /** The program every slot re-plans (its bundle is local to this TaskManager). */
  program: ProgramSpec;
  jobGraph: JobGraph;
  /** The job's global slots (`slots[i]` is global slot `i`). */
  slots: readonly PeerAddress[];
  /**
   * The subtasks this attempt runs, across all TaskManagers: one pipelined
   * region of the job (it exchanges data with no subtask outside it), so it
   * fails, restarts and finishes on its own. @default every subtask of the job
   */
  subtasks?: readonly { vertexId: string; subtask: number }[];
  /** Index of that region: scopes the data-plane connections. @default 0 */
  region?: number;
  /**
   * The host coordinates checkpoints (a JobManager): a subtask whose input
   * ended hands over its final state and waits to be told to finish.
   * Without it a subtask commits and finishes at once. @default false
   */
  finalCheckpoints?: boolean;
  /** The checkpoint the subtasks restore from, with the encoded state of each (by `vertexId#subtask`). */
  restore?: SlotRestore;
  /**
   * Connects this TaskManager to the attempt's peers. Omitted where every
   * slot of the attempt, and every partition it reads, is in this process
   * (the mini-cluster's staged BATCH jobs): the attempt then has no links.
   */
  dataPlane?: DataPlane;
  /** The attempt's data-plane secret (from the deploy command): the handshakes with the peers prove it. @default '' (no data plane) */
  dataPlaneSecret?: string;
  listener: ClusterJobListener;
  /** Module replacing the program loader in the workers (tests with hand-built graphs). */
  loader?: string;
  settings?: Partial<TaskSettings>;
  /** Batches a consumer can hold per channel. @default 16 (`DEFAULT_INITIAL_CREDITS`) */
  initialCredits?: number;
  /** How often slot workers sample their subtasks' metrics. @default 500 */
  metricsIntervalMs?: number;
  /** Time to connect to every peer TaskManager. @default 30000 */
  connectTimeoutMs?: number;
  /** Where the slots run. @default worker threads of this process ({@link threadSlots}) */
  launcher?: SlotLauncher;
  /**
   * The job runs in stages (a staged BATCH job): the channels of its
   * blocking edges are written to {@link ClusterJobOptions.partitions} by
   * their producers here and served from there (or from the TaskManager
   * holding them) to their consumers, a later deployment. @default false
   */
  blockingExchanges?: boolean;
  /** This TaskManager's blocking result partitions (needed with `blockingExchanges`). */
  partitions?: PartitionStore;
  /**
   * Where the blocking result partitions this attempt's subtasks read are:
   * the TaskManager that ran each producer subtask (`vertexId#subtask`). A
   * TaskManager listed here serves them even when it runs none of the subtasks.
   */
  partitionLocations?: readonly PartitionLocation[];
}

/** The TaskManager holding the blocking result partitions of one producer subtask. */
export interface PartitionLocation extends PeerAddress {
  /** `vertexId#subtask` of the producer. */
  producer: string;
}

/** One blocking channel being read from this TaskManager's partition store. */
interface ServedChannel {
  reader: PartitionReader;
  credits: number;
  send: (frame: Uint8Array) => void;
}

/** How this TaskManager's part of a job ended. */
export type ClusterJobStatus = 'FINISHED' | 'FAILED' | 'CANCELED';

interface ChannelEnds {
  /** Global slot of the producer / consumer. */
  producerSlot: number;
  consumerSlot: number;
  producer: string;
  consumer: string;
  /** A blocking channel (staged BATCH job): its frames go to and come from a result partition. */
  blocking: boolean;
}

const splitKey = (key: string): [string, number] => {
  const i = key.lastIndexOf('#');
  return [key.slice(0, i), Number(key.slice(i + 1))];
};

/** This TaskManager's part of one job attempt. */
export class ClusterJob {
  /** Global slots this TaskManager runs (of the attempt's subtasks). */
  readonly localSlots: number[];
  /** Global slots the attempt's subtasks run in, on any TaskManager. */
  private readonly usedSlots: number[];
  /** Subtasks this TaskManager runs, as `vertexId#subtask`. */
  readonly subtasks: { vertexId: string; subtask: number }[] = [];
  /** Resolves with how this TaskManager's part ended, once its workers are gone and its links closed. */
  readonly done: Promise<ClusterJobStatus>;
  private resolveDone!: (status: ClusterJobStatus) => void;
  private readonly states = new Map<string, ClusterSubtaskState>();
  private readonly channels: (ChannelEnds | undefined)[] = [];
  private readonly workers = new Map<number, SlotHandle>();
  private readonly uplinks = new Map<number, SlotUplink>();
  private started: StartedSlots | undefined;
  private links: JobLinks | undefined;
  private status: ClusterJobStatus | undefined;
  /** Subtasks of the attempt on every TaskManager (`vertexId#subtask`). */
  private readonly attemptSubtasks = new Set<string>();
  private readonly writers = new Map<number, PartitionWriter>();
  private readonly served = new Map<number, ServedChannel>();
  /** Peers that said CLOSE (a TaskManager serving partitions only ends once its readers did). */
  private readonly closedPeers = new Set<string>();
  /** Blocking channels of each local producer subtask whose partition is not complete yet. */
  private readonly openPartitions = new Map<string, Set<number>>();
  /** Local subtasks that finished but whose partitions are not complete yet: reported FINISHED once they are. */
  private readonly finishing = new Set<string>();
  private readonly finishedSlots = new Set<number>();
  /** TaskManager holding the partitions of each producer subtask the attempt reads (`vertexId#subtask`). */
  private readonly partitionHolders = new Map<string, string>();

  constructor(private readonly options: ClusterJobOptions) {
    const { jobGraph, slots, self } = options;
    const n = slots.length;
    const wanted =
      options.subtasks === undefined
        ? undefined
        : new Set(options.subtasks.map((t) => `${t.vertexId}#${t.subtask}`));
    const used = new Set<number>();
    for (const v of jobGraph.vertices) {
      for (let s = 0; s < v.parallelism; s++) {
        if (wanted !== undefined && !wanted.has(`${v.id}#${s}`)) continue;
        this.attemptSubtasks.add(`${v.id}#${s}`);
        used.add(s % n);
        if (slots[s % n]!.taskManagerId === self) this.subtasks.push({ vertexId: v.id, subtask: s });
      }
    }
    this.usedSlots = [...used].sort((a, b) => a - b);
    this.localSlots = this.usedSlots.filter((i) => slots[i]!.taskManagerId === self);
    for (const l of options.partitionLocations ?? []) this.partitionHolders.set(l.producer, l.taskManagerId);
    const topology = new ChannelTopology(jobGraph);
    for (const edge of jobGraph.edges) {
      const P = topology.parallelismOf(edge.source);
      const C = topology.parallelismOf(edge.target);
      const blocking = options.blockingExchanges === true && isBlockingEdge(jobGraph, edge);
      for (let p = 0; p < P; p++) {
        for (const c of consumersOf(edge.partitioning, p, P, C)) {
          this.channels[topology.channelId(edge, p, c)] = {
            producerSlot: p % n,
            consumerSlot: c % n,
            producer: `${edge.source}#${p}`,
            consumer: `${edge.target}#${c}`,
            blocking,
          };
          if (blocking && slots[p % n]!.taskManagerId === self) {
            const key = `${edge.source}#${p}`;
            let open = this.openPartitions.get(key);
            if (open === undefined) this.openPartitions.set(key, (open = new Set()));
            open.add(topology.channelId(edge, p, c));
          }
        }
      }
    }
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Other TaskManagers running subtasks of this attempt (the ones it exchanges data with). */
  get peers(): PeerAddress[] {
    const seen = new Map<string, PeerAddress>();
    // Every TaskManager derives the same set from the same deployment, so each link has both ends.
    const add = (a: PeerAddress): void => {
      if (a.taskManagerId !== this.options.self)
        seen.set(a.taskManagerId, { taskManagerId: a.taskManagerId, host: a.host, dataPort: a.dataPort });
    };
    for (const i of this.usedSlots) add(this.options.slots[i]!);
    for (const l of this.options.partitionLocations ?? []) add(l);
    return [...seen.values()];
  }

  /** Whether this TaskManager runs none of the attempt's subtasks and only serves partitions to them. */
  private get servesOnly(): boolean {
    return this.localSlots.length === 0;
  }

  /** Connects to the peers, starts the slot workers and runs them; settles `done`. */
  start(): void {
    const o = this.options;
    const peers = this.peers;
    const linkOptions = {
      jobId: o.jobId,
      attempt: o.attempt,
      region: o.region ?? 0,
      self: o.self,
      peers,
      secret: o.dataPlaneSecret ?? '',
      ...(o.connectTimeoutMs === undefined ? {} : { timeoutMs: o.connectTimeoutMs }),
    };
    if (o.dataPlane === undefined && peers.length > 0)
      throw new Error(`job ${o.jobId} has peers on other TaskManagers but no data plane to reach them`);
    // Without peers the links are ready at once and stay empty.
    this.links = o.dataPlane?.connectJob(linkOptions) ?? new JobLinks(linkOptions, () => undefined);
    const n = o.slots.length;
    const remoteSlots = this.usedSlots.filter((i) => o.slots[i]!.taskManagerId !== o.self);
    // The partition store is reached through the uplink too.
    if (o.blockingExchanges === true) remoteSlots.push(BLOCKING_PEER_SLOT);
    if (this.servesOnly) {
      void this.run();
      return;
    }
    this.report(this.subtasks.map((t) => ({ ...t, state: 'INITIALIZING' })));
    let ready = 0;
    const specs: SlotSpec[] = [];
    for (const slot of this.localSlots) {
      const data: SlotSpec = {
        slot,
        slots: n,
        jobGraph: o.jobGraph,
        program: o.program,
        metricsIntervalMs: o.metricsIntervalMs ?? 500,
      };
      if (o.subtasks !== undefined) data.subtasks = this.subtasks.map((t) => `${t.vertexId}#${t.subtask}`);
      data.attempt = o.attempt;
      data.jobId = o.jobId;
      if (o.finalCheckpoints === true) data.finalCheckpoints = true;
      if (o.listener.onAlignment !== undefined) data.alignWatermarks = true;
      if (o.blockingExchanges === true) data.blockingExchanges = true;
      if (o.restore !== undefined) {
        const own: SlotRestore['subtasks'] = {};
        for (const t of this.subtasks) {
          const key = `${t.vertexId}#${t.subtask}`;
          const r = o.restore.subtasks[key];
          if (r !== undefined && t.subtask % n === slot) own[key] = r;
        }
        data.restore = { checkpointId: o.restore.checkpointId, subtasks: own };
      }
      if (o.loader !== undefined) data.loader = o.loader;
      if (o.settings !== undefined) data.settings = o.settings;
      if (o.initialCredits !== undefined) data.initialCredits = o.initialCredits;
      specs.push(data);
    }
    const started = (o.launcher ?? threadSlots()).start({
      jobId: o.jobId,
      slots: specs,
      remoteSlots,
      listener: (slot) => ({
        onMessage: (m) => {
          switch (m.type) {
            case 'ready':
              if (++ready === this.localSlots.length) void this.run();
              return;
            case 'collect':
              o.listener.onCollected(m.id, m.values);
              return;
            case 'metrics':
              if (this.status === undefined) o.listener.onMetrics(m.metrics);
              return;
            case 'taskFinished': {
              o.listener.onMetrics([m.metrics]);
              const key = `${m.metrics.vertexId}#${m.metrics.subtask}`;
              // Its partitions' last frames may still be on their way (another port): finished once they are complete.
              if ((this.openPartitions.get(key)?.size ?? 0) > 0) this.finishing.add(key);
              else
                this.report([
                  { vertexId: m.metrics.vertexId, subtask: m.metrics.subtask, state: 'FINISHED' },
                ]);
              return;
            }
            case 'slotFinished':
              this.finishedSlots.add(slot);
              this.maybeFinish();
              return;
            case 'failed':
              this.fail(m.error, m.vertexId === undefined ? undefined : `${m.vertexId}#${m.subtask ?? 0}`);
              return;
            case 'checkpoint':
              if (this.status === undefined) o.listener.onCheckpoint?.(m);
              return;
            case 'finalState':
              if (this.status === undefined) o.listener.onFinalState?.(m);
              return;
            case 'alignment':
              if (this.status === undefined) o.listener.onAlignment?.(m.reports);
              return;
            case 'declineCheckpoint':
              if (this.status === undefined)
                o.listener.onDeclineCheckpoint?.(m.vertexId, m.subtask, m.checkpointId, m.reason);
              return;
            case 'tapSamples':
              if (this.status === undefined) o.listener.onTapSamples?.(m.edgeId, m.samples);
              return;
          }
        },
        onError: (error) => {
          this.fail({ name: error.name, message: error.message, stack: error.stack ?? '' });
        },
        onExit: (code) => {
          if (this.status === undefined)
            this.fail({ name: 'Error', message: `slot ${slot} exited with code ${code}` });
        },
      }),
    });
    this.started = started;
    for (const [slot, handle] of started.handles) this.workers.set(slot, handle);
    for (const [slot, uplink] of started.uplinks) this.uplinks.set(slot, uplink);
  }

  /** Injects barrier `checkpointId` at the running source subtasks here. */
  triggerCheckpoint(checkpointId: number, timestamp: number, stopSources = false): void {
    if (this.status === undefined)
      this.broadcast({
        type: 'triggerCheckpoint',
        checkpointId,
        timestamp,
        ...(stopSources ? { stopSources } : {}),
      });
  }

  /**
   * Samples what the subtasks here write into edge `edgeId` for `ttlMs`
   * (up to `maxPerSecond` records per subtask), reported through
   * {@link ClusterJobListener.onTapSamples}; a second call renews the tap.
   */
  tapEdge(edgeId: string, ttlMs: number, maxPerSecond: number): void {
    if (this.status === undefined) this.broadcast({ type: 'tapEdge', edgeId, ttlMs, maxPerSecond });
  }

  /**
   * A CPU profile of the threads running this job's slots here, for
   * `durationMs`; undefined where the slots share this process (they are
   * not in a job process of their own) or the job has ended.
   */
  profile(durationMs: number): Promise<FlameNode> | undefined {
    if (this.status !== undefined) return undefined;
    return this.started?.profile?.(durationMs);
  }

  /** Stops sampling edge `edgeId`. */
  untapEdge(edgeId: string): void {
    if (this.status === undefined) this.broadcast({ type: 'untapEdge', edgeId });
  }

  /** Stop with `--drain`: every source of this job ends its input now. */
  drainSources(): void {
    if (this.status === undefined) this.broadcast({ type: 'drainSources' });
  }

  /** Checkpoint `checkpointId` completed: the subtasks here commit what is pending up to it. */
  notifyCheckpointComplete(checkpointId: number): void {
    if (this.status === undefined) this.broadcast({ type: 'notifyCheckpointComplete', checkpointId });
  }

  /** Checkpoint `checkpointId` was aborted. */
  notifyCheckpointAborted(checkpointId: number): void {
    if (this.status === undefined) this.broadcast({ type: 'notifyCheckpointAborted', checkpointId });
  }

  /** The aligned sources of each announced group may emit watermarks up to its maximum. */
  allowWatermarks(announcements: readonly AlignmentAnnouncement[]): void {
    if (this.status === undefined && announcements.length > 0)
      this.broadcast({ type: 'allowWatermarks', announcements: [...announcements] });
  }

  /** Checkpoint `checkpointId` holds the final states of `tasks`: they commit and finish. */
  finishTasks(checkpointId: number, tasks: readonly SubtaskRef[]): void {
    if (this.status === undefined) this.broadcast({ type: 'finishTasks', checkpointId, tasks: [...tasks] });
  }

  /** Cancels this TaskManager's part (reports CANCELED) and tells the peers. */
  cancel(message = 'canceled'): Promise<ClusterJobStatus> {
    if (this.status === undefined) {
      this.report(this.pending().map((t) => ({ ...t, state: 'CANCELED' })));
      void this.end('CANCELED', message);
    }
    return this.done;
  }

  private async run(): Promise<void> {
    try {
      await this.links!.ready;
    } catch (error) {
      this.fail({
        name: 'PeerConnectError',
        message: error instanceof Error ? error.message : String(error),
      });
      return;
    }
    if (this.status !== undefined) return;
    this.wireRelay();
    // Frames that waited for the relay may have ended the job already (a peer's CLOSE).
    if (this.status !== undefined) return;
    if (this.options.blockingExchanges === true && !this.servePartitions()) return;
    if (this.servesOnly) {
      this.maybeEndServing();
      return;
    }
    this.broadcast({ type: 'start' });
    this.report(this.subtasks.map((t) => ({ ...t, state: 'RUNNING' })));
  }

  /** Connects the uplinks of the local slots to the peer links. */
  private wireRelay(): void {
    const { slots } = this.options;
    const links = this.links!.links;
    const linkOf = (slot: number): PeerLink | undefined => links.get(slots[slot]!.taskManagerId);
    const ends = (channel: number, from: string): ChannelEnds => {
      const e = this.channels[channel];
      if (!e) throw new Error(`frame for unknown channel ${channel} from ${from}`);
      return e;
    };
    for (const [slot, { conn }] of this.uplinks) {
      conn.open({
        onData: (channel, event) => {
          // The event view starts after the headroom of its own transferred buffer.
          const frame = new Uint8Array(
            event.buffer,
            event.byteOffset - FRAME_HEADROOM,
            event.byteLength + FRAME_HEADROOM,
          );
          const e = ends(channel, `slot ${slot}`);
          if (e.blocking) this.writePartition(channel, event, conn);
          else linkOf(e.consumerSlot)?.sendData(channel, frame);
        },
        onCredit: (channel, credits) => {
          const e = ends(channel, `slot ${slot}`);
          if (!e.blocking) linkOf(e.producerSlot)?.sendCredit(channel, credits);
          else if (this.served.has(channel)) this.addServedCredit(channel, credits);
          else {
            // Its partition is on another TaskManager: the credit goes to the one serving it.
            const holder = this.partitionHolders.get(e.producer);
            if (holder !== undefined) links.get(holder)?.sendCredit(channel, credits);
          }
        },
      });
    }
    for (const [peer, link] of links) {
      const uplinkOf = (slot: number, channel: number): PeerConnection => {
        const u = this.uplinks.get(slot);
        if (!u)
          throw new Error(
            `TaskManager ${peer} sent a frame for channel ${channel}, whose end is not on this TaskManager`,
          );
        return u.conn;
      };
      link.open({
        onData: (channel, frame) => {
          uplinkOf(ends(channel, `TaskManager ${peer}`).consumerSlot, channel).sendData(channel, frame);
        },
        onCredit: (channel, credits) => {
          const e = ends(channel, `TaskManager ${peer}`);
          if (e.blocking) this.addServedCredit(channel, credits);
          else uplinkOf(e.producerSlot, channel).sendCredit(channel, credits);
        },
        onPeerClosed: (close) => {
          this.closedPeers.add(peer);
          if (close.reason === 'finished' && this.servesOnly) this.maybeEndServing();
          if (close.reason !== 'finished' && this.status === undefined) {
            void this.cancel(
              `job ${close.reason} on TaskManager ${peer}${close.message ? `: ${close.message}` : ''}`,
            );
          }
        },
        onLost: (error) => {
          if (this.status !== undefined) return;
          this.options.listener.onPeerLost?.(peer, error);
          this.fail({ name: 'PeerLostError', message: error.message }, undefined, peer);
        },
      });
    }
  }

  /** A producer's frame on a blocking channel: appended to its partition; a batch's credit goes back at once. */
  private writePartition(channel: number, event: Uint8Array, producer: PeerConnection): void {
    const store = this.options.partitions;
    if (store === undefined) {
      this.fail({ name: 'Error', message: 'a staged BATCH job needs a partition store on its TaskManager' });
      return;
    }
    let w = this.writers.get(channel);
    if (w === undefined) this.writers.set(channel, (w = store.writer(this.options.jobId, channel)));
    const isBatch = event[0] === 1;
    const complete = w.append(event);
    if (isBatch) producer.sendCredit(channel, 1);
    if (!complete) return;
    const { producer: key } = this.channels[channel]!;
    const open = this.openPartitions.get(key);
    open?.delete(channel);
    if (open?.size === 0 && this.finishing.delete(key)) {
      const [vertexId, subtask] = splitKey(key);
      this.report([{ vertexId, subtask, state: 'FINISHED' }]);
      this.maybeFinish();
    }
  }

  /** Ends this TaskManager's part once every local slot and subtask finished. */
  private maybeFinish(): void {
    if (this.finishedSlots.size < this.localSlots.length) return;
    if (this.subtasks.every((t) => this.states.get(`${t.vertexId}#${t.subtask}`) === 'FINISHED'))
      void this.end('FINISHED');
  }

  /**
   * Starts serving every blocking channel whose partition is here and whose
   * consumer is one of the attempt's subtasks: to the consumer's slot when
   * it runs here, else over the link to its TaskManager. False (the job
   * failed) when a partition this TaskManager should hold is missing.
   */
  private servePartitions(): boolean {
    const o = this.options;
    const here = (producer: string): boolean => this.partitionHolders.get(producer) === o.self;
    const credits = o.initialCredits ?? DEFAULT_INITIAL_CREDITS;
    const links = this.links!.links;
    for (let channel = 0; channel < this.channels.length; channel++) {
      const e = this.channels[channel];
      if (e === undefined || !e.blocking || !here(e.producer) || !this.attemptSubtasks.has(e.consumer))
        continue;
      const reader = o.partitions?.reader(o.jobId, channel);
      if (reader === undefined) {
        this.fail(
          {
            name: 'PartitionNotFoundError',
            message: `the result partition of ${e.producer} for ${e.consumer} (channel ${channel}) is not on TaskManager ${o.self}`,
          },
          this.subtasks.some((t) => `${t.vertexId}#${t.subtask}` === e.consumer) ? e.consumer : undefined,
        );
        return false;
      }
      const consumerTm = o.slots[e.consumerSlot]!.taskManagerId;
      const uplink = this.uplinks.get(e.consumerSlot)?.conn;
      const link = links.get(consumerTm);
      const send =
        consumerTm === o.self
          ? (frame: Uint8Array) => uplink?.sendData(channel, frame)
          : (frame: Uint8Array) => link?.sendData(channel, frame);
      const served: ServedChannel = { reader, credits, send };
      this.served.set(channel, served);
      this.pump(served);
    }
    return true;
  }

  private addServedCredit(channel: number, credits: number): void {
    const served = this.served.get(channel);
    if (served === undefined) return;
    served.credits += credits;
    this.pump(served);
  }

  /** Sends what the consumer has credit for (control events need none). */
  private pump(served: ServedChannel): void {
    const { reader } = served;
    while (!reader.done && this.status === undefined) {
      if (reader.nextIsBatch()) {
        if (served.credits === 0) return;
        served.credits--;
      }
      served.send(reader.next()!);
    }
    reader.close();
  }

  /** A TaskManager that only serves partitions ends once every reader got its partition and said CLOSE. */
  private maybeEndServing(): void {
    if (this.status !== undefined || this.links === undefined) return;
    for (const s of this.served.values()) if (!s.reader.done) return;
    for (const peer of this.links.links.keys()) if (!this.closedPeers.has(peer)) return;
    void this.end('FINISHED');
  }

  private pending(): { vertexId: string; subtask: number }[] {
    return this.subtasks.filter((t) => {
      const s = this.states.get(`${t.vertexId}#${t.subtask}`);
      return s !== 'FINISHED' && s !== 'FAILED' && s !== 'CANCELED';
    });
  }

  /**
   * Fails the job here: the failed subtask (or, for a lost peer, every
   * subtask exchanging data with it; else all) reports FAILED, the rest CANCELED.
   */
  private fail(error: SerializedError, subtaskKey?: string, lostPeer?: string): void {
    if (this.status !== undefined) return;
    let culprits: Set<string>;
    if (subtaskKey !== undefined) culprits = new Set([subtaskKey]);
    else if (lostPeer !== undefined) {
      culprits = new Set();
      const { slots } = this.options;
      for (const c of this.channels) {
        if (!c) continue;
        if (c.blocking) continue;
        if (slots[c.consumerSlot]!.taskManagerId === lostPeer) culprits.add(c.producer);
        if (slots[c.producerSlot]!.taskManagerId === lostPeer) culprits.add(c.consumer);
      }
      // Its partitions are lost with it: their readers here fail (the JobManager re-runs the producers).
      const lostProducers = new Set(
        (this.options.partitionLocations ?? [])
          .filter((l) => l.taskManagerId === lostPeer)
          .map((l) => l.producer),
      );
      for (const c of this.channels)
        if (c?.blocking === true && lostProducers.has(c.producer)) culprits.add(c.consumer);
      // No subtask here exchanges data with the lost peer: nothing here is affected.
      if (!this.pending().some((t) => culprits.has(`${t.vertexId}#${t.subtask}`))) return;
    } else culprits = new Set(this.subtasks.map((t) => `${t.vertexId}#${t.subtask}`));
    this.report(
      this.pending().map((t) => {
        const failed = culprits.has(`${t.vertexId}#${t.subtask}`);
        const u: ClusterSubtaskUpdate = { ...t, state: failed ? 'FAILED' : 'CANCELED' };
        if (failed) u.error = error;
        return u;
      }),
    );
    void this.end('FAILED', error.message);
  }

  private report(updates: ClusterSubtaskUpdate[]): void {
    const changed = updates.filter((u) => {
      const key = `${u.vertexId}#${u.subtask}`;
      const prev = this.states.get(key);
      if (prev === 'FINISHED' || prev === 'FAILED' || prev === 'CANCELED' || prev === u.state) return false;
      this.states.set(key, u.state);
      return true;
    });
    if (changed.length > 0) this.options.listener.onStates(changed);
  }

  private broadcast(m: ExecutorMessage): void {
    for (const w of this.workers.values()) w.post(m);
  }

  private async end(status: ClusterJobStatus, message?: string): Promise<void> {
    if (this.status !== undefined) return;
    this.status = status;
    if (status !== 'FINISHED') {
      this.broadcast({ type: 'cancel' });
      // Tell the peers at once so they stop too (they report CANCELED; the JobManager has the cause).
      this.links?.close({
        reason: status === 'FAILED' ? 'failed' : 'canceled',
        ...(message ? { message } : {}),
      });
    }
    this.broadcast({ type: 'shutdown' });
    const kill = setTimeout(() => {
      for (const w of this.workers.values()) w.terminate();
    }, 3000);
    await Promise.all([...this.workers.values()].map((w) => w.exited));
    clearTimeout(kill);
    if (status === 'FINISHED') {
      // Every frame the workers sent is relayed once their uplinks closed; then say CLOSE.
      await Promise.race([
        Promise.all([...this.uplinks.values()].map((u) => u.closed)),
        new Promise((r) => setTimeout(r, 2000)),
      ]);
      this.links?.close({ reason: 'finished' });
    }
    for (const u of this.uplinks.values()) u.conn.close();
    this.started?.dispose();
    this.resolveDone(status);
  }
}
