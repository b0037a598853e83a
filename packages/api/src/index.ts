/**
 * `@freshet/api`: the DataStream API, the only package a user program imports.
 * The plan format the API builds is `@freshet/graph`'s; the host's entry
 * points (`buildStreamGraph`, `validateStreamGraph`) are on `@freshet/api/internal`.
 */
export * from './functions.js';
export type {
  Counter,
  Gauge,
  Meter,
  Histogram,
  HistogramStatistics,
  MetricGroup,
  MeterOptions,
  HistogramOptions,
} from './metrics.js';
export {
  SumAccumulator,
  IntCounter,
  LongCounter,
  DoubleCounter,
  MinimumAccumulator,
  MaximumAccumulator,
  AverageAccumulator,
  HistogramAccumulator,
  ListAccumulator,
  CustomAccumulator,
  type Accumulator,
  type AccumulatorKind,
  type AccumulatorValue,
} from './accumulators.js';
export {
  AbstractRichFunction,
  RichMapFunction,
  RichFlatMapFunction,
  RichFilterFunction,
  RichReduceFunction,
} from './rich.js';
export type { RuntimeMode, StateBackendKind } from '@freshet/graph';
export { ProgramDefinitionError, type ProgramDefinitionDetails } from './errors.js';
export { Time } from './time.js';
export {
  StreamExecutionEnvironment,
  ExecutionConfig,
  type EnvironmentOverrides,
  type GeneratorOptions,
  type NexmarkSourceOptions,
  type RateOptions,
} from './environment.js';
export {
  DataStream,
  SingleOutputStreamOperator,
  DataStreamSink,
  type WindowNeedsKeyBy,
} from './datastream.js';
export { KeyedStream, type KeyedValue, type NumericField } from './keyed.js';
export { WindowedStream, AllWindowedStream, type WindowSettings } from './windowed.js';
export {
  ConnectedStreams,
  KeyedConnectedStreams,
  BroadcastStream,
  BroadcastConnectedStream,
  KeyedBroadcastConnectedStream,
  type AnyMapStateDescriptor,
} from './connected.js';
export {
  JoinedStreams,
  JoinWhere,
  JoinEqualTo,
  WindowedJoin,
  type TwoStreamWindowFunction,
  type TwoStreamWindowKind,
  IntervalJoin,
  IntervalJoined,
  type IntervalBounds,
} from './joins.js';
export {
  TumblingEventTimeWindows,
  TumblingProcessingTimeWindows,
  SlidingEventTimeWindows,
  SlidingProcessingTimeWindows,
  EventTimeSessionWindows,
  ProcessingTimeSessionWindows,
  GlobalWindows,
  describeAssigner,
  isEventTimeAssigner,
  type TumblingWindowSpec,
  type SlidingWindowSpec,
  type SessionWindowSpec,
  type GlobalWindowSpec,
} from './windows/assigners.js';
export {
  EventTimeTrigger,
  ProcessingTimeTrigger,
  NeverTrigger,
  CountTrigger,
  PurgingTrigger,
  ContinuousEventTimeTrigger,
  defaultTrigger,
  describeTrigger,
} from './windows/triggers.js';
export {
  CountEvictor,
  TimeEvictor,
  DeltaEvictor,
  describeEvictor,
  type DeltaFunction,
} from './windows/evictors.js';
export {
  WatermarkStrategy,
  BoundedOutOfOrdernessWatermarks,
  noWatermarks,
  type TimestampAssigner,
  type WatermarkGenerator,
  type WatermarkGeneratorContext,
  type WatermarkGeneratorSupplier,
  type WatermarkOutput,
} from './watermarks.js';
export {
  AsyncDataStream,
  AsyncRetryStrategies,
  AsyncRetryStrategy,
  DEFAULT_ASYNC_CAPACITY,
  type AsyncFunction,
  type ExponentialBackoffOptions,
} from './async.js';
export { Aggregations, type AvgAccumulator } from './aggregations.js';
export { Sinks, type Sink } from './sinks.js';
export {
  stableHash,
  type Boundedness,
  type ConnectorMetrics,
  type InputStatus,
  type ReaderOutput,
  type Source,
  type SourceContext,
  type SourceReader,
  type SourceReaderContext,
  type SourceSplit,
  type SplitEnumerator,
  type SplitOutput,
} from './connector/source.js';
export {
  type Committer,
  type ConnectorSink,
  type DeliveryGuarantee,
  type SinkWriter,
  type SinkWriterContext,
} from './connector/sink.js';
export { defineProgram, type Program } from './program.js';
export {
  CheckpointConfig,
  CheckpointingMode,
  RestartStrategies,
  RestartStrategyConfiguration,
  type ExponentialDelayOptions,
} from './checkpointing.js';
export type { RestartStrategySpec } from '@freshet/graph';
export type { Person, Auction, Bid, NexmarkEvent } from './nexmark.js';
export { nexmarkEventTime } from './nexmark.js';
