/**
 * Word statistics with the runtime context, user metrics and accumulators
 * (Flink's `RichFlatMapFunction`, `getMetricGroup()`, `IntCounter`):
 *
 * - `Tokenize` extends `RichFlatMapFunction`: it counts lines and words in
 *   accumulators (merged over the subtasks and returned with the job), keeps
 *   a counter, a meter and a histogram on its operator's metric group
 *   (reported per subtask, on the dashboard and at `/metrics`), and tags
 *   every word with the subtask that read it, from `getRuntimeContext()`.
 * - the words are counted per word with a rolling `sum` (one record per word
 *   in BATCH mode).
 *
 * `--input FILE`, or `--lines N` for a generated text; results are collected as `counts`.
 */
import {
  defineProgram,
  IntCounter,
  RichFlatMapFunction,
  type Collector,
  type Counter,
  type DataStream,
  type Histogram,
  type Meter,
  type RuntimeContext,
} from '@freshet/api';
import { parseArgs } from '../args.js';

/** One word, with where it was read. */
export interface TaggedWord {
  word: string;
  count: number;
  /** The subtask of the tokenizer that read it, and the task's name with subtasks (`name (i/n)#attempt`). */
  readBy: { subtask: number; parallelism: number; task: string; jobName: string; jobId: string };
}

/** The words of a generated line `i`. */
export function generatedLine(i: number): string {
  const words = ['stream', 'state', 'window', 'watermark', 'checkpoint', 'barrier', 'key'];
  return Array.from({ length: 1 + (i % 5) }, (_, k) => words[(i * 7 + k * 3) % words.length]!).join(' ');
}

/** Splits lines into words, measuring as it goes. */
class Tokenize extends RichFlatMapFunction<string, TaggedWord> {
  private readonly lines = new IntCounter();
  private words!: Counter;
  private rate!: Meter;
  private lengths!: Histogram;
  private longest = 0;

  override open(ctx: RuntimeContext): void {
    ctx.addAccumulator('lines', this.lines);
    const group = ctx.getMetricGroup();
    this.words = group.counter('words');
    this.rate = group.meter('wordsPerSecond');
    this.lengths = group.addGroup('line').histogram('words');
    group.gauge('longestLine', () => this.longest);
  }

  flatMap(line: string, out: Collector<TaggedWord>): void {
    const ctx = this.getRuntimeContext();
    const words = line.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? [];
    this.lines.add(1);
    ctx.getIntCounter('words').add(words.length);
    this.words.inc(words.length);
    this.rate.markEvent(words.length);
    this.lengths.update(words.length);
    if (words.length > this.longest) this.longest = words.length;
    const readBy = {
      subtask: ctx.subtaskIndex,
      parallelism: ctx.parallelism,
      task: ctx.taskNameWithSubtasks,
      jobName: ctx.jobName,
      jobId: ctx.jobId,
    };
    for (const word of words) out.collect({ word, count: 1, readBy });
  }
}

/** The program: `--input FILE` or `--lines N`. */
export default defineProgram((env, rawArgs) => {
  const args = parseArgs(rawArgs);
  env.setJobName('word-stats');
  const input = args.get('input');
  const lines: DataStream<string> =
    input !== undefined
      ? env.readTextFile(input)
      : env
          .fromSequence(0, Number(args.get('lines') ?? '1000') - 1)
          .map(generatedLine)
          .name('generate');
  lines
    .rebalance()
    .flatMap(new Tokenize())
    .name('tokenize')
    .keyBy((w) => w.word)
    .sum('count')
    .name('count')
    .collect('counts');
});
