export * from './executor.js';
export * from './spawn.js';
export * from './port-connection.js';
export type * from './messages.js';
