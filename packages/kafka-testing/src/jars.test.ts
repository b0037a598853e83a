import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { kafkaJarsDir, resolveKafkaJars, type KafkaHarnessErrorCode } from './index.js';

const resolveScript = join(import.meta.dirname, '../scripts/resolve.mjs');
const scratch: string[] = [];

async function emptyDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'freshet-kafka-jars-test-'));
  scratch.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true })));
});

/** Runs scripts/resolve.mjs (what .ci/run runs) against a cache root. */
function runResolveScript(cacheDir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [resolveScript], {
      env: { ...process.env, FRESHET_KAFKA_CACHE_DIR: cacheDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, output });
    });
  });
}

/** The KafkaHarnessError a promise rejects with. */
async function harnessError(
  promise: Promise<unknown>,
): Promise<{ code: KafkaHarnessErrorCode; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).name).toBe('KafkaHarnessError');
    return error as { code: KafkaHarnessErrorCode; message: string };
  }
  throw new Error('expected a rejection');
}

describe('resolveKafkaJars', () => {
  test('two processes resolving into an empty cache at once leave one complete entry', async () => {
    const cacheDir = await emptyDir();
    const [a, b] = await Promise.all([runResolveScript(cacheDir), runResolveScript(cacheDir)]);
    expect(a.code, a.output).toBe(0);
    expect(b.code, b.output).toBe(0);
    // One ran Maven, the other waited for it and took its result.
    expect([a.output, b.output].filter((o) => o.includes('jars resolved in'))).toHaveLength(1);
    expect([a.output, b.output].filter((o) => o.includes('jars already cached in'))).toHaveLength(1);
    // Nothing half-done is left beside the entry: no lock, no staging directory.
    expect(await readdir(cacheDir)).toEqual([basename(kafkaJarsDir(cacheDir))]);

    const warm = await resolveKafkaJars({ cacheDir });
    expect(warm.resolvedNow).toBe(false);
    const names = warm.jars.map((j) => basename(j));
    expect(names).toHaveLength(45);
    expect(names).toEqual(
      expect.arrayContaining(['kafka_2.13-4.4.0.jar', 'kafka-server-4.4.0.jar', 'kafka-clients-4.4.0.jar']),
    );
    expect(names.some((n) => n.startsWith('log4j-slf4j-impl-'))).toBe(true);

    // An entry that lost a jar is incomplete, so the next call resolves again
    // (here with a Maven that is missing, which says so).
    await unlink(warm.jars[0]!);
    const error = await harnessError(resolveKafkaJars({ cacheDir, mavenCommand: '/nonexistent/mvn' }));
    expect(error.code).toBe('MAVEN_NOT_FOUND');
    expect(error.message).toMatch(/Maven \('\/nonexistent\/mvn'\) is not installed or not on the PATH/);
  });

  test('an unreachable repository is named as such', async () => {
    const cacheDir = await emptyDir();
    const mavenRepoLocal = await emptyDir();
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/maven2`;
    const error = await harnessError(resolveKafkaJars({ cacheDir, mavenRepoLocal, mavenRepositoryUrl: url }));
    expect(error.code).toBe('MAVEN_CENTRAL_UNREACHABLE');
    expect(error.message).toContain(`The Maven repository (${url}) is unreachable`);
    expect(error.message).toContain('Connection refused');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  test('a lock left by a dead process is broken, not waited for', async () => {
    const cacheDir = await emptyDir();
    const lock = `${kafkaJarsDir(cacheDir)}.lock`;
    await mkdir(lock, { recursive: true });
    await writeFile(join(lock, 'owner'), `${await deadPid()}\n`);
    // Getting as far as running Maven (missing here) proves the lock was taken over.
    const error = await harnessError(
      resolveKafkaJars({ cacheDir, mavenCommand: '/nonexistent/mvn', timeoutMs: 5_000 }),
    );
    expect(error.code).toBe('MAVEN_NOT_FOUND');
  });

  test('a fresh lock whose owner file is still empty (being written) is waited for, not broken', async () => {
    const cacheDir = await emptyDir();
    const lock = `${kafkaJarsDir(cacheDir)}.lock`;
    await mkdir(lock, { recursive: true });
    // What a waiter sees between the owner's mkdir and its pid written: reading it as a dead
    // owner let two processes run Maven at once (a CI run caught it).
    await writeFile(join(lock, 'owner'), '');
    const error = await harnessError(
      resolveKafkaJars({ cacheDir, mavenCommand: '/nonexistent/mvn', timeoutMs: 1_000 }),
    );
    expect(error.code).toBe('JARS_LOCK_TIMEOUT');
  });
});

/** A loopback port nothing listens on (a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no TCP address'));
        else resolve(address.port);
      });
    });
  });
}

/** The pid of a process that has exited. */
function deadPid(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', () => {
      resolve(child.pid!);
    });
  });
}
