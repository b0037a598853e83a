import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchMarkdown } from './bench.js';
import { flinkPeerRows, flinkRows, joinFlinkRows, parseFlinkDetails } from './bench-flink.js';

// Two runs as the peer harness (../shared/peer-flink) wrote them on 2026-12-02, 10 M events.
const DETAILS = JSON.stringify([
  {
    engine: 'flink',
    flinkVersion: '2.3.0',
    kind: 'warmup',
    query: 'q5',
    parallelism: 1,
    events: 2000000,
    seconds: 8.5863,
    cpuSeconds: 14.09,
    eventsPerSecond: 232928,
    eventsPerCpuSecond: 141945,
    outputs: 1356,
    netRuntimeSeconds: 6.066,
    gcSeconds: 0.231,
    jobSeconds: 5.0454,
    jobCpuSeconds: 8.02,
    jobEventsPerSecond: 396401,
    jobEventsPerCpuSecond: 249377,
    otherProcessesCpuSeconds: 1.03,
  },
  {
    engine: 'flink',
    flinkVersion: '2.3.0',
    kind: 'timed',
    query: 'q5',
    parallelism: 1,
    events: 10000000,
    seconds: 19.3543,
    cpuSeconds: 23.11,
    eventsPerSecond: 516682,
    eventsPerCpuSecond: 432713,
    outputs: 6669,
    netRuntimeSeconds: 18.087,
    gcSeconds: 0.414,
    jobSeconds: 17.8389,
    jobCpuSeconds: 20.75,
    jobEventsPerSecond: 560574,
    jobEventsPerCpuSecond: 481928,
    otherProcessesCpuSeconds: 3.67,
  },
]);

describe('the Flink peer beside freshet bench', () => {
  it('keeps the timed runs and compares them with the local rows of the same query and parallelism', () => {
    const details = parseFlinkDetails(DETAILS, 'latest-details.json');
    expect(details.map((d) => d.kind)).toEqual(['timed']);
    const rows = joinFlinkRows(
      details,
      [
        { query: 'q5', parallelism: 1, eventsPerCpuSecond: 1_200_000, outputs: 6669 },
        // Not a query the peer implements: no row, no error.
        { query: 'q4', parallelism: 1, eventsPerCpuSecond: 1, outputs: 0 },
      ],
      10_000_000,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      mode: 'flink',
      query: 'q5',
      parallelism: 1,
      flinkVersion: '2.3.0',
      eventsPerCpuSecond: Math.round(10_000_000 / 23.11),
      jobEventsPerCpuSecond: Math.round(10_000_000 / 20.75),
      outputs: 6669,
      freshetOutputs: 6669,
    });
    expect(rows[0]!.ratio).toBeCloseTo((1_200_000 * 23.11) / 10_000_000, 3);
    expect(rows[0]!.jobRatio).toBeCloseTo((1_200_000 * 20.75) / 10_000_000, 3);
    expect(flinkRows(rows)[0]).toEqual([
      'q5',
      '1',
      '1,200,000',
      '432,713',
      '2.77',
      '481,928',
      '2.49',
      '—',
      '0.41',
      '6,669 (equal)',
    ]);
    expect(rows[0]!.steadyJobRatio).toBeNull();
    const md = benchMarkdown(rows);
    expect(md).toContain('## Apache Flink 2.3.0 beside Freshet');
    expect(md).toContain('| q5 | 1 | 1,200,000 | 432,713 | 2.77 |');
  });

  it("sets Freshet's steady rate (start-up taken out) beside Flink's job window", () => {
    const rows = joinFlinkRows(
      parseFlinkDetails(DETAILS, 'x'),
      [
        {
          query: 'q5',
          parallelism: 1,
          eventsPerCpuSecond: 1_200_000,
          steadyEventsPerCpuSecond: 1_300_000.4,
          outputs: 6669,
        },
      ],
      10_000_000,
    );
    expect(rows[0]!.freshetSteadyEventsPerCpuSecond).toBe(1_300_000);
    expect(rows[0]!.steadyJobRatio).toBeCloseTo((1_300_000.4 * 20.75) / 10_000_000, 3);
    expect(flinkRows(rows)[0]!.slice(6, 8)).toEqual(['2.49', '2.70']);
  });

  it('marks differing output counts', () => {
    const rows = joinFlinkRows(
      parseFlinkDetails(DETAILS, 'x'),
      [{ query: 'q5', parallelism: 1, eventsPerCpuSecond: 1, outputs: 6668 }],
      10_000_000,
    );
    expect(flinkRows(rows)[0]!.at(-1)).toBe('6,668 ≠ 6,669');
  });

  it('refuses results over another number of events, a missing run, or a file that is not the peer’s', () => {
    const details = parseFlinkDetails(DETAILS, 'x');
    expect(() =>
      joinFlinkRows(details, [{ query: 'q5', parallelism: 1, eventsPerCpuSecond: 1, outputs: 0 }], 5_000_000),
    ).toThrow('the Flink peer ran q5 p=1 over 10000000 events, the bench over 5000000');
    expect(() =>
      joinFlinkRows(
        details,
        [{ query: 'q5', parallelism: 2, eventsPerCpuSecond: 1, outputs: 0 }],
        10_000_000,
      ),
    ).toThrow("the Flink peer's results have no timed run of q5 at parallelism 2");
    expect(() => parseFlinkDetails('{', 'f.json')).toThrow(/^f\.json is not JSON/);
    expect(() => parseFlinkDetails('[{"engine":"spark"}]', 'f.json')).toThrow(
      /f\.json is not the Flink peer's results: at 0\.engine/,
    );
  });

  it('runs the harness given by a path relative to the working directory (as `pnpm bench:flink` gives it)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'freshet-peer-'));
    // Nested, so the relative path means nothing from inside the harness's directory.
    const dir = join(root, 'shared', 'peer');
    mkdirSync(dir, { recursive: true });
    try {
      // The harness's contract: run.sh EVENTS QUERIES PARALLELISMS WARMUP SEED, results in $OUT_DIR, run from its directory.
      writeFileSync(join(dir, 'details.json'), DETAILS);
      writeFileSync(
        join(dir, 'run.sh'),
        '[ "$*" = "10000000 q5 1 2000000 42" ] || { echo "args: $*" >&2; exit 3; }\n' +
          'cp details.json "$OUT_DIR/latest-details.json"\n',
      );
      const rows = await flinkPeerRows(
        { run: relative(process.cwd(), dir) },
        [{ query: 'q5', parallelism: 1, eventsPerCpuSecond: 1_200_000, outputs: 6669 }],
        10_000_000,
        42,
        () => {},
      );
      expect(rows.map((r) => [r.query, r.parallelism, r.outputs, r.freshetOutputs])).toEqual([
        ['q5', 1, 6669, 6669],
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
