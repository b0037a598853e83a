/**
 * WordCount, the "hello world" of stream processing.
 *
 * - Batch: `--input FILE` counts the words of a text file; in BATCH mode the
 *   rolling reduce emits only its final value, so the result is exactly one
 *   `{word, count}` per word (as in Flink).
 * - Streaming: `--socket HOST:PORT` counts the words of lines read from a TCP
 *   socket, emitting the running count of a word each time it appears (the last
 *   record per word is its count so far).
 *
 * Results go to `--output DIR` (a directory of JSON-lines part files
 * `part-<subtask>-<n>.jsonl`, written exactly once) or are collected as `counts`.
 */
import { defineProgram, type Collector, type DataStream } from '@freshet/api';
import { parseArgs } from '../args.js';

/** One word's count. */
export interface WordCount {
  word: string;
  count: number;
}

/** Lower-cased words of a line: runs of letters, digits and apostrophes. */
export function tokenize(line: string, out: Collector<WordCount>): void {
  const words = line.toLowerCase().match(/[\p{L}\p{N}']+/gu);
  if (words) for (const word of words) out.collect({ word, count: 1 });
}

/** The WordCount program: `--input FILE` or `--socket HOST:PORT`, optional `--output DIR`. */
export default defineProgram((env, rawArgs) => {
  const args = parseArgs(rawArgs);
  const input = args.get('input');
  const socket = args.get('socket');
  let lines: DataStream<string>;
  if (input !== undefined) lines = env.readTextFile(input).name('lines');
  else if (socket !== undefined) {
    const [host, port] = socket.split(':');
    lines = env.socketTextStream(host ?? '127.0.0.1', Number(port)).name('socket-lines');
  } else throw new Error('WordCount needs --input FILE (batch) or --socket HOST:PORT (streaming)');

  const counts = lines
    .flatMap(tokenize)
    .name('tokenize')
    .keyBy((w: WordCount) => w.word)
    .reduce((a: WordCount, b: WordCount) => ({ word: a.word, count: a.count + b.count }))
    .name('count');

  const output = args.get('output');
  if (output !== undefined) counts.writeAsJsonLines(output).name('output');
  else counts.collect('counts').name('counts');
});
