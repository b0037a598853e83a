/**
 * `KafkaSource`: records of Kafka topics (Flink's KafkaSource).
 *
 * ```ts
 * const source = KafkaSource.builder<string>()
 *   .setBootstrapServers('127.0.0.1:9092')
 *   .setTopics('access-log')
 *   .setStartingOffsets(OffsetsInitializer.earliest())
 *   .setValueOnlyDeserializer(KafkaDeserializers.string())
 *   .build();
 * env.fromSource(source, WatermarkStrategy.forBoundedOutOfOrderness(5000), 'access log');
 * ```
 *
 * - **Splits are partitions** (`<topic>-<partition>`), owned by subtask
 *   `(hash(topic)·31 mod p + partition) mod p` (Flink's rule): a topic's
 *   partitions spread round robin over the readers.
 * - **Offsets are the position**: every checkpoint holds the offset of the
 *   next record of each partition, and a restored reader fetches from there
 *   — exactly once together with the job's state. On checkpoint completion
 *   the offsets are also committed to the consumer group (`setGroupId`), for
 *   monitoring only.
 * - **Start** at the earliest or latest offsets, the group's committed
 *   offsets (with a fallback), or the first record at a timestamp;
 *   partitions discovered later (`setPartitionDiscoveryInterval`, new
 *   partitions or, with a topic pattern, new topics) start at the earliest.
 * - **Bounded** (`setBounded()`): stops at the offsets the partitions had
 *   when the job started (a backfill), then the source ends.
 * - **Reads read_committed**: records of aborted or open transactions are
 *   never emitted.
 * - **Watermarks per partition** (the source's watermark strategy runs per
 *   split); each record's timestamp is the Kafka record's timestamp unless
 *   the strategy's assigner says otherwise. Consumer lag per partition is in
 *   the subtask metrics as `lag.<topic>-<partition>`.
 */
import {
  stableHash,
  type InputStatus,
  type ReaderOutput,
  type Source,
  type SourceContext,
  type SourceReader,
  type SourceReaderContext,
  type SplitEnumerator,
} from '@freshet/api';
import type { Admin } from 'kafkajs';
import { BadRecordError, ConnectorConfigError } from '../errors.js';
import {
  PartitionFetcher,
  createKafka,
  kafkaError,
  parseBootstrapServers,
  requireTopics,
  type KafkaConnection,
  type KafkaRecord,
} from './client.js';
import type { KafkaRecordDeserializer, ValueDeserializer } from './serde.js';

/** A partition with the offset of its next record. */
export interface KafkaSplit {
  readonly splitId: string;
  topic: string;
  partition: number;
  /** Offset of the next record to emit. */
  offset: number;
  /** Bounded: the partition ends before this offset. */
  stoppingOffset?: number;
}

/** Where partitions start. */
export type OffsetsInitializer =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'timestamp'; timestamp: number }
  | { kind: 'committed'; fallback: 'earliest' | 'latest' };

/** Ready-made starting offsets (Flink's `OffsetsInitializer`). */
export const OffsetsInitializer = {
  /** The first record still in each partition. */
  earliest(): OffsetsInitializer {
    return { kind: 'earliest' };
  },
  /** Only records produced after the job started. */
  latest(): OffsetsInitializer {
    return { kind: 'latest' };
  },
  /** The first record at or after `timestamp` (epoch ms) in each partition. */
  timestamp(timestamp: number): OffsetsInitializer {
    if (!Number.isFinite(timestamp))
      throw new ConnectorConfigError(
        `OffsetsInitializer.timestamp expects epoch milliseconds (got ${timestamp})`,
      );
    return { kind: 'timestamp', timestamp };
  },
  /** The consumer group's committed offsets; `fallback` where the group has none. */
  committedOffsets(fallback: 'earliest' | 'latest' = 'earliest'): OffsetsInitializer {
    return { kind: 'committed', fallback };
  },
} as const;

/** The enumerator's state: the partitions it found already. */
export interface KafkaEnumeratorState {
  known: string[];
}

interface Settings {
  connection: KafkaConnection;
  topics: string[] | undefined;
  pattern: { source: string; flags: string } | undefined;
  groupId: string | undefined;
  starting: OffsetsInitializer;
  bounded: boolean;
  discoveryIntervalMs: number | undefined;
  commitOffsetsOnCheckpoint: boolean;
  maxBufferedRecords: number;
  maxFetchBytes: number;
  onBadRecord: 'fail' | 'skip';
}

const splitIdOf = (topic: string, partition: number): string => `${topic}-${partition}`;

/** The subtask that reads `partition` of `topic` among `parallelism` readers (Flink's KafkaSourceEnumerator rule). */
export function kafkaSplitOwner(topic: string, partition: number, parallelism: number): number {
  const start = (Math.imul(stableHash(topic), 31) & 0x7fffffff) % parallelism;
  return (start + partition) % parallelism;
}

class KafkaEnumerator implements SplitEnumerator<KafkaSplit, KafkaEnumeratorState> {
  private readonly known = new Set<string>();
  private readonly fetcher: PartitionFetcher;
  private admin: Admin | undefined;
  private connected = false;
  /** The first discovery of a fresh start: partitions start at the configured offsets; later ones at the earliest. */
  private initial: boolean;

  constructor(
    private readonly s: Settings,
    ctx: SourceContext,
    restored: readonly KafkaEnumeratorState[],
  ) {
    for (const r of restored) for (const id of r.known) this.known.add(id);
    this.initial = restored.length === 0;
    this.fetcher = new PartitionFetcher({
      ...s.connection,
      clientId: `${s.connection.clientId}-enumerator-${ctx.subtaskIndex}`,
    });
  }

  private async topics(): Promise<string[]> {
    if (this.s.topics !== undefined) return this.s.topics;
    this.admin ??= await this.connectAdmin();
    const pattern = new RegExp(this.s.pattern!.source, this.s.pattern!.flags);
    return (await this.admin.listTopics()).filter((t) => !t.startsWith('__') && pattern.test(t)).sort();
  }

  private async connectAdmin(): Promise<Admin> {
    const admin = (await createKafka(this.s.connection)).admin();
    await admin.connect();
    return admin;
  }

  async discoverSplits(): Promise<KafkaSplit[]> {
    const servers = this.s.connection.bootstrapServers;
    let topics: string[];
    try {
      topics = await this.topics();
      if (!this.connected) {
        await this.fetcher.connect(topics);
        this.connected = true;
      } else {
        await this.fetcher.addTopics(topics);
        await this.fetcher.refresh();
      }
    } catch (error) {
      if ((error as { type?: string }).type === 'UNKNOWN_TOPIC_OR_PARTITION' && this.s.topics !== undefined) {
        // Name the missing topics (the metadata request only says one of them is unknown).
        this.admin ??= await this.connectAdmin();
        requireTopics('KafkaSource', servers, this.s.topics, await this.admin.listTopics());
      }
      throw kafkaError('KafkaSource', servers, error);
    }
    const present = topics.filter((t) => this.fetcher.partitionsOf(t).length > 0);
    if (this.initial && this.s.topics !== undefined)
      requireTopics('KafkaSource', servers, this.s.topics, present);
    const fresh: KafkaSplit[] = [];
    try {
      for (const topic of present) {
        const partitions = this.fetcher
          .partitionsOf(topic)
          .filter((p) => !this.known.has(splitIdOf(topic, p)));
        if (partitions.length === 0) continue;
        const start = await this.startOffsets(
          topic,
          partitions,
          this.initial ? this.s.starting : { kind: 'earliest' },
        );
        const stop = this.s.bounded ? await this.fetcher.offsets(topic, partitions, 'latest') : undefined;
        for (const partition of partitions) {
          const split: KafkaSplit = {
            splitId: splitIdOf(topic, partition),
            topic,
            partition,
            offset: start.get(partition) ?? 0,
          };
          const s = stop?.get(partition);
          if (s !== undefined) split.stoppingOffset = s;
          fresh.push(split);
        }
      }
    } catch (error) {
      throw error instanceof ConnectorConfigError ? error : kafkaError('KafkaSource', servers, error);
    }
    // Updated after the last await, with the return: a checkpoint sees both or neither.
    for (const s of fresh) this.known.add(s.splitId);
    this.initial = false;
    return fresh;
  }

  private async startOffsets(
    topic: string,
    partitions: number[],
    at: OffsetsInitializer,
  ): Promise<Map<number, number>> {
    switch (at.kind) {
      case 'earliest':
        return this.fetcher.offsets(topic, partitions, 'earliest');
      case 'latest':
        return this.fetcher.offsets(topic, partitions, 'latest');
      case 'timestamp': {
        const byTime = await this.fetcher.offsets(topic, partitions, { timestamp: at.timestamp });
        // No record at or after the timestamp: the partition's end.
        const latest = await this.fetcher.offsets(topic, partitions, 'latest');
        for (const p of partitions) if (!((byTime.get(p) ?? -1) >= 0)) byTime.set(p, latest.get(p) ?? 0);
        return byTime;
      }
      case 'committed': {
        if (this.s.groupId === undefined)
          throw new ConnectorConfigError('KafkaSource: committedOffsets() needs setGroupId(...)');
        this.admin ??= await this.connectAdmin();
        const [committed] = await this.admin.fetchOffsets({ groupId: this.s.groupId, topics: [topic] });
        const fallback = await this.fetcher.offsets(topic, partitions, at.fallback);
        const out = new Map<number, number>();
        for (const p of partitions) {
          const c = Number(committed?.partitions.find((x) => x.partition === p)?.offset ?? -1);
          out.set(p, c >= 0 ? c : (fallback.get(p) ?? 0));
        }
        return out;
      }
    }
  }

  snapshotState(): KafkaEnumeratorState {
    return { known: [...this.known] };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.fetcher.disconnect(), this.admin?.disconnect()]);
  }
}

/** A fetched batch of one partition, emitted in order. */
interface Fetched {
  split: KafkaSplit;
  records: KafkaRecord[];
  next: number;
  /** Fetch offset after the batch (past control records). */
  nextOffset: number;
  highWatermark: number;
}

const ERRORS_TO_RETRY = new Set([3, 5, 6, 9, 74, 75]); // unknown partition, leader not available, not leader, replica unavailable, fenced/unknown leader epoch
const OFFSET_OUT_OF_RANGE = 1;

class KafkaReader<T> implements SourceReader<T, KafkaSplit> {
  /** Unfinished splits by id. */
  private readonly splits = new Map<string, KafkaSplit>();
  /** Next fetch offset per split (ahead of the emitted position). */
  private readonly fetchOffsets = new Map<string, number>();
  private readonly queue: Fetched[] = [];
  private buffered = 0;
  private noMoreSplits = false;
  private closed = false;
  private started = false;
  private readonly fetcher: PartitionFetcher;
  private signal: (() => void) | undefined;
  /** Offsets at each checkpoint not yet completed, for the group commit. */
  private readonly positions = new Map<number, { topic: string; partition: number; offset: number }[]>();
  private admin: Promise<Admin> | undefined;

  constructor(
    private readonly s: Settings,
    private readonly deserialize: KafkaRecordDeserializer<T>,
    private readonly ctx: SourceReaderContext,
  ) {
    this.fetcher = new PartitionFetcher({
      ...s.connection,
      clientId: `${s.connection.clientId}-reader-${ctx.subtaskIndex}`,
    });
  }

  async start(): Promise<void> {
    try {
      await this.fetcher.connect([...new Set([...this.splits.values()].map((s) => s.topic))]);
    } catch (error) {
      throw kafkaError('KafkaSource', this.s.connection.bootstrapServers, error);
    }
    this.started = true;
    void this.run().catch((error: unknown) => {
      if (!this.closed) this.ctx.fail(kafkaError('KafkaSource', this.s.connection.bootstrapServers, error));
    });
  }

  addSplits(splits: readonly KafkaSplit[]): void {
    for (const s of splits) {
      // A bounded partition with nothing to read is finished by the next pollNext.
      const split = { ...s };
      this.splits.set(split.splitId, split);
      this.fetchOffsets.set(split.splitId, split.offset);
    }
    if (this.started) {
      // New partitions of known topics too: the metadata must know their leaders.
      void (async () => {
        await this.fetcher.addTopics(splits.map((s) => s.topic));
        await this.fetcher.refresh();
      })().catch((error: unknown) => {
        this.ctx.fail(kafkaError('KafkaSource', this.s.connection.bootstrapServers, error));
      });
    }
    this.wake();
  }

  notifyNoMoreSplits(): void {
    this.noMoreSplits = true;
    this.ctx.wakeUp();
  }

  private wake(): void {
    const s = this.signal;
    this.signal = undefined;
    s?.();
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.signal = undefined;
        resolve();
      }, ms);
      this.signal = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** The background fetch loop: keeps the queue filled up to `maxBufferedRecords`. */
  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      if (this.buffered >= this.s.maxBufferedRecords) {
        await this.wait(50);
        continue;
      }
      const wanted: { topic: string; partition: number; offset: number }[] = [];
      for (const split of this.splits.values()) {
        const offset = this.fetchOffsets.get(split.splitId)!;
        if (split.stoppingOffset !== undefined && offset >= split.stoppingOffset) continue;
        wanted.push({ topic: split.topic, partition: split.partition, offset });
      }
      if (wanted.length === 0) {
        await this.wait(200);
        continue;
      }
      let results;
      try {
        results = await this.fetcher.fetch(wanted, 200, this.s.maxFetchBytes);
        failures = 0;
      } catch (error) {
        // A broker restart or a moved leader: refresh and retry, a few times.
        if (++failures > 5) throw error;
        await this.wait(100 * failures);
        await this.fetcher.refresh().catch(() => undefined);
        continue;
      }
      if (this.closed) return;
      if (results.length === 0) {
        // No leader known for the wanted partitions: the metadata is behind.
        await this.wait(100);
        await this.fetcher.refresh().catch(() => undefined);
        continue;
      }
      let got = false;
      for (const r of results) {
        const id = splitIdOf(r.topic, r.partition);
        const split = this.splits.get(id);
        if (split === undefined) continue;
        if (r.errorCode === OFFSET_OUT_OF_RANGE) {
          // The position was deleted by retention: continue at the earliest record still there.
          const earliest = await this.fetcher.offsets(r.topic, [r.partition], 'earliest');
          this.fetchOffsets.set(id, earliest.get(r.partition) ?? 0);
          this.ctx.metrics.inc('offsetResets', 1);
          continue;
        }
        if (r.errorCode !== 0) {
          if (!ERRORS_TO_RETRY.has(r.errorCode))
            throw new Error(`fetching ${id} failed with Kafka error code ${r.errorCode}`);
          await this.fetcher.refresh().catch(() => undefined);
          continue;
        }
        let records = r.records;
        if (split.stoppingOffset !== undefined)
          records = records.filter((m) => m.offset < split.stoppingOffset!);
        const nextOffset =
          split.stoppingOffset === undefined ? r.nextOffset : Math.min(r.nextOffset, split.stoppingOffset);
        if (nextOffset === this.fetchOffsets.get(id) && records.length === 0) {
          this.ctx.metrics.set(`lag.${id}`, Math.max(0, r.highWatermark - split.offset));
          continue;
        }
        this.fetchOffsets.set(id, nextOffset);
        let bytes = 0;
        for (const m of records) bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0);
        this.ctx.metrics.inc('bytesRead', bytes);
        this.queue.push({ split, records, next: 0, nextOffset, highWatermark: r.highWatermark });
        this.buffered += records.length;
        got = true;
      }
      if (got) this.ctx.wakeUp();
    }
  }

  pollNext(output: ReaderOutput<T>, maxRecords: number): InputStatus {
    let emitted = 0;
    while (emitted < maxRecords && this.queue.length > 0) {
      const f = this.queue[0]!;
      const split = f.split;
      if (!this.splits.has(split.splitId)) {
        this.queue.shift();
        continue;
      }
      const out = output.forSplit(split.splitId);
      const records = f.records;
      const stop = Math.min(records.length, f.next + (maxRecords - emitted));
      for (let i = f.next; i < stop; i++) {
        const r = records[i]!;
        let value: T;
        try {
          value = this.deserialize(r);
        } catch (error) {
          if (this.s.onBadRecord === 'fail') {
            throw new BadRecordError(
              `KafkaSource: the record at offset ${r.offset} of ${split.splitId} cannot be deserialized (${error instanceof Error ? error.message : String(error)}); fix the producer, or skip bad records with setBadRecordPolicy('skip')`,
              { details: { source: split.splitId, offset: r.offset } },
            );
          }
          this.ctx.metrics.inc('badRecords', 1);
          split.offset = r.offset + 1;
          continue;
        }
        split.offset = r.offset + 1;
        out.collect(value, r.timestamp);
      }
      emitted += stop - f.next;
      this.buffered -= stop - f.next;
      f.next = stop;
      if (f.next < records.length) break;
      this.queue.shift();
      if (f.nextOffset > split.offset) split.offset = f.nextOffset;
      this.ctx.metrics.set(`lag.${split.splitId}`, Math.max(0, f.highWatermark - split.offset));
      if (split.stoppingOffset !== undefined && split.offset >= split.stoppingOffset)
        this.finish(split, output);
    }
    // Bounded partitions with nothing to read end without a fetch.
    for (const split of this.splits.values()) {
      if (
        split.stoppingOffset !== undefined &&
        split.offset >= split.stoppingOffset &&
        !this.queue.some((f) => f.split === split)
      ) {
        this.finish(split, output);
      }
    }
    if (this.queue.length > 0) return 'MORE_AVAILABLE';
    if (this.noMoreSplits && this.splits.size === 0) return 'END_OF_INPUT';
    if (emitted > 0) this.wake();
    return emitted > 0 ? 'MORE_AVAILABLE' : 'NOTHING_AVAILABLE';
  }

  private finish(split: KafkaSplit, output: ReaderOutput<T>): void {
    this.splits.delete(split.splitId);
    this.fetchOffsets.delete(split.splitId);
    output.splitFinished(split.splitId);
  }

  snapshotState(checkpointId: number): KafkaSplit[] {
    const splits = [...this.splits.values()].map((s) => ({ ...s }));
    if (this.s.commitOffsetsOnCheckpoint && this.s.groupId !== undefined) {
      this.positions.set(
        checkpointId,
        splits.map((s) => ({ topic: s.topic, partition: s.partition, offset: s.offset })),
      );
    }
    return splits;
  }

  notifyCheckpointComplete(checkpointId: number): void {
    const positions = this.positions.get(checkpointId);
    for (const id of [...this.positions.keys()]) if (id <= checkpointId) this.positions.delete(id);
    if (positions === undefined || positions.length === 0 || this.s.groupId === undefined) return;
    const groupId = this.s.groupId;
    // For monitoring only: a failed commit is counted, never the job's failure.
    this.admin ??= createKafka(this.s.connection).then(async (k) => {
      const admin = k.admin();
      await admin.connect();
      return admin;
    });
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const p of positions) {
      let list = byTopic.get(p.topic);
      if (!list) byTopic.set(p.topic, (list = []));
      list.push({ partition: p.partition, offset: String(p.offset) });
    }
    void this.admin
      .then(async (admin) => {
        for (const [topic, partitions] of byTopic) await admin.setOffsets({ groupId, topic, partitions });
        this.ctx.metrics.inc('offsetCommits', 1);
      })
      .catch(() => {
        this.ctx.metrics.inc('offsetCommitFailures', 1);
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    const admin = this.admin;
    await Promise.allSettled([this.fetcher.disconnect(), admin?.then((a) => a.disconnect())]);
  }
}

/** The Kafka source (see the module documentation). */
export class KafkaSource<T> implements Source<T, KafkaSplit, KafkaEnumeratorState> {
  declare readonly __type?: (value: never) => T;
  readonly boundedness;
  readonly description;
  readonly discoveryIntervalMs;

  constructor(
    private readonly s: Settings,
    private readonly deserialize: KafkaRecordDeserializer<T>,
  ) {
    this.boundedness = s.bounded ? ('BOUNDED' as const) : ('CONTINUOUS_UNBOUNDED' as const);
    this.discoveryIntervalMs = s.bounded ? undefined : s.discoveryIntervalMs;
    this.description = {
      connector: 'kafka',
      bootstrapServers: s.connection.bootstrapServers,
      ...(s.topics === undefined ? { topicPattern: s.pattern!.source } : { topics: s.topics }),
      ...(s.groupId === undefined ? {} : { groupId: s.groupId }),
      startingOffsets: s.starting,
      bounded: s.bounded,
      ...(this.discoveryIntervalMs === undefined
        ? {}
        : { partitionDiscoveryIntervalMs: this.discoveryIntervalMs }),
    };
  }

  /** A builder of a source of records of type `T`. */
  static builder<T>(): KafkaSourceBuilder<T> {
    return new KafkaSourceBuilder<T>();
  }

  splitOwner(split: KafkaSplit, parallelism: number): number {
    return kafkaSplitOwner(split.topic, split.partition, parallelism);
  }

  createEnumerator(
    ctx: SourceContext,
    restored: readonly KafkaEnumeratorState[],
  ): SplitEnumerator<KafkaSplit, KafkaEnumeratorState> {
    return new KafkaEnumerator(this.s, ctx, restored);
  }

  createReader(ctx: SourceReaderContext): SourceReader<T, KafkaSplit> {
    return new KafkaReader(this.s, this.deserialize, ctx);
  }
}

/** Builds a {@link KafkaSource}. */
export class KafkaSourceBuilder<T> {
  private servers: string[] | undefined;
  private topics: string[] | undefined;
  private pattern: RegExp | undefined;
  private groupId: string | undefined;
  private starting: OffsetsInitializer = { kind: 'earliest' };
  private bounded = false;
  private discoveryIntervalMs: number | undefined = 30_000;
  private clientId = 'freshet';
  private commitOffsets = true;
  private deserialize: KafkaRecordDeserializer<T> | undefined;
  private onBadRecord: 'fail' | 'skip' = 'fail';
  private maxBufferedRecords = 10_000;

  /** `host:port[,host:port...]` of the brokers. */
  setBootstrapServers(servers: string | readonly string[]): this {
    this.servers = parseBootstrapServers('KafkaSource', servers);
    return this;
  }

  /** The topics to read. */
  setTopics(...topics: string[]): this {
    if (topics.length === 0 || topics.some((t) => typeof t !== 'string' || t === ''))
      throw new ConnectorConfigError('KafkaSource.setTopics expects topic names');
    this.topics = [...topics];
    this.pattern = undefined;
    return this;
  }

  /** Every topic whose name matches (new ones found by partition discovery). */
  setTopicPattern(pattern: RegExp): this {
    if (!(pattern instanceof RegExp))
      throw new ConnectorConfigError('KafkaSource.setTopicPattern expects a RegExp');
    this.pattern = pattern;
    this.topics = undefined;
    return this;
  }

  /** The consumer group: offsets are committed to it on checkpoint completion, `committedOffsets()` starts from it. */
  setGroupId(groupId: string): this {
    this.groupId = groupId;
    return this;
  }

  /** Where partitions start (on a fresh start; a restore continues from the checkpoint). @default earliest */
  setStartingOffsets(initializer: OffsetsInitializer): this {
    this.starting = initializer;
    return this;
  }

  /** Stop at the offsets the partitions have when the job starts, and end (a backfill). */
  setBounded(): this {
    this.bounded = true;
    return this;
  }

  /** Run until cancelled (the default). */
  setUnbounded(): this {
    this.bounded = false;
    return this;
  }

  /** How often to look for new partitions (and topics, with a pattern); 0 turns it off. @default 30000 */
  setPartitionDiscoveryInterval(ms: number): this {
    if (!(Number.isFinite(ms) && ms >= 0))
      throw new ConnectorConfigError(`KafkaSource.setPartitionDiscoveryInterval expects ms >= 0 (got ${ms})`);
    this.discoveryIntervalMs = ms === 0 ? undefined : ms;
    return this;
  }

  /** The client id prefix. @default 'freshet' */
  setClientIdPrefix(prefix: string): this {
    this.clientId = prefix;
    return this;
  }

  /** Whether offsets are committed to the group on checkpoint completion. @default true (with a group id) */
  setCommitOffsetsOnCheckpoint(commit: boolean): this {
    this.commitOffsets = commit;
    return this;
  }

  /** Makes each value from the record's value bytes. */
  setValueOnlyDeserializer(deserializer: ValueDeserializer<T>): this {
    if (typeof deserializer !== 'function')
      throw new ConnectorConfigError(
        'KafkaSource.setValueOnlyDeserializer expects a function, e.g. KafkaDeserializers.string()',
      );
    this.deserialize = (r) => deserializer(r.value);
    return this;
  }

  /** Makes each value from the whole record (key, value, headers, topic, partition, offset, timestamp). */
  setDeserializer(deserializer: KafkaRecordDeserializer<T>): this {
    if (typeof deserializer !== 'function')
      throw new ConnectorConfigError('KafkaSource.setDeserializer expects a function (record) => value');
    this.deserialize = deserializer;
    return this;
  }

  /** `fail` (the default) stops the job at a record that cannot be deserialized; `skip` skips and counts it. */
  setBadRecordPolicy(policy: 'fail' | 'skip'): this {
    this.onBadRecord = policy;
    return this;
  }

  /** Records fetched ahead of the task per subtask. @default 10000 */
  setMaxBufferedRecords(n: number): this {
    this.maxBufferedRecords = n;
    return this;
  }

  /** The source. */
  build(): KafkaSource<T> {
    if (this.servers === undefined)
      throw new ConnectorConfigError('KafkaSource: setBootstrapServers(...) is missing');
    if (this.topics === undefined && this.pattern === undefined)
      throw new ConnectorConfigError('KafkaSource: setTopics(...) or setTopicPattern(...) is missing');
    if (this.deserialize === undefined)
      throw new ConnectorConfigError(
        'KafkaSource: setValueOnlyDeserializer(...) or setDeserializer(...) is missing',
      );
    return new KafkaSource<T>(
      {
        connection: { bootstrapServers: this.servers, clientId: this.clientId },
        topics: this.topics,
        pattern:
          this.pattern === undefined ? undefined : { source: this.pattern.source, flags: this.pattern.flags },
        groupId: this.groupId,
        starting: this.starting,
        bounded: this.bounded,
        discoveryIntervalMs: this.discoveryIntervalMs,
        commitOffsetsOnCheckpoint: this.commitOffsets,
        maxBufferedRecords: this.maxBufferedRecords,
        maxFetchBytes: 1024 * 1024,
        onBadRecord: this.onBadRecord,
      },
      this.deserialize,
    );
  }
}
