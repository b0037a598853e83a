import { describe, expect, it } from 'vitest';
import { loadTaskManagerConfig } from './env.js';

const load = (argv: string[], env: Record<string, string> = {}) => {
  const result = loadTaskManagerConfig(argv, env);
  if (result.help) throw new Error('unexpected help');
  return result.config;
};

describe('loadTaskManagerConfig', () => {
  it('defaults to a local JobManager, one slot, a free data port on loopback and sandboxed tasks without network', () => {
    expect(load([])).toEqual({
      jobManagerUrl: 'http://127.0.0.1:8081',
      slots: 1,
      host: '127.0.0.1',
      dataPort: 0,
      resourceId: undefined,
      handshakeTimeoutMs: 10_000,
      maxFrameBytes: 64 * 1024 * 1024,
      maxPendingHandshakes: 64,
      taskIsolation: 'auto',
      taskNetwork: 'none',
      taskFiles: [],
      slotHeapMiB: 512,
      taskWatchdogMs: 60_000,
      partitionMemoryMiB: 64,
      logLevel: 'info',
    });
  });

  it('lets flags win over the environment and trims a trailing slash', () => {
    expect(
      load(['--jobmanager', 'http://jm:9000/', '--slots', '4'], {
        FRESHET_TASKMANAGER_SLOTS: '8',
        FRESHET_TASKMANAGER_DATA_PORT: '6121',
      }),
    ).toMatchObject({ jobManagerUrl: 'http://jm:9000', slots: 4, dataPort: 6121 });
  });

  it('names the bad setting', () => {
    expect(() => load(['--slots', '0'])).toThrow(
      'Invalid configuration: --slots must be an integer 1-1024 (got "0")',
    );
    expect(() => load(['--data-port=-1'])).toThrow('--data-port must be an integer 0-65535 (got "-1")');
    expect(() => load([], { FRESHET_TASKMANAGER_RESOURCE_ID: 'a b' })).toThrow(
      'FRESHET_TASKMANAGER_RESOURCE_ID must be',
    );
  });
});
