export * from './taskmanager.js';
export * from './deploy.js';
export * from './text.js';
export * from './checkpoints.js';
export * from './edge-taps.js';
export * from './profiles.js';
