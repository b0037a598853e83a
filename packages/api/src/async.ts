/**
 * Async I/O (Flink's `AsyncDataStream`): enrich a stream from a database or
 * an HTTP service with many requests in flight per parallel instance.
 *
 * The function returns a Promise of the one result record of an input (the
 * TypeScript shape of Flink's `ResultFuture`: return an array and `flatMap`
 * after it for zero or several). `orderedWait` emits results in input order;
 * `unorderedWait` as they complete, never moving a record across a
 * watermark. At most `capacity` requests are in flight; beyond that the
 * operator holds back its input (backpressure). A request that has not
 * completed after `timeoutMs` (all retries included) gets the function's
 * `timeout(input)` result, or fails the job with a timeout error, as in Flink.
 *
 * With checkpoints the inputs of requests still in flight are part of the
 * operator's state: after a restore they are issued again, so every input
 * gets its result exactly once in the operator's output.
 */
import { checkPositiveDuration, checkPositiveInt, describeValue } from './check.js';
import { addOperator, type DataStream, type SingleOutputStreamOperator } from './datastream.js';
import { ProgramDefinitionError } from './errors.js';
import type { Millis, RichFunction } from './functions.js';
import type { AsyncRetrySpec } from '@freshet/graph';

/** The user function of async I/O: one Promise per input, settled with the input's result. */
export type AsyncFunction<IN, OUT> =
  | ((input: IN) => Promise<OUT>)
  | (RichFunction & {
      asyncInvoke(input: IN): Promise<OUT>;
      /** The result of an input whose request timed out; without it a timeout fails the job. */
      timeout?(input: IN): OUT;
    });

/** When a request is retried, and after how long (Flink's AsyncRetryStrategy). */
export class AsyncRetryStrategy<OUT = never> {
  /** Phantom field carrying the result type the predicate reads; never set. */
  declare readonly __type?: (result: OUT) => void;
  /** @internal */
  constructor(
    /** The strategy as plan data. */
    readonly spec: AsyncRetrySpec,
    /** Retry when the result is this (e.g. an empty lookup); @default never */
    readonly retryOnResult: ((result: OUT) => boolean) | undefined,
    /** Retry when the request failed with this error; @default always */
    readonly retryOnError: ((error: unknown) => boolean) | undefined,
  ) {}

  /** Also retries when `predicate(result)` holds (Flink's `ifResult`). */
  ifResult<R>(predicate: (result: R) => boolean): AsyncRetryStrategy<R> {
    if (typeof predicate !== 'function')
      throw new ProgramDefinitionError(`ifResult expects a function (got ${describeValue(predicate)})`);
    return new AsyncRetryStrategy<R>(this.spec, predicate, this.retryOnError);
  }

  /** Retries a failed request only when `predicate(error)` holds (Flink's `ifException`). */
  ifException(predicate: (error: unknown) => boolean): AsyncRetryStrategy<OUT> {
    if (typeof predicate !== 'function')
      throw new ProgramDefinitionError(`ifException expects a function (got ${describeValue(predicate)})`);
    return new AsyncRetryStrategy<OUT>(this.spec, this.retryOnResult, predicate);
  }
}

/** Options of {@link AsyncRetryStrategies.exponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  initialDelayMs: Millis;
  maxDelayMs: Millis;
  /** @default 2 */
  multiplier?: number;
}

/** Ready-made retry strategies (Flink's AsyncRetryStrategies). */
export const AsyncRetryStrategies = {
  /** No retries (the default). */
  noRetry(): AsyncRetryStrategy {
    return new AsyncRetryStrategy({ type: 'none' }, undefined, undefined);
  },
  /** Up to `maxAttempts` attempts in total, `delayMs` apart. Retries failed requests; add `ifResult` to retry on results too. */
  fixedDelay(maxAttempts: number, delayMs: Millis): AsyncRetryStrategy {
    checkPositiveInt('AsyncRetryStrategies.fixedDelay maxAttempts', maxAttempts);
    checkPositiveDuration('AsyncRetryStrategies.fixedDelay delay', delayMs);
    return new AsyncRetryStrategy({ type: 'fixed-delay', maxAttempts, delayMs }, undefined, undefined);
  },
  /** Up to `maxAttempts` attempts, the delay growing from `initialDelayMs` by `multiplier` up to `maxDelayMs`. */
  exponentialBackoff(options: ExponentialBackoffOptions): AsyncRetryStrategy {
    checkPositiveInt('AsyncRetryStrategies.exponentialBackoff maxAttempts', options.maxAttempts);
    checkPositiveDuration('AsyncRetryStrategies.exponentialBackoff initialDelayMs', options.initialDelayMs);
    checkPositiveDuration('AsyncRetryStrategies.exponentialBackoff maxDelayMs', options.maxDelayMs);
    const multiplier = options.multiplier ?? 2;
    if (!(typeof multiplier === 'number' && multiplier >= 1)) {
      throw new ProgramDefinitionError(
        `AsyncRetryStrategies.exponentialBackoff expects multiplier >= 1 (got ${describeValue(multiplier)})`,
      );
    }
    return new AsyncRetryStrategy(
      {
        type: 'exponential-backoff',
        maxAttempts: options.maxAttempts,
        initialDelayMs: options.initialDelayMs,
        maxDelayMs: options.maxDelayMs,
        multiplier,
      },
      undefined,
      undefined,
    );
  },
} as const;

/** Default number of requests in flight per parallel instance (Flink's default). */
export const DEFAULT_ASYNC_CAPACITY = 100;

function addAsync<IN, OUT>(
  what: string,
  ordered: boolean,
  stream: DataStream<IN>,
  fn: AsyncFunction<IN, OUT>,
  timeoutMs: Millis,
  capacity: number,
  retry: AsyncRetryStrategy<OUT> | undefined,
): SingleOutputStreamOperator<OUT> {
  if (typeof stream !== 'object' || stream === null || !('producers' in stream)) {
    throw new ProgramDefinitionError(`${what} expects a DataStream first (got ${describeValue(stream)})`);
  }
  const ok =
    typeof fn === 'function' ||
    (typeof fn === 'object' &&
      fn !== null &&
      typeof (fn as { asyncInvoke?: unknown }).asyncInvoke === 'function');
  if (!ok) {
    throw new ProgramDefinitionError(
      `${what} expects an async function (input) => Promise<result>, or an object with asyncInvoke (got ${describeValue(fn)})`,
    );
  }
  checkPositiveDuration(`${what} timeout`, timeoutMs);
  checkPositiveInt(`${what} capacity`, capacity);
  if (retry !== undefined && !(retry instanceof AsyncRetryStrategy)) {
    throw new ProgramDefinitionError(
      `${what} expects a retry strategy from AsyncRetryStrategies (got ${describeValue(retry)})`,
    );
  }
  const spec = { ordered, timeoutMs, capacity, retry: retry?.spec ?? { type: 'none' as const } };
  return addOperator<OUT>(
    stream.env,
    {
      kind: 'async',
      name: ordered ? 'Async(ordered)' : 'Async(unordered)',
      inputs: 1,
      keyed: false,
      spec: { async: spec },
      fns: retry === undefined ? { fn } : { fn, retry },
    },
    [{ producers: stream.producers }],
  );
}

/** Async I/O on a stream (Flink's AsyncDataStream). */
export const AsyncDataStream = {
  /**
   * Results in input order.
   * @param capacity requests in flight per parallel instance @default 100
   */
  orderedWait<IN, OUT>(
    stream: DataStream<IN>,
    fn: AsyncFunction<IN, OUT>,
    timeoutMs: Millis,
    capacity: number = DEFAULT_ASYNC_CAPACITY,
  ): SingleOutputStreamOperator<OUT> {
    return addAsync('AsyncDataStream.orderedWait', true, stream, fn, timeoutMs, capacity, undefined);
  },
  /**
   * Results as they complete (records never cross a watermark).
   * @param capacity requests in flight per parallel instance @default 100
   */
  unorderedWait<IN, OUT>(
    stream: DataStream<IN>,
    fn: AsyncFunction<IN, OUT>,
    timeoutMs: Millis,
    capacity: number = DEFAULT_ASYNC_CAPACITY,
  ): SingleOutputStreamOperator<OUT> {
    return addAsync('AsyncDataStream.unorderedWait', false, stream, fn, timeoutMs, capacity, undefined);
  },
  /** {@link AsyncDataStream.orderedWait} with retries; the timeout covers every attempt. */
  orderedWaitWithRetry<IN, OUT>(
    stream: DataStream<IN>,
    fn: AsyncFunction<IN, OUT>,
    timeoutMs: Millis,
    capacity: number,
    retry: AsyncRetryStrategy<OUT> | AsyncRetryStrategy,
  ): SingleOutputStreamOperator<OUT> {
    return addAsync(
      'AsyncDataStream.orderedWaitWithRetry',
      true,
      stream,
      fn,
      timeoutMs,
      capacity,
      retry as AsyncRetryStrategy<OUT>,
    );
  },
  /** {@link AsyncDataStream.unorderedWait} with retries; the timeout covers every attempt. */
  unorderedWaitWithRetry<IN, OUT>(
    stream: DataStream<IN>,
    fn: AsyncFunction<IN, OUT>,
    timeoutMs: Millis,
    capacity: number,
    retry: AsyncRetryStrategy<OUT> | AsyncRetryStrategy,
  ): SingleOutputStreamOperator<OUT> {
    return addAsync(
      'AsyncDataStream.unorderedWaitWithRetry',
      false,
      stream,
      fn,
      timeoutMs,
      capacity,
      retry as AsyncRetryStrategy<OUT>,
    );
  },
} as const;
