export * from './connection.js';
export * from './topology.js';
export * from './input-channel.js';
export * from './output-channel.js';
export * from './environment.js';
