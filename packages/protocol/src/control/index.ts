export * from './taskmanager.js';
export * from './settings.js';
export * from './deploy.js';
