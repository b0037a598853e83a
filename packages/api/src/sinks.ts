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
   * index when the sink runs in parallel).
   * @param prefix text before each record; none by default
   */
  print<T = unknown>(prefix?: string): Sink<T> {
    const spec: SinkSpec = prefix === undefined ? { type: 'print' } : { type: 'print', prefix };
    return { spec, name: 'Sink: Print' };
  },
  /** Like {@link Sinks.print} on standard error. */
  printToErr<T = unknown>(prefix?: string): Sink<T> {
    const spec: SinkSpec = prefix === undefined ? { type: 'print', stderr: true } : { type: 'print', prefix, stderr: true };
    return { spec, name: 'Sink: Print to Std. Err' };
  },
  /** Collects records and returns them to the caller of a local run under `id` (one id per sink). */
  collect<T = unknown>(id: string): Sink<T> {
    checkNonEmptyString('collect', id);
    return { spec: { type: 'collect', id }, name: `Sink: Collect(${id})` };
  },
  /** Writes each record as one JSON line to `path` (one file per parallel sink instance). */
  jsonLines<T = unknown>(path: string): Sink<T> {
    checkNonEmptyString('writeAsJsonLines', path);
    return { spec: { type: 'jsonLines', path }, name: 'Sink: JSON Lines' };
  },
  /** Drops every record (for benchmarks). */
  discard<T = unknown>(): Sink<T> {
    return { spec: { type: 'discard' }, name: 'Sink: Discard' };
  },
} as const;
