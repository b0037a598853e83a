/**
 * Sinks as data, for `sinkTo`: `stream.sinkTo(Sinks.jsonLines('out.jsonl'))`
 * is the same as `stream.writeAsJsonLines('out.jsonl')`.
 */
import { checkNonEmptyString } from './check.js';
import type { SinkSpec } from '@freshet/graph';

/** A sink accepting records of type `T`. */
export interface Sink<T> {
  /** The sink, as data. */
  readonly spec: SinkSpec;
  /** Default node name, e.g. `Sink: Print`. */
  readonly name: string;
  /** Phantom field carrying the record type; never set. */
  readonly __type?: (value: T) => void;
}

/** Ready-made sinks. */
export const Sinks = {
  /**
   * Prints each record on its own line, `prefix> record` (with the subtask
   * index when the sink runs in parallel). At-least-once: after a restart
   * from a checkpoint the records since that checkpoint are printed again.
   * @param prefix text before each record; none by default
   */
  print<T = unknown>(prefix?: string): Sink<T> {
    const spec: SinkSpec = prefix === undefined ? { type: 'print' } : { type: 'print', prefix };
    return { spec, name: 'Sink: Print' };
  },
  /** Like {@link Sinks.print} on standard error. */
  printToErr<T = unknown>(prefix?: string): Sink<T> {
    const spec: SinkSpec =
      prefix === undefined ? { type: 'print', stderr: true } : { type: 'print', prefix, stderr: true };
    return { spec, name: 'Sink: Print to Std. Err' };
  },
  /**
   * Collects records and returns them to the caller of a run under `id` (one
   * id per sink). At-least-once: after a restart from a checkpoint the
   * records since that checkpoint are collected again.
   */
  collect<T = unknown>(id: string): Sink<T> {
    checkNonEmptyString('collect', id);
    return { spec: { type: 'collect', id }, name: `Sink: Collect(${id})` };
  },
  /**
   * Writes each record as one JSON line into the directory `path`,
   * exactly once: each parallel instance writes part files
   * (`part-<subtask>-<counter>.jsonl`) that become visible when the
   * checkpoint covering them completes (at the end of a bounded job, or every
   * checkpoint interval), so a reader never sees a record twice or a record
   * a restart takes back. A run without restored state replaces the part
   * files a previous run left there.
   */
  jsonLines<T = unknown>(path: string): Sink<T> {
    checkNonEmptyString('writeAsJsonLines', path);
    return { spec: { type: 'jsonLines', path }, name: 'Sink: JSON Lines' };
  },
  /**
   * Like {@link Sinks.jsonLines}, one line of text per record (strings as
   * they are, other values as JSON), into `part-<subtask>-<counter>.txt` files.
   */
  text<T = unknown>(path: string): Sink<T> {
    checkNonEmptyString('writeAsText', path);
    return { spec: { type: 'text', path }, name: 'Sink: Text' };
  },
  /** Drops every record (for benchmarks). */
  discard<T = unknown>(): Sink<T> {
    return { spec: { type: 'discard' }, name: 'Sink: Discard' };
  },
} as const;
