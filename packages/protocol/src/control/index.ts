export * from './taskmanager.js';
export * from './deploy.js';
