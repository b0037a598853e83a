/** Window assigners, default triggers and the window operator. */
export { createWindowAssigner, windowStart, type WindowAssigner } from './assigners.js';
export { WindowOperator, type WindowState } from './window-operator.js';
