// The API edge: how failures reach a client. A real HTTP server over the
// JobManager's real services and a real database (PGlite, or the Postgres of
// FRESHET_TEST_DATABASE_URL), with the log captured.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TRPCClientError } from '@trpc/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@freshet/db/testing';
import { createJobManagerClient, type JobManagerClient } from '../src/client.js';
import { loadJobManagerConfig } from '../src/env.js';
import { createContext } from '../src/main.js';
import { startHttpServer, type HttpServer } from '../src/server.js';
import type { Services } from '../src/trpc.js';
import { rejection } from './rejection.js';

interface LogLine {
  level: number;
  msg: string;
  errorId?: string;
  err?: { message?: string; stack?: string };
}

const logs: LogLine[] = [];
let database: TestDatabase;
let dataDir: string;
let context: Services;
let server: HttpServer;
let client: JobManagerClient;

beforeAll(async () => {
  database = await createTestDatabase();
  dataDir = await mkdtemp(join(tmpdir(), 'freshet-edge-'));
  const invocation = loadJobManagerConfig(['--data-dir', dataDir], {});
  if (invocation.help) throw new Error('unexpected help');
  const logger = pino(
    { level: 'debug' },
    {
      write: (line: string) => {
        logs.push(JSON.parse(line) as LogLine);
      },
    },
  );
  context = createContext(database.db, invocation.config, logger);
  await context.artifacts.init();
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    uploadLimitBytes: 1 << 20,
    maxBatchSize: 10,
    services: context,
    logger,
  });
  const { token } = await context.tokens.create('edge test', 'admin');
  client = createJobManagerClient(server.url, { token });
});

afterAll(async () => {
  await server.close();
  await context.jobs.stop();
  await database.dispose();
  await rm(dataDir, { recursive: true, force: true });
});

const dataOf = (err: TRPCClientError<never>) =>
  err.data as { code?: string; httpStatus?: number; stack?: unknown } | undefined;

describe('the API edge', () => {
  it('answers a domain error with its own message and code', async () => {
    const err = await rejection(client.jobs.get.query({ jobId: 'no-such-job' }));
    expect(dataOf(err)).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });
    expect(err.message).toBe('No job with id "no-such-job"; list the jobs with `freshet list`');
  });

  it('answers an unexpected failure with an error id only, and logs the detail under that id', async () => {
    // A database error the code does not expect: the table a query needs is gone.
    await database.db.prisma.$executeRawUnsafe('ALTER TABLE artifacts RENAME TO artifacts_hidden');
    let err: TRPCClientError<never>;
    try {
      err = await rejection(client.artifacts.list.query());
    } finally {
      await database.db.prisma.$executeRawUnsafe('ALTER TABLE artifacts_hidden RENAME TO artifacts');
    }
    expect(dataOf(err)).toMatchObject({ code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 });
    expect(dataOf(err)?.stack).toBeUndefined();
    const id = /^Internal error ([0-9a-f]{10}): /.exec(err.message)?.[1];
    expect(id, err.message).toBeDefined();
    expect(err.message).not.toMatch(/artifacts|prisma|table|relation/i);

    const line = logs.find((l) => l.errorId === id);
    expect(line).toMatchObject({ level: 50, msg: `tRPC procedure failed (error id ${id!})` });
    expect(`${line?.err?.message ?? ''} ${line?.err?.stack ?? ''}`).toMatch(/artifacts/);
    // The service works again once the table is back.
    expect(await client.artifacts.list.query()).toEqual([]);
  });

  it('refuses NUL characters in inputs that reach the database with BAD_REQUEST, not a database error', async () => {
    const calls = [
      () => client.jobs.get.query({ jobId: 'job\u0000' }),
      () => client.jobs.cancel.mutate({ jobId: 'job\u0000' }),
      () => client.jobs.list.query({ cursor: '\u0000' }),
      () => client.taskManagers.get.query({ id: 'tm\u0000' }),
      () => client.taskManagers.register.mutate({ host: 'h\u0000', dataPort: 9, slots: 1 }),
    ];
    for (const call of calls) {
      const err = await rejection(call());
      expect(dataOf(err)).toMatchObject({ code: 'BAD_REQUEST', httpStatus: 400 });
      expect(err.message).toContain('must not contain NUL characters');
    }
    expect(logs.filter((l) => l.level >= 50 && /NUL|22021|invalid byte/.test(JSON.stringify(l)))).toEqual([]);
  });
});
