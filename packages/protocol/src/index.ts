export {};
export * from './control/index.js';
export * from './jobgraph.js';
export * from './job-status.js';
export * from './program.js';
