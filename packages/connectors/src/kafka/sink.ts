/**
 * `KafkaSink`: records into Kafka topics (Flink's KafkaSink).
 *
 * ```ts
 * stream.sinkTo(
 *   KafkaSink.builder<Alert>()
 *     .setBootstrapServers('127.0.0.1:9092')
 *     .setTopic('alerts')
 *     .setRecordSerializer(KafkaSerializers.json((a) => a.path))
 *     .setDeliveryGuarantee('exactly-once')
 *     .setTransactionalIdPrefix('log-pipeline')
 *     .build(),
 * );
 * ```
 *
 * Delivery guarantees (with checkpointing):
 *
 * - `none`: records are sent as they come; what is lost in a failure is lost.
 * - `at-least-once`: records are sent as they come (idempotent producer);
 *   the records not yet acknowledged at a checkpoint are part of its state
 *   and sent again after a restore — so nothing is lost, and a failure may
 *   duplicate what was sent since the checkpoint.
 * - `exactly-once`: the records of each checkpoint interval are kept (they
 *   are part of the checkpoint) and written in one Kafka transaction when
 *   the checkpoint completes, together with a *commit marker*: the
 *   checkpoint id as the offset of consumer group
 *   `<prefix>-<run>-<subtask>` in the same transaction. Readers with
 *   `isolation.level=read_committed` see each checkpoint's records at once
 *   or not at all. A restore first commits the restored checkpoint's
 *   records unless the marker shows that transaction committed already
 *   (after a rescale, each former subtask's records are committed by the
 *   one new subtask that owns its state, under that former subtask's marker,
 *   and the transactional ids beyond the new parallelism are fenced). The
 *   transactional id is `<prefix>-<subtask>`: the producer of a new attempt
 *   fences every producer of an older attempt with the same id and aborts
 *   its lingering transaction (Kafka's zombie fencing), so an old attempt
 *   cannot write after the new one started. Records become visible one
 *   checkpoint interval late, as in Flink.
 *
 * Without checkpointing, exactly-once commits once, at the end of bounded
 * input.
 */
import type {
  Committer,
  ConnectorSink,
  DeliveryGuarantee,
  SinkWriter,
  SinkWriterContext,
} from '@freshet/api';
import type { Message, Producer } from 'kafkajs';
import { ConnectorConfigError } from '../errors.js';
import {
  connectProducer,
  createKafka,
  kafkaError,
  parseBootstrapServers,
  type KafkaConnection,
} from './client.js';
import type { KafkaProducerRecord, KafkaRecordSerializer } from './serde.js';

/** A record as the sink keeps it (in memory and in checkpoints). */
export interface SerializedRecord {
  topic: string;
  key: string | Uint8Array | null;
  value: string | Uint8Array | null;
  timestamp: number;
  headers?: Record<string, string | Uint8Array>;
  partition?: number;
}

/** One checkpoint's records of one subtask, committed in one transaction. */
export interface KafkaCommittable {
  runId: string;
  /** The subtask that wrote them (its marker group). */
  subtask: number;
  /** The attempt that wrote them: a restored committable (of an older attempt) is checked against its marker first. */
  attempt: number;
  records: SerializedRecord[];
}

/** The at-least-once writer's state: records not yet acknowledged. */
export interface KafkaWriterState {
  unacknowledged: SerializedRecord[];
}

interface Settings {
  connection: KafkaConnection;
  topic: string | undefined;
  serialize: KafkaRecordSerializer<unknown>;
  guarantee: DeliveryGuarantee;
  transactionalIdPrefix: string | undefined;
  batchSize: number;
  maxInFlightBatches: number;
}

const toBuffer = (v: string | Uint8Array | null): string | Buffer | null =>
  v === null || typeof v === 'string'
    ? v
    : Buffer.isBuffer(v)
      ? v
      : Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/**
 * Records per `send` of a transaction: kafkajs groups a send's records by
 * partition in time quadratic in their number (50,000 records took 8 s), so
 * a checkpoint's records go out in sends of this many.
 */
const SEND_CHUNK = 1000;

/** Sends every topic's messages, in sends of at most {@link SEND_CHUNK}. */
async function sendAll(
  to: Pick<Producer, 'send'>,
  topics: ReadonlyMap<string, readonly Message[]>,
): Promise<void> {
  for (const [topic, messages] of topics)
    for (let i = 0; i < messages.length; i += SEND_CHUNK)
      await to.send({ topic, messages: messages.slice(i, i + SEND_CHUNK), acks: -1 });
}

/** Whether kafkajs marks the error (or its cause) as worth trying again. */
function isRetriable(error: unknown): boolean {
  let e = error as { retriable?: boolean; cause?: unknown } | undefined;
  for (let depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    if (e.retriable === true) return true;
    e = e.cause as typeof e;
  }
  return false;
}

/** The key and value bytes of a batch of messages, for the `bytesWritten` metric (one pass per batch). */
function bytesOf(topics: ReadonlyMap<string, readonly Message[]>): number {
  let n = 0;
  for (const messages of topics.values())
    for (const m of messages) n += byteLength(m.key) + byteLength(m.value);
  return n;
}

const byteLength = (v: Message['key'] | Message['value']): number =>
  v === null || v === undefined ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;

/** kafkajs messages per topic. */
function byTopic(records: readonly SerializedRecord[]): Map<string, Message[]> {
  const out = new Map<string, Message[]>();
  for (const r of records) {
    let list = out.get(r.topic);
    if (!list) out.set(r.topic, (list = []));
    const m: Message = { key: toBuffer(r.key), value: toBuffer(r.value), timestamp: String(r.timestamp) };
    if (r.headers !== undefined) {
      const h: Record<string, string | Buffer> = {};
      for (const [k, v] of Object.entries(r.headers)) h[k] = toBuffer(v)!;
      m.headers = h;
    }
    if (r.partition !== undefined) m.partition = r.partition;
    list.push(m);
  }
  return out;
}

function serializeWith(s: Settings, value: unknown, timestamp: number): SerializedRecord {
  const r: KafkaProducerRecord = s.serialize(value, timestamp);
  const topic = r.topic ?? s.topic;
  if (topic === undefined)
    throw new ConnectorConfigError(
      'KafkaSink: the record has no topic; set a default with setTopic(...) or return one from the serializer',
    );
  const out: SerializedRecord = {
    topic,
    key: r.key ?? null,
    value: r.value,
    timestamp: r.timestamp ?? (Number.isFinite(timestamp) ? timestamp : Date.now()),
  };
  if (r.headers !== undefined) out.headers = r.headers;
  if (r.partition !== undefined) out.partition = r.partition;
  return out;
}

/** Sends as records come (`none`, `at-least-once`). */
class SendingWriter<T> implements SinkWriter<T, never, KafkaWriterState> {
  private producer: Producer | undefined;
  private buffer: SerializedRecord[] = [];
  private readonly inFlight = new Map<number, { records: SerializedRecord[]; done: Promise<void> }>();
  private seq = 0;
  private held = false;
  private cancelLinger: (() => void) | undefined;

  constructor(
    private readonly s: Settings,
    private readonly ctx: SinkWriterContext,
    private readonly restored: readonly KafkaWriterState[],
  ) {}

  async start(): Promise<void> {
    try {
      this.producer = await connectProducer(this.s.connection, {
        idempotent: this.s.guarantee === 'at-least-once',
      });
    } catch (error) {
      throw kafkaError('KafkaSink', this.s.connection.bootstrapServers, error);
    }
    // What the checkpoint held unacknowledged goes out first.
    for (const r of this.restored) this.buffer.push(...r.unacknowledged);
    this.flush();
  }

  write(value: T, timestamp: number): void {
    this.buffer.push(serializeWith(this.s, value, timestamp));
    if (this.buffer.length >= this.s.batchSize) this.flush();
    else
      this.cancelLinger ??= this.ctx.schedule(this.ctx.now() + 5, () => {
        this.cancelLinger = undefined;
        this.flush();
      });
  }

  flush(): void {
    if (this.buffer.length === 0 || this.producer === undefined) return;
    const records = this.buffer;
    this.buffer = [];
    const id = this.seq++;
    const producer = this.producer;
    const done = (async () => {
      const topics = byTopic(records);
      await sendAll(producer, topics);
      return bytesOf(topics);
    })().then(
      (bytes) => {
        this.inFlight.delete(id);
        this.ctx.metrics.inc('recordsSent', records.length);
        this.ctx.metrics.inc('bytesWritten', bytes);
        if (this.held && this.inFlight.size < this.s.maxInFlightBatches) {
          this.held = false;
          this.ctx.setBackpressured(false);
        }
      },
      (error: unknown) => {
        this.ctx.fail(kafkaError('KafkaSink', this.s.connection.bootstrapServers, error));
      },
    );
    this.inFlight.set(id, { records, done });
    if (!this.held && this.inFlight.size >= this.s.maxInFlightBatches) {
      this.held = true;
      this.ctx.setBackpressured(true);
    }
  }

  snapshotState(): KafkaWriterState | undefined {
    if (this.s.guarantee !== 'at-least-once') return undefined;
    const unacknowledged: SerializedRecord[] = [];
    for (const f of this.inFlight.values()) unacknowledged.push(...f.records);
    unacknowledged.push(...this.buffer);
    return { unacknowledged };
  }

  async drain(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()].map((f) => f.done));
  }

  async close(): Promise<void> {
    this.cancelLinger?.();
    await this.producer?.disconnect();
  }
}

/** Keeps each checkpoint interval's records for the committer (`exactly-once`). */
class TransactionalWriter<T> implements SinkWriter<T, KafkaCommittable, never> {
  private records: SerializedRecord[] = [];
  constructor(
    private readonly s: Settings,
    private readonly ctx: SinkWriterContext,
    private readonly committer: TransactionalCommitter,
  ) {}

  /** Connects the transactional producer now: it fences older attempts and aborts their lingering transactions at once. */
  async start(): Promise<void> {
    await this.committer.connect();
  }

  write(value: T, timestamp: number): void {
    this.records.push(serializeWith(this.s, value, timestamp));
  }

  prepareCommit(): KafkaCommittable[] {
    if (this.records.length === 0) return [];
    const records = this.records;
    this.records = [];
    const c: KafkaCommittable = {
      runId: this.ctx.runId,
      subtask: this.ctx.subtaskIndex,
      attempt: this.ctx.attempt,
      records,
    };
    this.committer.prepared(c);
    return [c];
  }

  close(): void {}
}

/** Commits each checkpoint's records in a Kafka transaction with its commit marker. */
class TransactionalCommitter implements Committer<KafkaCommittable> {
  private producer: Promise<Producer> | undefined;
  private readonly markerTopic: string;
  /** What this subtask's writer prepared in this process: everything else was restored and is checked against its marker. */
  private readonly own = new WeakSet<KafkaCommittable>();
  /** Former subtasks beyond the parallelism whose transactional ids were fenced here. */
  private readonly fenced = new Set<number>();

  constructor(
    private readonly s: Settings,
    private readonly ctx: SinkWriterContext,
  ) {
    this.markerTopic = s.topic!;
  }

  /** The transactional producer (connecting it runs InitProducerId: older attempts are fenced, their open transaction completes). */
  connect(): Promise<Producer> {
    this.producer ??= this.transactionalProducer(this.ctx.subtaskIndex).catch((error: unknown) => {
      this.producer = undefined;
      throw error;
    });
    return this.producer;
  }

  /** A connected producer of subtask `subtask`'s transactional id (`<prefix>-<subtask>`). */
  private transactionalProducer(subtask: number): Promise<Producer> {
    return connectProducer(this.s.connection, {
      idempotent: true,
      transactionalId: `${this.s.transactionalIdPrefix}-${subtask}`,
    }).catch((error: unknown) => {
      throw kafkaError('KafkaSink', this.s.connection.bootstrapServers, error);
    });
  }

  /** `c` was prepared by this subtask's writer in this process (it needs no marker check). */
  prepared(c: KafkaCommittable): void {
    this.own.add(c);
  }

  /**
   * Fences the transactional id of former subtask `subtask` when no subtask
   * of this run uses it (a restore at a lower parallelism): its lingering
   * transaction, which would hold back read_committed readers until it
   * timed out, is aborted, and its marker is final afterwards. A lower id is
   * fenced by the subtask that now uses it.
   */
  private async fenceFormer(subtask: number): Promise<void> {
    if (subtask < this.ctx.parallelism || this.fenced.has(subtask)) return;
    await (await this.transactionalProducer(subtask)).disconnect();
    this.fenced.add(subtask);
  }

  private markerGroup(c: KafkaCommittable): string {
    return `${this.s.transactionalIdPrefix}-${c.runId}-${c.subtask}`;
  }

  /** The last checkpoint the marker says was committed for `c`'s run and subtask (0 if none). */
  private async committedUpTo(c: KafkaCommittable): Promise<number> {
    const admin = (await createKafka(this.s.connection)).admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: this.markerGroup(c), topics: [this.markerTopic] });
      const offset = Number(t?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
      return offset > 0 ? offset : 0;
    } finally {
      await admin.disconnect();
    }
  }

  async commit(checkpointId: number, committables: readonly KafkaCommittable[]): Promise<void> {
    const producer = await this.connect();
    for (const c of committables) {
      // A restored committable (of an earlier attempt, of the job a savepoint was taken of, or of
      // another former subtask after a rescale) may have been committed already: its marker says.
      if (!this.own.has(c)) {
        await this.fenceFormer(c.subtask);
        if ((await this.committedUpTo(c)) >= checkpointId) {
          this.ctx.metrics.inc('commitsAlreadyDone', 1);
          continue;
        }
      }
      // A transient error (a coordinator still loading, a moved leader) aborts the transaction,
      // which leaves nothing behind, and the whole transaction is tried again.
      const topics = byTopic(c.records);
      for (let attempt = 1; ; attempt++) {
        const tx = await producer.transaction();
        try {
          await sendAll(tx, topics);
          await tx.sendOffsets({
            consumerGroupId: this.markerGroup(c),
            topics: [
              { topic: this.markerTopic, partitions: [{ partition: 0, offset: String(checkpointId) }] },
            ],
          });
          await tx.commit();
          break;
        } catch (error) {
          await tx.abort().catch(() => undefined);
          if (attempt < 10 && isRetriable(error)) {
            this.ctx.metrics.inc('commitRetries', 1);
            await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
            continue;
          }
          throw kafkaError(
            `KafkaSink: committing checkpoint ${checkpointId}`,
            this.s.connection.bootstrapServers,
            error,
          );
        }
      }
      this.ctx.metrics.inc('recordsCommitted', c.records.length);
      this.ctx.metrics.inc('bytesWritten', bytesOf(topics));
    }
  }

  async close(): Promise<void> {
    const p = this.producer;
    this.producer = undefined;
    if (p) await (await p).disconnect();
  }
}

/** The Kafka sink (see the module documentation). */
export class KafkaSink<T> implements ConnectorSink<T, KafkaCommittable, KafkaWriterState> {
  declare readonly __type?: (value: T) => void;
  readonly description;
  readonly name = 'Sink: Kafka';
  readonly guarantee: DeliveryGuarantee;
  private readonly committers = new Map<number, TransactionalCommitter>();

  constructor(private readonly s: Settings) {
    this.guarantee = s.guarantee;
    this.description = {
      connector: 'kafka',
      bootstrapServers: s.connection.bootstrapServers,
      ...(s.topic === undefined ? {} : { topic: s.topic }),
      delivery: s.guarantee,
      ...(s.transactionalIdPrefix === undefined ? {} : { transactionalIdPrefix: s.transactionalIdPrefix }),
    };
  }

  /** A builder of a sink of records of type `T`. */
  static builder<T>(): KafkaSinkBuilder<T> {
    return new KafkaSinkBuilder<T>();
  }

  createWriter(
    ctx: SinkWriterContext,
    restored: readonly KafkaWriterState[],
  ): SinkWriter<T, KafkaCommittable, KafkaWriterState> {
    if (this.s.guarantee !== 'exactly-once') return new SendingWriter<T>(this.s, ctx, restored);
    const committer = this.committers.get(ctx.subtaskIndex) ?? new TransactionalCommitter(this.s, ctx);
    this.committers.delete(ctx.subtaskIndex);
    return new TransactionalWriter<T>(this.s, ctx, committer);
  }

  /** Exactly-once only: the writer of the same subtask shares its producer. */
  get createCommitter(): ((ctx: SinkWriterContext) => Committer<KafkaCommittable>) | undefined {
    if (this.s.guarantee !== 'exactly-once') return undefined;
    return (ctx) => {
      const c = new TransactionalCommitter(this.s, ctx);
      this.committers.set(ctx.subtaskIndex, c);
      return c;
    };
  }
}

/** Builds a {@link KafkaSink}. */
export class KafkaSinkBuilder<T> {
  private servers: string[] | undefined;
  private topic: string | undefined;
  private serialize: KafkaRecordSerializer<T> | undefined;
  private guarantee: DeliveryGuarantee = 'at-least-once';
  private prefix: string | undefined;
  private clientId = 'freshet';

  /** `host:port[,host:port...]` of the brokers. */
  setBootstrapServers(servers: string | readonly string[]): this {
    this.servers = parseBootstrapServers('KafkaSink', servers);
    return this;
  }

  /** The topic of every record the serializer does not give one (and, exactly-once, of the commit marker). */
  setTopic(topic: string): this {
    this.topic = topic;
    return this;
  }

  /** Turns each value into a record (key, value, headers, a topic per record if wanted). */
  setRecordSerializer(serializer: KafkaRecordSerializer<T>): this {
    if (typeof serializer !== 'function')
      throw new ConnectorConfigError(
        'KafkaSink.setRecordSerializer expects a function, e.g. KafkaSerializers.json()',
      );
    this.serialize = serializer;
    return this;
  }

  /** `none`, `at-least-once` (the default) or `exactly-once`. */
  setDeliveryGuarantee(guarantee: DeliveryGuarantee): this {
    if (guarantee !== 'none' && guarantee !== 'at-least-once' && guarantee !== 'exactly-once') {
      throw new ConnectorConfigError(
        `KafkaSink.setDeliveryGuarantee expects 'none', 'at-least-once' or 'exactly-once' (got ${String(guarantee)})`,
      );
    }
    this.guarantee = guarantee;
    return this;
  }

  /** Prefix of the transactional ids (`<prefix>-<subtask>`); unique per job writing to the cluster. Required for exactly-once. */
  setTransactionalIdPrefix(prefix: string): this {
    this.prefix = prefix;
    return this;
  }

  /** The client id. @default 'freshet' */
  setClientIdPrefix(prefix: string): this {
    this.clientId = prefix;
    return this;
  }

  /** The sink. */
  build(): KafkaSink<T> {
    if (this.servers === undefined)
      throw new ConnectorConfigError('KafkaSink: setBootstrapServers(...) is missing');
    if (this.serialize === undefined)
      throw new ConnectorConfigError('KafkaSink: setRecordSerializer(...) is missing');
    if (this.guarantee === 'exactly-once') {
      if (this.prefix === undefined || this.prefix === '') {
        throw new ConnectorConfigError(
          'KafkaSink: exactly-once needs setTransactionalIdPrefix(...), unique per job writing to the cluster',
        );
      }
      if (this.topic === undefined)
        throw new ConnectorConfigError(
          'KafkaSink: exactly-once needs a default topic (setTopic), where its commit marker lives',
        );
    }
    return new KafkaSink<T>({
      connection: { bootstrapServers: this.servers, clientId: this.clientId },
      topic: this.topic,
      serialize: this.serialize as KafkaRecordSerializer<unknown>,
      guarantee: this.guarantee,
      transactionalIdPrefix: this.prefix,
      batchSize: 500,
      maxInFlightBatches: 8,
    });
  }
}
