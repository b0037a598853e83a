export * from './errors.js';
export * from './metrics.js';
export * from './watermark-valve.js';
export * from './input-gate.js';
export * from './record-writer.js';
export * from './chain.js';
export * from './stream-task.js';
export * from './deploy.js';
