export * from './errors.js';
export * from './metrics.js';
export * from './watermark-valve.js';
export * from './chain.js';
export * from './stream-task.js';
export * from './deploy.js';
