/** Keyed event-time and processing-time timers. */
export { InternalTimerService, type TimerTarget, type Timer } from './timer-service.js';
export { TimerHeap } from './heap.js';
