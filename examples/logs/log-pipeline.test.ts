import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonical, compile, runProgram, type Compiled } from '../harness.js';
import { parseLogLine } from './log-pipeline.js';

const PATHS = ['/', '/index.html', '/api/orders', '/api/users', '/static/app.js'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
let dir: string;
let file: string;
let program: Compiled;
const entries: { time: number; path: string; status: number }[] = [];
const lines: string[] = [];

function clf(time: number): string {
  // Written in UTC+02:00 to exercise the zone offset.
  const d = new Date(time + 2 * 3600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0200`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'freshet-logs-'));
  file = join(dir, 'access.log');
  let x = 5;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const start = Date.UTC(2024, 4, 1, 12, 0, 0);
  for (let i = 0; i < 6000; i++) {
    // Ten minutes of traffic, up to 3 s out of order; minute 4 has a burst of 503s.
    const nominal = start + i * 100;
    const time = nominal - Math.floor(rnd() * 3000);
    const minute = Math.floor((time - start) / 60_000);
    const r = rnd();
    const status = minute === 4 && r < 0.3 ? 503 : r < 0.8 ? 200 : r < 0.9 ? 404 : r < 0.95 ? 302 : 500;
    const path = PATHS[Math.floor(rnd() * PATHS.length)]!;
    entries.push({ time: Math.floor(time / 1000) * 1000, path, status });
    lines.push(
      `10.0.0.${i % 250} - - [${clf(time)}] "GET ${path}?q=${i} HTTP/1.1" ${status} ${100 + (i % 900)} "-" "test"`,
    );
    if (i % 1000 === 999) lines.push('this is not an access log line');
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  program = await compile(join(import.meta.dirname, 'log-pipeline.ts'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function expected() {
  const count = (key: (e: (typeof entries)[number]) => string) => {
    const m = new Map<string, number>();
    for (const e of entries) {
      const k = `${key(e)}|${Math.floor(e.time / 60_000) * 60_000}`;
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return [...m].map(([k, count]) => ({
      key: k.split('|')[0],
      windowStart: Number(k.split('|')[1]),
      count,
    }));
  };
  const errors = new Map<number, number>();
  for (const e of entries)
    if (e.status >= 500)
      errors.set(
        Math.floor(e.time / 60_000) * 60_000,
        (errors.get(Math.floor(e.time / 60_000) * 60_000) ?? 0) + 1,
      );
  const alerts = [...errors]
    .filter(([, n]) => n >= 50)
    .map(([windowStart, errs]) => ({
      alert: '5xx-burst',
      windowStart,
      windowEnd: windowStart + 60_000,
      errors: errs,
    }));
  return { status: count((e) => String(e.status)), paths: count((e) => e.path), alerts };
}

describe('log pipeline', () => {
  it('parses Common Log Format lines with their zone offset', () => {
    expect(
      parseLogLine(
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?x=1 HTTP/1.0" 200 2326',
      ),
    ).toEqual({
      ip: '127.0.0.1',
      time: Date.UTC(2000, 9, 10, 20, 55, 36),
      method: 'GET',
      path: '/apache_pb.gif',
      status: 200,
      bytes: 2326,
    });
    expect(parseLogLine('garbage')).toBeUndefined();
  });

  it.each([
    [1, 'streaming'],
    [2, 'streaming'],
    [2, 'batch'],
  ] as const)(
    'counts per status and path per minute and alerts on the 5xx burst (parallelism %i, %s)',
    async (p, mode) => {
      const run = await runProgram(program, ['--input', file, '--burst', '50'], p, mode);
      const exp = expected();
      expect(exp.alerts).toHaveLength(1);
      expect(canonical(run.collected.status ?? [])).toEqual(canonical(exp.status));
      expect(canonical(run.collected.paths ?? [])).toEqual(canonical(exp.paths));
      expect(canonical(run.collected.alerts ?? [])).toEqual(canonical(exp.alerts));
      expect(run.collected.malformed).toHaveLength(6);
    },
  );
});
