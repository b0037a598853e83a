/** Operators of the runtime: `createOperator` and the operator classes. */
export { createOperator } from './create.js';
export { UserFunctionError, OperatorUsageError, isUserFunctionError } from './errors.js';
export { AbstractOperator, TimestampedCollector, OperatorRuntimeContext } from './base.js';
export { MapOperator, FlatMapOperator, FilterOperator } from './basic.js';
export { TimestampsAndWatermarksOperator } from './timestamps.js';
export { ProcessOperator, KeyedProcessOperator } from './process.js';
export { KeyedReduceOperator, KeyedAggregateOperator } from './keyed-aggregate.js';
export { CoMapOperator, CoFlatMapOperator, CoProcessOperator } from './co.js';
export { BroadcastProcessOperator } from './broadcast.js';
export { IntervalJoinOperator } from './interval-join.js';
