import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { describe, expect, test } from 'vitest';
import { isProcessAlive, kafkaBrokerPids, startKafkaBroker, type KafkaHarnessErrorCode } from './index.js';

interface HarnessErrorShape {
  name: string;
  code: KafkaHarnessErrorCode;
  message: string;
}

async function harnessError(promise: Promise<unknown>): Promise<HarnessErrorShape> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).name).toBe('KafkaHarnessError');
    return error as HarnessErrorShape;
  }
  throw new Error('expected a rejection');
}

describe('broker start-up failures', () => {
  test('a missing Java is named as such', async () => {
    const error = await harnessError(startKafkaBroker({ java: '/nonexistent/bin/java' }));
    expect(error.code).toBe('JAVA_NOT_FOUND');
    expect(error.message).toContain("Java ('/nonexistent/bin/java') is not installed or not on the PATH");
  });

  test('a broker that cannot start says so and names its log file, which it keeps', async () => {
    const error = await harnessError(startKafkaBroker({ properties: { 'num.partitions': 'many' } }));
    expect(error.code).toBe('BROKER_START_FAILED');
    const logFile = /see (\S+\.log)/.exec(error.message)?.[1];
    expect(logFile, error.message).toBeDefined();
    try {
      expect(readFileSync(logFile!, 'utf8')).toContain('num.partitions');
      // Only the log is kept: no data directory, no process.
      expect(existsSync(join(dirname(logFile!), 'data'))).toBe(false);
    } finally {
      await rm(dirname(logFile!), { recursive: true, force: true });
    }
  });
});

describe('no broker outlives its owner', () => {
  test('a broker whose owning process is SIGKILLed is stopped and removed by its watchdog', async () => {
    const index = pathToFileURL(join(import.meta.dirname, 'index.ts')).href;
    const program = [
      `import { startKafkaBroker } from ${JSON.stringify(index)};`,
      'const broker = await startKafkaBroker();',
      'console.log(JSON.stringify({ pid: broker.pid, logFile: broker.logFile }));',
      'setInterval(() => {}, 60_000);',
    ].join('\n');
    const owner = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
      cwd: import.meta.dirname,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let pid: number | undefined;
    let dir: string | undefined;
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: owner.stdout }).once('line', resolve);
        owner.once('exit', (code) => {
          reject(new Error(`the owner exited (${code}) before its broker started`));
        });
      });
      const started = JSON.parse(line) as { pid: number; logFile: string };
      pid = started.pid;
      const logFile = started.logFile;
      dir = dirname(logFile);
      expect(await kafkaBrokerPids()).toContain(pid);

      owner.kill('SIGKILL');
      const deadline = Date.now() + 20_000;
      while ((isProcessAlive(pid) || existsSync(dirname(logFile))) && Date.now() < deadline) await sleep(100);
      expect(isProcessAlive(pid)).toBe(false);
      expect(await kafkaBrokerPids()).not.toContain(pid);
      expect(existsSync(dirname(logFile))).toBe(false);
    } finally {
      owner.kill('SIGKILL');
      // Should the watchdog have failed, the test still leaves nothing behind.
      if (pid !== undefined && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    }
  });
});
