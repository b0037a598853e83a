// The runtime context user functions get: task and job info, keyed state, metrics and
// accumulators, reached through open(ctx) or AbstractRichFunction's getRuntimeContext().
import {
  AbstractRichFunction,
  RichMapFunction,
  ValueStateDescriptor,
  type Collector,
  type Counter,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type RuntimeContext,
  type StreamExecutionEnvironment,
} from '@freshet/api';
import { buildStreamGraph } from '@freshet/api/internal';
import type { StreamNode } from '@freshet/graph';
import { describe, expect, it } from 'vitest';
import { OperatorHarness } from '../testing/harness.js';

async function transforms(build: (env: StreamExecutionEnvironment) => void): Promise<StreamNode[]> {
  const graph = await buildStreamGraph((env) => {
    build(env);
  });
  return graph.nodes.filter((n) => n.kind !== 'source' && n.kind !== 'sink');
}

/** Reports what it sees of its context with every record. */
class Describe extends RichMapFunction<number, Record<string, unknown>> {
  opened: RuntimeContext | undefined;
  override open(ctx: RuntimeContext): void {
    this.opened = ctx;
  }
  map(v: number): Record<string, unknown> {
    const ctx = this.getRuntimeContext();
    return {
      v,
      sameAsOpen: ctx === this.opened,
      operator: ctx.operatorName,
      task: ctx.taskName,
      withSubtasks: ctx.taskNameWithSubtasks,
      subtask: ctx.subtaskIndex,
      parallelism: ctx.parallelism,
      maxParallelism: ctx.maxParallelism,
      attempt: ctx.attempt,
      job: ctx.getJobInfo(),
      info: ctx.getTaskInfo().subtaskIndex,
    };
  }
}

describe('RuntimeContext', () => {
  it('AbstractRichFunction.getRuntimeContext() gives job and task info from open on', async () => {
    const fn = new Describe();
    expect(() => fn.getRuntimeContext()).toThrow(/called before the function runs/);
    const nodes = await transforms((env) => {
      env.setJobName('ctx-test');
      env.fromElements(1).map(fn).name('describe').collect('o');
    });
    const h = OperatorHarness.of(nodes[0]!, {
      parallelism: 3,
      subtaskIndex: 2,
      maxParallelism: 64,
      attempt: 1,
      jobId: 'job-42',
      taskName: 'Source: Collection -> describe',
      job: { name: 'ctx-test' },
    }).open();
    h.processElement(7);
    expect(h.values()).toEqual([
      {
        v: 7,
        sameAsOpen: true,
        operator: 'describe',
        task: 'Source: Collection -> describe',
        withSubtasks: 'Source: Collection -> describe (3/3)#1',
        subtask: 2,
        parallelism: 3,
        maxParallelism: 64,
        attempt: 1,
        job: { jobId: 'job-42', jobName: 'ctx-test' },
        info: 2,
      },
    ]);
  });

  it('keyed state through getRuntimeContext(), metrics on the operator group, accumulators', async () => {
    class SecondOccurrence
      extends AbstractRichFunction
      implements KeyedProcessFunction<string, string, string>
    {
      private seen!: Counter;
      override open(ctx: RuntimeContext): void {
        this.seen = ctx.getMetricGroup().counter('seen');
        ctx.getMetricGroup().gauge('constant', () => 42);
      }
      processElement(word: string, _ctx: KeyedProcessContext<string>, out: Collector<string>): void {
        const ctx = this.getRuntimeContext();
        const state = ctx.getState(new ValueStateDescriptor<number>('n', 0));
        const n = (state.value() ?? 0) + 1;
        state.update(n);
        this.seen.inc();
        ctx.getIntCounter('words').add(1);
        ctx.getHistogram('lengths').add(word.length);
        if (n === 2) out.collect(word);
      }
    }
    const nodes = await transforms((env) => {
      env
        .fromElements('a')
        .keyBy((w) => w)
        .process(new SecondOccurrence())
        .name('second')
        .collect('o');
    });
    const h = OperatorHarness.of(nodes[0]!).open();
    for (const w of ['to', 'be', 'or', 'not', 'to', 'be']) h.processElement(w);
    expect(h.values()).toEqual(['to', 'be']);
    expect(h.metrics.sampleMetrics()).toEqual([
      { scope: ['second'], name: 'seen', type: 'counter', value: 6 },
      { scope: ['second'], name: 'constant', type: 'gauge', value: 42 },
    ]);
    expect(h.metrics.sampleAccumulators()).toEqual({
      words: { kind: 'sum', value: 6 },
      lengths: { kind: 'histogram', counts: { '2': 5, '3': 1 } },
    });
  });

  it('refuses an accumulator name reused with another class', async () => {
    const nodes = await transforms((env) => {
      env
        .fromElements(1)
        .map({
          open(ctx: RuntimeContext) {
            ctx.getIntCounter('n');
            ctx.getHistogram('n');
          },
          map: (v: number) => v,
        })
        .name('m')
        .collect('o');
    });
    expect(() => OperatorHarness.of(nodes[0]!).open()).toThrow(
      /'n' exists as IntCounter, not HistogramAccumulator/,
    );
  });
});
