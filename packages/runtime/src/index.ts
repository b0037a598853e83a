export * from './operator.js';
export * from './keygroups.js';
export * from './program/index.js';
export * from './operators/index.js';
export * from './state/index.js';
export * from './timers/index.js';
export * from './windows/index.js';
export * from './testing/index.js';
