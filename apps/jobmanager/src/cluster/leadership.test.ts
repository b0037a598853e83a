import { createTestDatabase, type TestDatabase } from '@freshet/db/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaderLease } from './leadership.js';

// Two JobManagers' leases on one real database (Postgres with FRESHET_TEST_DATABASE_URL, else PGlite).
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.dispose();
});

const logger = pino({ level: process.env.LEASE_DEBUG ? 'debug' : 'silent' });
const lease = (url: string, ttlMs = 400): LeaderLease =>
  new LeaderLease({ db: t.db, url, logger, ttlMs, name: url });

describe('LeaderLease', () => {
  it('one holder at a time; a standby takes the lease with the next epoch once it expired', async () => {
    // Long enough that renewals keep it on a loaded machine.
    const a = lease('http://a', 1500);
    const b = new LeaderLease({ db: t.db, url: 'http://b', logger, ttlMs: 1500, name: 'http://a' });
    const lostA: string[] = [];
    expect(await a.campaign({ onLost: (r) => lostA.push(r) })).toBe(1);
    expect(a.isLeader).toBe(true);
    // While a renews, b cannot take it.
    expect(await b.tryAcquire()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1600));
    expect(await b.tryAcquire()).toBeUndefined();
    expect(await b.leader()).toMatchObject({ url: 'http://a', epoch: 1, expired: false });

    // a stops renewing (as a killed process would): the lease expires and b takes it as epoch 2.
    await a.close();
    const standby: (string | undefined)[] = [];
    const started = performance.now();
    const epoch = await b.campaign({ onStandby: (l) => standby.push(l?.url), onLost: () => undefined });
    expect(epoch).toBe(2);
    // Within the lease's remainder and one try interval (plus slack for a loaded machine).
    expect(performance.now() - started).toBeLessThan(1500 + 500 + 1000);
    expect(standby[0]).toBe('http://a');
    expect(await b.leader()).toMatchObject({ url: 'http://b', epoch: 2, expired: false });
    await b.close();
  });

  it('a holder that finds the lease taken from it reports the loss once, and stops leading', async () => {
    const a = lease('http://c', 2000);
    const lost: string[] = [];
    await a.campaign({ onLost: (r) => lost.push(r) });
    // Another JobManager overwrites the row (as after a pause longer than the lease).
    await t.db.prisma
      .$executeRaw`UPDATE jobmanager_leader SET holder = 'other', epoch = epoch + 1 WHERE name = 'http://c'`;
    for (let i = 0; i < 120 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatch(/another JobManager holds the lease/);
    expect(a.isLeader).toBe(false);
    await a.close();
  });

  it('a holder that cannot renew stops leading before the lease can expire', async () => {
    const a = lease('http://d', 600);
    const lost: { reason: string; at: number }[] = [];
    await a.campaign({ onLost: (reason) => lost.push({ reason, at: performance.now() }) });
    const expiresBy = performance.now() + 600;
    // The database stops answering this holder: its renewals hang.
    const prisma = t.db.prisma as unknown as { $queryRaw: (...args: unknown[]) => Promise<unknown> };
    const real = prisma.$queryRaw;
    prisma.$queryRaw = () => new Promise(() => undefined);
    try {
      for (let i = 0; i < 60 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    } finally {
      prisma.$queryRaw = real;
    }
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatch(/could not be renewed within 500 ms/);
    expect(lost[0]!.at).toBeLessThan(expiresBy);
    await a.close();
  });

  it('a clean release lets a standby take over at once', async () => {
    const a = lease('http://e', 5000);
    await a.campaign({ onLost: () => undefined });
    await a.release();
    const b = new LeaderLease({ db: t.db, url: 'http://f', logger, ttlMs: 5000, name: 'http://e' });
    expect(await b.tryAcquire()).toBe(2);
    await b.close();
  });
});
