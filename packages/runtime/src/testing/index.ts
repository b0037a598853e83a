/** Operator test harness. */
export {
  OperatorHarness,
  ManualProcessingTimeService,
  CollectingOutput,
  ChainedOutput,
  testNode,
  type Emitted,
  type HarnessOptions,
  type TestNodeInit,
} from './harness.js';
