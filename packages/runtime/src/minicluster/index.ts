export * from './mini-cluster.js';
