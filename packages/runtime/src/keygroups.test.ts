import { describe, expect, it } from 'vitest';
import { hashKey, keyGroupOf, keyGroupRange, subtaskForKey } from './keygroups.js';

describe('key groups', () => {
  it('are the unsigned hash modulo maxParallelism, for powers of two and any other count up to 2^15', () => {
    const counts = [1, 2, 3, 7, 10, 100, 127, 128, 1000, 4096, 10_007, 32_767, 32_768];
    const keys: (string | number)[] = [
      '',
      'a',
      'Google',
      'ключ',
      'x'.repeat(300),
      1.5,
      -0.25,
      2 ** 40,
      -(2 ** 31),
    ];
    for (let i = -50_000; i < 50_000; i++) keys.push(i * 7919, `k${i}`);
    const wrong: string[] = [];
    for (const m of counts) {
      for (const key of keys) {
        const h = hashKey(key);
        if (!(h >= 0) || keyGroupOf(key, m) !== h % m) wrong.push(`${String(key)} mod ${m}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('do not change: checkpoints and savepoints of earlier versions depend on them', () => {
    expect([0, 1, 42, 1000, -1, 'Google', 'auction-7'].map((k) => hashKey(k))).toEqual([
      0, 1364076727, 142593372, 1718167128, 2180083513, 1873661189, 962442325,
    ]);
    expect([0, 1, 42, 1000, -1, 'Google', 'auction-7'].map((k) => keyGroupOf(k, 128))).toEqual([
      0, 55, 92, 88, 57, 5, 85,
    ]);
    expect([0, 1, 42, 1000, -1, 'Google', 'auction-7'].map((k) => keyGroupOf(k, 100))).toEqual([
      0, 27, 72, 28, 13, 89, 25,
    ]);
  });

  it('send a key to the subtask whose range holds its key group', () => {
    for (const p of [1, 2, 3, 5, 128]) {
      for (let key = 0; key < 2000; key++) {
        const s = subtaskForKey(key, 128, p);
        const { start, end } = keyGroupRange(128, p, s);
        expect(keyGroupOf(key, 128)).toBeGreaterThanOrEqual(start);
        expect(keyGroupOf(key, 128)).toBeLessThanOrEqual(end);
      }
    }
  });
});
