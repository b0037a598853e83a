export {};
export * from './control/index.js';
export * from './jobgraph.js';
