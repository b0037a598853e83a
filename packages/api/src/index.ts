export * from './functions.js';
export * from './graph.js';
