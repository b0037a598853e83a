// Integration test: a real TaskManager process against a real JobManager.
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createTRPCClient, httpLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '@freshet/jobmanager/router';
import { ensureBuilt, ProcessGroup, TASKMANAGER_BIN } from '@freshet/jobmanager/testing';

const group = new ProcessGroup();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(() => ensureBuilt());
afterAll(() => group.dispose());

describe('TaskManager process', () => {
  it('names the bad setting and exits non-zero', async () => {
    const bad = group.spawn(TASKMANAGER_BIN, ['--slots', 'many']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr).toContain('Invalid configuration: --slots must be an integer 1-1024 (got "many")');
    const badUrl = group.spawn(TASKMANAGER_BIN, [], { FRESHET_JOBMANAGER_URL: 'ftp://jm' });
    expect((await badUrl.exited).code).toBe(2);
    expect(badUrl.stderr).toContain('FRESHET_JOBMANAGER_URL must be an http:// or https:// URL');
  });

  it('waits for a JobManager that is not up yet, registers, heartbeats, and deregisters on SIGTERM', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // The JobManager keeps the join secret it finds in its data directory; the TaskManager reads it from there.
    const db = await group.createDatabase();
    const secretFile = join(db.dataDir, 'join-secret');
    await writeFile(secretFile, 'a-join-secret-for-this-test-only\n', { mode: 0o600 });
    const tm = group.spawn(TASKMANAGER_BIN, [
      '--jobmanager',
      url,
      '--slots',
      '4',
      '--resource-id',
      'tm-early',
      '--join-secret-file',
      secretFile,
    ]);
    const data = await tm.waitForLog('TaskManager data port listening on ');
    await tm.waitForLog('JobManager not reachable; retrying registration');

    const jm = await group.startJobManager({ ...db, port });
    const registered = await tm.waitForLog('TaskManager registered as ');
    expect(registered.taskManagerId).toBe('tm-early');

    const client = createTRPCClient<AppRouter>({
      links: [httpLink({ url: `${jm.url}/trpc`, headers: { authorization: `Bearer ${jm.adminToken}` } })],
    });
    const deadline = Date.now() + 5000;
    let info = await client.taskManagers.get.query({ id: 'tm-early' });
    while (info.health === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      info = await client.taskManagers.get.query({ id: 'tm-early' });
    }
    expect(info).toMatchObject({ status: 'OK', slots: 4, dataPort: data.dataPort, host: '127.0.0.1' });
    expect(info.health!.heapUsed).toBeGreaterThan(0);
    expect(info.health!.uptimeSec).toBeGreaterThan(0);

    expect(await tm.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(tm.logs.map((l) => l.msg)).toContain('TaskManager deregistered');
    expect((await client.taskManagers.get.query({ id: 'tm-early' })).status).toBe('DEREGISTERED');
  });
});
