/**
 * The writer of one output edge of a subtask: picks the channel of each
 * record with the edge's partitioner, buffers records per channel (values in
 * an array, timestamps in a Float64Array) and ships a channel's buffer as one
 * batch when it is full or when the task flushes (buffer timeout, control
 * events, end of input).
 */
import type { CustomPartitionerFns, Partitioning } from '@freshet/graph';
import type { ChannelEvent } from '../codec/events.js';
import { subtaskForKey } from '../keygroups.js';
import { UserFunctionError } from '../operators/errors.js';
import type { EdgeTap } from './edge-tap.js';
import type { OutputChannel } from './output-channel.js';

/** How a record writer picks channels. */
export interface PartitionerSpec {
  partitioning: Partitioning;
  /** HASH: key selector of the consuming operator's input. */
  key?: (value: never) => string | number;
  /** HASH: key groups of the consuming vertex. */
  maxParallelism?: number;
  /** CUSTOM: the key selector and partitioner of `partitionCustom`. */
  custom?: CustomPartitionerFns;
}

const P_SINGLE = 0;
const P_ROUND_ROBIN = 1;
const P_HASH = 2;
const P_BROADCAST = 3;
const P_RANDOM = 4;
const P_CUSTOM = 5;

/**
 * Error thrown when a HASH edge's key selector fails; carries the consuming
 * operator's name. A {@link UserFunctionError} (same name and code, so it is
 * reported like any user function failure), not branded on its own.
 */
export class KeySelectorError extends UserFunctionError {
  constructor(operatorName: string, cause: unknown) {
    super(operatorName, 'key selector', cause);
  }
}

/**
 * A custom partitioner (`partitionCustom`) returned no valid consumer index.
 * A {@link UserFunctionError}, reported like any user function failure.
 */
export class InvalidPartitionError extends UserFunctionError {
  constructor(operatorName: string, result: unknown, numPartitions: number) {
    super(
      operatorName,
      'custom partitioner',
      new RangeError(
        `the partitioner returned ${String(result)}; it must return an integer in [0, ${numPartitions})`,
      ),
    );
  }
}

/** Writes records of one edge into its channels. */
export class RecordWriter {
  private readonly mode: number;
  private readonly key: ((value: unknown) => string | number) | undefined;
  private readonly maxParallelism: number;
  private readonly custom: CustomPartitionerFns | undefined;
  private readonly values: unknown[][];
  private readonly timestamps: Float64Array[];
  private readonly counts: Int32Array;
  private next = 0;
  /** HASH: the last key seen and its channel. */
  private lastKey: string | number | undefined = undefined;
  private lastKeyChannel = 0;
  private dirty = false;
  /** Records written. */
  recordsOut = 0;
  /** The edge's tap while someone watches it (`edge-tap.ts`); null otherwise, which costs one check per record. */
  tap: EdgeTap | null = null;

  /**
   * @param channels channels in consumer order; for HASH and BROADCAST one per consumer subtask
   * @param batchSize records per batch before a channel is shipped
   * @param onDirty called when the writer goes from empty to holding records (arms the flush timer)
   * @param keyOperatorName operator named in key selector errors
   */
  constructor(
    readonly channels: readonly OutputChannel[],
    spec: PartitionerSpec,
    private readonly batchSize: number,
    private readonly onDirty: () => void,
    subtaskIndex: number,
    private readonly keyOperatorName = 'keyBy',
  ) {
    const n = channels.length;
    if (n === 0) throw new Error('a record writer needs at least one channel');
    switch (spec.partitioning) {
      case 'FORWARD':
        this.mode = P_SINGLE;
        break;
      case 'REBALANCE':
      case 'RESCALE':
        this.mode = n === 1 ? P_SINGLE : P_ROUND_ROBIN;
        break;
      case 'HASH':
        if (!spec.key) throw new Error('HASH partitioning needs the target operator key selector');
        // One channel: every key goes there, so neither key nor hash is needed (the keyed consumer extracts the key itself).
        this.mode = n === 1 ? P_SINGLE : P_HASH;
        break;
      case 'BROADCAST':
        this.mode = n === 1 ? P_SINGLE : P_BROADCAST;
        break;
      case 'SHUFFLE':
        this.mode = n === 1 ? P_SINGLE : P_RANDOM;
        break;
      case 'GLOBAL':
        // Records go to the consumer's subtask 0 (channel 0); every consumer gets the events (watermarks, end).
        this.mode = P_SINGLE;
        break;
      case 'CUSTOM':
        if (!spec.custom) throw new Error('CUSTOM partitioning needs the edge partitioner');
        this.mode = P_CUSTOM;
        break;
    }
    this.custom = spec.custom;
    this.key = spec.key as ((value: unknown) => string | number) | undefined;
    this.maxParallelism = spec.maxParallelism ?? 128;
    this.values = [];
    this.timestamps = [];
    for (let i = 0; i < n; i++) {
      this.values.push([]);
      this.timestamps.push(new Float64Array(batchSize));
    }
    this.counts = new Int32Array(n);
    // Start round robin at a subtask-dependent channel so producers do not all hit channel 0 first.
    this.next = subtaskIndex % n;
  }

  /** Writes one record. */
  emit(value: unknown, timestamp: number): void {
    this.recordsOut++;
    if (this.tap !== null) this.tap.offer(value, timestamp);
    switch (this.mode) {
      case P_SINGLE:
        this.append(0, value, timestamp);
        return;
      case P_ROUND_ROBIN: {
        const c = this.next;
        this.next = c + 1 === this.channels.length ? 0 : c + 1;
        this.append(c, value, timestamp);
        return;
      }
      case P_HASH: {
        let key: string | number;
        try {
          key = this.key!(value);
        } catch (error) {
          throw new KeySelectorError(this.keyOperatorName, error);
        }
        // Runs of one key are common (a window's results share its start): such a record reuses the last key's channel.
        if (key !== this.lastKey) {
          this.lastKey = key;
          this.lastKeyChannel = subtaskForKey(key, this.maxParallelism, this.channels.length);
        }
        this.append(this.lastKeyChannel, value, timestamp);
        return;
      }
      case P_RANDOM:
        this.append(Math.floor(Math.random() * this.channels.length), value, timestamp);
        return;
      case P_CUSTOM: {
        const n = this.channels.length;
        let c: number;
        try {
          c = this.custom!.partition(this.custom!.key(value as never) as never, n);
        } catch (error) {
          throw new UserFunctionError(this.keyOperatorName, 'custom partitioner', error);
        }
        if (!Number.isInteger(c) || c < 0 || c >= n)
          throw new InvalidPartitionError(this.keyOperatorName, c, n);
        this.append(c, value, timestamp);
        return;
      }
      default:
        for (let c = 0; c < this.channels.length; c++) this.append(c, value, timestamp);
    }
  }

  private append(c: number, value: unknown, timestamp: number): void {
    const n = this.counts[c]!;
    this.values[c]!.push(value);
    this.timestamps[c]![n] = timestamp;
    this.counts[c] = n + 1;
    if (n + 1 >= this.batchSize) this.flushChannel(c);
    else if (!this.dirty) {
      this.dirty = true;
      this.onDirty();
    }
  }

  private flushChannel(c: number): void {
    const n = this.counts[c]!;
    if (n === 0) return;
    const values = this.values[c]!;
    const ts = this.timestamps[c]!;
    this.values[c] = [];
    this.timestamps[c] = new Float64Array(this.batchSize);
    this.counts[c] = 0;
    this.channels[c]!.send({
      kind: 'batch',
      values,
      timestamps: n === this.batchSize ? ts : ts.subarray(0, n),
    });
  }

  /** Ships every non-empty buffer. */
  flush(): void {
    if (!this.dirty) return;
    for (let c = 0; c < this.channels.length; c++) this.flushChannel(c);
    this.dirty = false;
  }

  /** Flushes, then sends a control event on every channel (watermark, status, barrier, end). */
  broadcastEvent(event: ChannelEvent): void {
    this.flush();
    for (let c = 0; c < this.channels.length; c++) this.channels[c]!.send(event);
  }

  /** Whether any channel waits for credit. */
  get backlogged(): boolean {
    for (let c = 0; c < this.channels.length; c++) if (this.channels[c]!.backlogSize > 0) return true;
    return false;
  }

  /** Bytes serialized by this writer's channels. */
  get bytesOut(): number {
    let b = 0;
    for (const c of this.channels) b += c.bytesOut;
    return b;
  }
}
