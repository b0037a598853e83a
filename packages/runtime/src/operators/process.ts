/** `process` (ProcessFunction) and `keyedProcess` (KeyedProcessFunction with state and timers). */
import type { Collector, Key } from '@freshet/api';
import { AbstractOperator, ProcessContextImpl, TimestampedCollector, type KeyFn } from './base.js';
import { resolveOptionalMethod } from './functions.js';

type ProcessElementFn = (value: unknown, ctx: unknown, out: Collector<unknown>) => void;

/** Non-keyed ProcessFunction: side outputs and time queries; timers are a usage error. */
export class ProcessOperator extends AbstractOperator {
  private fn!: ProcessElementFn;
  private pctx!: ProcessContextImpl;
  private collector!: TimestampedCollector;

  protected setup(): void {
    this.fn = this.userFunction(this.node.fns.fn, 'processElement');
    this.collector = new TimestampedCollector(this.output);
    this.pctx = this.createProcessContext(false, undefined, this.collector);
  }

  processElement(value: unknown, timestamp: number): void {
    this.pctx.ts = timestamp;
    this.collector.timestamp = timestamp;
    try {
      this.fn(value, this.pctx, this.collector);
    } catch (error) {
      this.fail(error, 'processElement');
    }
  }
}

/** KeyedProcessFunction: keyed state, event- and processing-time timers, `onTimer`. */
export class KeyedProcessOperator extends AbstractOperator {
  private key!: KeyFn;
  private fn!: ProcessElementFn;
  private pctx!: ProcessContextImpl;
  private collector!: TimestampedCollector;

  protected setup(): void {
    this.key = this.keySelector(0);
    const fn = this.node.fns.fn;
    this.fn = this.userFunction(fn, 'processElement');
    this.collector = new TimestampedCollector(this.output);
    this.pctx = this.createProcessContext(true, fn, this.collector);
  }

  processElement(value: unknown, timestamp: number): void {
    const pctx = this.pctx;
    pctx.ts = timestamp;
    this.collector.timestamp = timestamp;
    try {
      this.backend!.setCurrentKey(this.key(value));
      this.fn(value, pctx, this.collector);
    } catch (error) {
      this.fail(error, 'processElement');
    }
  }

  /**
   * BATCH input grouped by key suits a function without `onTimer`: it sees
   * only the current key's state, and a timer it registers could never
   * call it back, so nothing it does depends on other keys or on time.
   */
  canGroupInput(): boolean {
    return resolveOptionalMethod(this.node.fns.fn, 'onTimer') === undefined;
  }

  /** The record's key (errors surface as from `processElement`). */
  groupKey(value: unknown): Key {
    try {
      return this.key(value);
    } catch (error) {
      this.fail(error, 'processElement');
    }
  }

  /** Processes a record whose key is known. */
  processKeyed(key: Key, value: unknown, timestamp: number): void {
    const pctx = this.pctx;
    pctx.ts = timestamp;
    this.collector.timestamp = timestamp;
    try {
      this.backend!.setCurrentKey(key);
      this.fn(value, pctx, this.collector);
    } catch (error) {
      this.fail(error, 'processElement');
    }
  }

  /** Every record of `key` was processed: its keyed state is dropped (timers without `onTimer` do nothing when they fire). */
  finishKey(key: Key): void {
    this.backend!.dropKey(key);
  }
}
