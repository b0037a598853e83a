export * from './model.js';
export * from './config.js';
export * from './generator.js';
export * from './jsonl.js';
export * from './baseline.js';
