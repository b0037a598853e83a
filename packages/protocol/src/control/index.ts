export * from './taskmanager.js';
export * from './settings.js';
