/**
 * `@freshet/runtime/testing`: tooling for tests and benchmarks of the
 * runtime, kept off the main entry (as tRPC and Temporal ship theirs). The
 * operator test harness drives an operator or a fused chain by hand; the
 * fixture graphs are StreamGraphs built without a program bundle, runnable on
 * the local mini-cluster (`runLocalJob({ ...fixtureJob('keyedSum'), ... })`).
 */
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
export {
  buildGraph,
  fixtureJob,
  jobGraphOf,
  makeGraph,
  makeNode,
  type FixtureParams,
} from './fixture-graphs.js';
export { createOperator } from '../operators/create.js';
export { ConnectorSourceOperator } from '../io/connector/source-operator.js';
export { ConnectorSinkOperator } from '../io/connector/sink-operator.js';
export { keyGroupRange } from '../keygroups.js';
export type { OperatorContext, Output, StreamOperator } from '../operator.js';
export { issueTestCertificate, makeTestCa, type TestCertificate } from './certificates.js';
export { connectTestPair, TEST_PAIR_SECRET } from './data-plane-pair.js';
