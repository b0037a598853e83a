/** The stateless one-input operators: map, flatMap, filter. */
import type { Collector } from '@freshet/api';
import { AbstractOperator, TimestampedCollector } from './base.js';

/** `map`: one output record per input record, same timestamp. */
export class MapOperator extends AbstractOperator {
  private fn!: (value: unknown) => unknown;
  protected setup(): void {
    this.fn = this.userFunction(this.node.fns.fn, 'map');
  }
  processElement(value: unknown, timestamp: number): void {
    let result: unknown;
    try {
      result = this.fn(value);
    } catch (error) {
      this.fail(error, 'map');
    }
    this.output.collect(result, timestamp);
  }
}

/** `flatMap`: any number of output records per input record, through one reused collector. */
export class FlatMapOperator extends AbstractOperator {
  private fn!: (value: unknown, out: Collector<unknown>) => void;
  private collector!: TimestampedCollector;
  protected setup(): void {
    this.fn = this.userFunction(this.node.fns.fn, 'flatMap');
    this.collector = new TimestampedCollector(this.output);
  }
  processElement(value: unknown, timestamp: number): void {
    this.collector.timestamp = timestamp;
    try {
      this.fn(value, this.collector);
    } catch (error) {
      this.fail(error, 'flatMap');
    }
  }
}

/** `filter`: forwards records for which the predicate returns true. */
export class FilterOperator extends AbstractOperator {
  private fn!: (value: unknown) => boolean;
  protected setup(): void {
    this.fn = this.userFunction(this.node.fns.fn, 'filter');
  }
  processElement(value: unknown, timestamp: number): void {
    let keep: boolean;
    try {
      keep = this.fn(value);
    } catch (error) {
      this.fail(error, 'filter');
    }
    if (keep) this.output.collect(value, timestamp);
  }
}
