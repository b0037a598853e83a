import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonical, compile, runProgram, type Compiled } from '../harness.js';
import type { FraudAlert, Transaction } from './fraud-detection.js';

let dir: string;
let file: string;
let program: Compiled;
const txs: Transaction[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-fraud-'));
  file = join(dir, 'transactions.jsonl');
  let x = 99;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  let t = Date.UTC(2024, 0, 1);
  for (let i = 0; i < 20_000; i++) {
    t += 1 + Math.floor(rnd() * 400);
    const r = rnd();
    const amount =
      r < 0.05
        ? Math.round(rnd() * 99) / 100
        : r < 0.1
          ? 500 + Math.round(rnd() * 100000) / 100
          : Math.round(rnd() * 30000) / 100;
    txs.push({ accountId: `acct-${Math.floor(rnd() * 40)}`, amount, timestamp: t });
  }
  // Hand-made cases: exactly a minute later (alert), a minute and a millisecond (none), interrupted (none).
  t += 1000;
  txs.push(
    { accountId: 'edge-1', amount: 0.5, timestamp: t },
    { accountId: 'edge-1', amount: 900, timestamp: t + 60_000 },
  );
  txs.push(
    { accountId: 'edge-2', amount: 0.5, timestamp: t + 1 },
    { accountId: 'edge-2', amount: 900, timestamp: t + 60_002 },
  );
  txs.push(
    { accountId: 'edge-3', amount: 0.5, timestamp: t + 2 },
    { accountId: 'edge-3', amount: 20, timestamp: t + 3 },
    { accountId: 'edge-3', amount: 900, timestamp: t + 4 },
  );
  txs.sort((a, b) => a.timestamp - b.timestamp);
  writeFileSync(file, txs.map((tx) => `${JSON.stringify(tx)}\n`).join(''));
  program = await compile(join(import.meta.dirname, 'fraud-detection.ts'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expectedAlerts(): FraudAlert[] {
  const last = new Map<string, Transaction>();
  const out: FraudAlert[] = [];
  for (const tx of txs) {
    const small = last.get(tx.accountId);
    if (small) {
      if (tx.amount > 500 && tx.timestamp - small.timestamp <= 60_000) {
        out.push({
          accountId: tx.accountId,
          smallAmount: small.amount,
          largeAmount: tx.amount,
          smallAt: small.timestamp,
          largeAt: tx.timestamp,
        });
      }
      last.delete(tx.accountId);
    }
    if (tx.amount < 1) last.set(tx.accountId, tx);
  }
  return out;
}

describe('fraud detection', () => {
  it('finds some alerts in the data, including the edge cases', () => {
    const alerts = expectedAlerts();
    expect(alerts.length).toBeGreaterThan(5);
    expect(alerts.map((a) => a.accountId)).toContain('edge-1');
    expect(alerts.map((a) => a.accountId)).not.toContain('edge-2');
    expect(alerts.map((a) => a.accountId)).not.toContain('edge-3');
  });

  it.each([
    [1, 'streaming'],
    [3, 'streaming'],
    [2, 'batch'],
  ] as const)('raises exactly the expected alerts (parallelism %i, %s)', async (p, mode) => {
    const run = await runProgram(program, ['--input', file], p, mode);
    expect(canonical(run.collected.alerts ?? [])).toEqual(canonical(expectedAlerts()));
  });
});
