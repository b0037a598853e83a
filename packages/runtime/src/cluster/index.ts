export * from './frames.js';
export * from './peer-link.js';
export * from './data-plane.js';
export * from './tcp-connection.js';
export * from './job.js';
