/** The heap keyed-state backend. */
export { HeapKeyedStateBackend, type KeyedStatePart, type KeyGroupSnapshot, type KeyedBackendOptions } from './backend.js';
export {
  HeapValueState,
  HeapListState,
  HeapMapState,
  HeapReducingState,
  HeapAggregatingState,
  Ttl,
  type TtlEntry,
  type HeapState,
} from './states.js';
