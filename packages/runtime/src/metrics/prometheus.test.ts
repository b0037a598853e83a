import { describe, expect, it } from 'vitest';
import { renderPrometheus, type PrometheusSubtaskSample } from './prometheus.js';

const sample = (subtaskIndex: number, user: PrometheusSubtaskSample['user']): PrometheusSubtaskSample => ({
  jobId: 'j1',
  vertexId: 'v2',
  subtaskIndex,
  recordsIn: 100 + subtaskIndex,
  recordsOut: 50,
  bytesIn: 0,
  bytesOut: 10,
  busyRatio: 0.25,
  backpressureRatio: 0,
  inputWatermark: null,
  user,
});

describe('renderPrometheus', () => {
  it('writes process, subtask and user metrics in the text format', async () => {
    const text = await renderPrometheus(
      [
        sample(0, [
          { scope: ['tokenize', 'cache'], name: 'hits', type: 'counter', value: 7 },
          { scope: ['tokenize'], name: 'rate', type: 'meter', count: 30, rate: 2.5 },
          {
            scope: ['tokenize'],
            name: 'lengths',
            type: 'histogram',
            count: 9,
            min: 1,
            max: 9,
            mean: 5,
            stdDev: 2,
            p50: 5,
            p75: 7,
            p95: 9,
            p98: 9,
            p99: 9,
            p999: 9,
          },
        ]),
        sample(1, [{ scope: ['tokenize', 'cache'], name: 'hits', type: 'counter', value: 3 }]),
      ],
      { jobName: () => 'word-stats', vertexName: () => 'tokenize' },
    );
    const labels = (subtask: number) =>
      `job_id="j1",job_name="word-stats",vertex_id="v2",vertex_name="tokenize",subtask="${subtask}"`;
    expect(text).toContain('# TYPE freshet_subtask_records_in_total gauge');
    expect(text).toContain(`freshet_subtask_records_in_total{${labels(0)}} 100`);
    expect(text).toContain(`freshet_subtask_records_in_total{${labels(1)}} 101`);
    expect(text).toContain(`freshet_subtask_busy_ratio{${labels(0)}} 0.25`);
    expect(text).not.toContain('freshet_subtask_input_watermark_ms{');
    expect(text).toContain(`freshet_user_cache_hits{${labels(0)},operator="tokenize"} 7`);
    expect(text).toContain(`freshet_user_cache_hits{${labels(1)},operator="tokenize"} 3`);
    expect(text).toContain(`freshet_user_rate_rate{${labels(0)},operator="tokenize"} 2.5`);
    expect(text).toContain(`freshet_user_lengths{${labels(0)},operator="tokenize",quantile="0.99"} 9`);
    expect(text).toContain(`freshet_user_lengths_count{${labels(0)},operator="tokenize"} 9`);
    // prom-client's process metrics, under the freshet_ prefix.
    expect(text).toMatch(/^freshet_process_cpu_seconds_total \d/m);
  });

  it('a second scrape shows only the subtasks it is given', async () => {
    await renderPrometheus([sample(0, [])]);
    const text = await renderPrometheus([]);
    expect(text).not.toContain('freshet_subtask_records_in_total{');
  });
});
