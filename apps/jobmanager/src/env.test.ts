import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadJobManagerConfig } from './env.js';

const load = (argv: string[], env: Record<string, string> = {}) => {
  const result = loadJobManagerConfig(argv, env, '/srv/freshet');
  if (result.help) throw new Error('unexpected help');
  return result.config;
};

describe('loadJobManagerConfig', () => {
  it('has defaults that make it easy to start', () => {
    expect(load([])).toEqual({
      host: '127.0.0.1',
      port: 8081,
      dataDir: resolve('/srv/freshet/.freshet'),
      databaseUrl: undefined,
      heartbeatTimeoutMs: 10_000,
      highAvailability: 'none',
      haLeaseMs: 3000,
      uploadLimitBytes: 10 * 1024 * 1024,
      projectMaxFiles: 20_000,
      projectMaxBytes: 100 * 1024 * 1024,
      slotRequestTimeoutMs: 30_000,
      cancelTimeoutMs: 10_000,
      checkpointIntervalMs: 0,
      checkpointTimeoutMs: 600_000,
      checkpointMinPauseMs: 0,
      checkpointTolerableFailures: -1,
      checkpointsRetained: 3,
      restartStrategy: undefined,
      planTimeoutMs: 10_000,
      maxJobParallelism: 256,
      compileConcurrency: 2,
      compileQueue: 8,
      planConcurrency: 2,
      planQueue: 32,
      maxBatchSize: 10,
      collectLimitPerJob: 10_000,
      collectLimitTotal: 200_000,
      collectLimitBytes: 64 * 1024 * 1024,
      outputRecordsPerJob: 1000,
      finishedJobLingerMs: 10_000,
      tlsCert: undefined,
      tlsKey: undefined,
      joinSecret: undefined,
      joinSecretFile: undefined,
      logLevel: 'info',
    });
  });

  it('lets flags win over the environment', () => {
    const config = load(['--port', '0', '--data-dir', 'data'], {
      FRESHET_JOBMANAGER_PORT: '9000',
      FRESHET_HEARTBEAT_TIMEOUT_MS: '1500',
      DATABASE_URL: 'postgresql://u@localhost/db',
    });
    expect(config).toMatchObject({
      port: 0,
      dataDir: resolve('/srv/freshet/data'),
      heartbeatTimeoutMs: 1500,
      databaseUrl: 'postgresql://u@localhost/db',
    });
  });

  it('names every bad setting as the user wrote it', () => {
    expect(() => load(['--port', 'abc'])).toThrow(
      'Invalid configuration: --port must be an integer 0-65535 (got "abc")',
    );
    expect(() => load([], { FRESHET_JOBMANAGER_PORT: '70000' })).toThrow(
      'FRESHET_JOBMANAGER_PORT must be an integer 0-65535 (got "70000")',
    );
    expect(() => load([], { DATABASE_URL: 'mysql://x' })).toThrow(
      'DATABASE_URL must be a postgres:// or postgresql:// connection URL',
    );
    expect(() => load(['--log-level', 'loud'])).toThrow('--log-level must be one of fatal, error');
    expect(() => load(['--nope'])).toThrow(/Invalid configuration: Unknown option '--nope'/);
  });

  it('reads the cluster default restart strategy in its one-line syntax', () => {
    expect(load(['--restart-strategy', 'fixed-delay:3:1000']).restartStrategy).toEqual({
      type: 'fixed-delay',
      attempts: 3,
      delayMs: 1000,
    });
    expect(() => load([], { FRESHET_RESTART_STRATEGY: 'sometimes' })).toThrow(
      /FRESHET_RESTART_STRATEGY must be none \| fixed-delay/,
    );
  });

  it('recognises --help', () => {
    expect(loadJobManagerConfig(['--help'], {})).toEqual({ help: true });
  });
});
