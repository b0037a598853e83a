export * from './events.js';
export * from './binary.js';
