export * from './source-base.js';
export * from './sources.js';
export * from './sinks.js';
