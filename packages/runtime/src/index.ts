export * from './operator.js';
export * from './keygroups.js';
