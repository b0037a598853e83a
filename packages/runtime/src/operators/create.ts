/** Instantiates the operator of a StreamNode. */
import type { StreamNode } from '@freshet/graph';
import type { StreamOperator } from '../operator.js';
import { WindowOperator } from '../windows/window-operator.js';
import { FilterOperator, FlatMapOperator, MapOperator } from './basic.js';
import { AsyncWaitOperator } from './async-wait.js';
import { BroadcastProcessOperator } from './broadcast.js';
import { CoFlatMapOperator, CoMapOperator, CoProcessOperator } from './co.js';
import { OperatorUsageError } from './errors.js';
import { IntervalJoinOperator } from './interval-join.js';
import { KeyedAggregateOperator, KeyedReduceOperator } from './keyed-aggregate.js';
import { KeyedProcessOperator, ProcessOperator } from './process.js';
import { TimestampsAndWatermarksOperator } from './timestamps.js';

/**
 * Creates the operator for a transform node. Sources and sinks are created
 * by the task's I/O layer (`io/`), not here.
 */
export function createOperator(node: StreamNode): StreamOperator {
  switch (node.kind) {
    case 'timestamps':
      return new TimestampsAndWatermarksOperator(node);
    case 'map':
      return new MapOperator(node);
    case 'flatMap':
      return new FlatMapOperator(node);
    case 'filter':
      return new FilterOperator(node);
    case 'process':
      return node.keyed ? new KeyedProcessOperator(node) : new ProcessOperator(node);
    case 'keyedProcess':
      return new KeyedProcessOperator(node);
    case 'reduce':
      return new KeyedReduceOperator(node);
    case 'aggregate':
      return new KeyedAggregateOperator(node);
    case 'window':
    case 'windowJoin':
      return new WindowOperator(node);
    case 'coMap':
      return new CoMapOperator(node);
    case 'coFlatMap':
      return new CoFlatMapOperator(node);
    case 'coProcess':
    case 'keyedCoProcess':
      return new CoProcessOperator(node);
    case 'broadcastProcess':
    case 'keyedBroadcastProcess':
      return new BroadcastProcessOperator(node);
    case 'intervalJoin':
      return new IntervalJoinOperator(node);
    case 'async':
      return new AsyncWaitOperator(node);
    case 'source':
    case 'sink':
      throw new OperatorUsageError(
        `createOperator: node ${node.id} ('${node.name}') is a ${node.kind}; sources and sinks are created by the task's I/O layer (io/), not by createOperator`,
      );
  }
}
