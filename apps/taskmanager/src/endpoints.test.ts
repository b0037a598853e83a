import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JobManagerEndpoints, parseJobManagerUrls } from '@freshet/protocol';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A real HTTP server on a free loopback port answering with `answer`; resolves with its base URL. */
async function serve(
  answer: (path: string, res: import('node:http').ServerResponse) => void,
): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    answer(req.url ?? '/', res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A loopback URL nothing listens on (a port just closed). */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}

describe('JobManagerEndpoints', () => {
  it('parses one URL or several, and names a bad entry', () => {
    expect(parseJobManagerUrls('http://a:8081/, http://b:8081')).toEqual(['http://a:8081', 'http://b:8081']);
    expect(() => parseJobManagerUrls('http://a:8081,ftp://b')).toThrow(/'ftp:\/\/b' is not an http/);
    expect(() => parseJobManagerUrls(' , ')).toThrow(/no JobManager URL/);
  });

  it('moves past a JobManager that refuses connections, and stays with the one that answers', async () => {
    const dead = await deadUrl();
    const live = await serve((path, res) => res.end(`live ${path}`));
    const endpoints = new JobManagerEndpoints([dead, live]);
    const f = endpoints.fetch();
    expect(await (await f(`${dead}/trpc/x?input=1`)).text()).toBe('live /trpc/x?input=1');
    expect(endpoints.current).toBe(live);
    // Addressed to either, it goes to the one in use.
    expect(await (await f(`${dead}/healthz`)).text()).toBe('live /healthz');
  });

  it("follows a standby's pointer to the leader, even to a JobManager it was not given", async () => {
    const leader = await serve((path, res) => res.end(`leader ${path}`));
    const standby = await serve((_path, res) => {
      res.writeHead(503, { 'x-freshet-role': 'standby', 'x-freshet-leader': leader });
      res.end('{}');
    });
    const endpoints = new JobManagerEndpoints(standby);
    const answer = await endpoints.fetch()(`${standby}/trpc/jobs.cancel`, { method: 'POST', body: '{}' });
    expect(await answer.text()).toBe('leader /trpc/jobs.cancel');
    expect(endpoints.current).toBe(leader);
  });

  it("passes a standby's refusal on when no leader is elected yet, and fails when none answers", async () => {
    const standby = await serve((_path, res) => {
      res.writeHead(503, { 'x-freshet-role': 'standby' });
      res.end('no leader');
    });
    const f = new JobManagerEndpoints(standby).fetch();
    expect((await f(`${standby}/trpc/x`, { method: 'POST', body: '{}' })).status).toBe(503);
    const dead = await deadUrl();
    await expect(new JobManagerEndpoints([dead]).fetch()(`${dead}/x`)).rejects.toThrow();
  });

  it('leaves other URLs alone', async () => {
    const other = await serve((path, res) => res.end(`other ${path}`));
    const jm = await serve((path, res) => res.end(`jm ${path}`));
    expect(await (await new JobManagerEndpoints(jm).fetch()(`${other}/a`)).text()).toBe('other /a');
  });
});
