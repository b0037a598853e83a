export * from './operator.js';
export * from './keygroups.js';
export * from './program/index.js';
