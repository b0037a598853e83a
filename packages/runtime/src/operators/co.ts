/**
 * Two-input operators over connected streams: coMap, coFlatMap, coProcess
 * (keyed when the node is keyed) and keyedCoProcess.
 */
import type { Collector } from '@freshet/api';
import { AbstractOperator, ProcessContextImpl, TimestampedCollector, type KeyFn } from './base.js';

type MapFn = (value: unknown) => unknown;
type FlatMapFn = (value: unknown, out: Collector<unknown>) => void;
type ProcessFn = (value: unknown, ctx: unknown, out: Collector<unknown>) => void;

/** coMap: `map1` for input 0, `map2` for input 1. */
export class CoMapOperator extends AbstractOperator {
  private map1!: MapFn;
  private map2!: MapFn;
  protected setup(): void {
    this.map1 = this.userFunction(this.node.fns.fn, 'map1');
    this.map2 = this.userFunction(this.node.fns.fn, 'map2');
  }
  processElement(value: unknown, timestamp: number): void {
    let r: unknown;
    try {
      r = this.map1(value);
    } catch (error) {
      this.fail(error, 'map1');
    }
    this.output.collect(r, timestamp);
  }
  processElement2(value: unknown, timestamp: number): void {
    let r: unknown;
    try {
      r = this.map2(value);
    } catch (error) {
      this.fail(error, 'map2');
    }
    this.output.collect(r, timestamp);
  }
}

/** coFlatMap: `flatMap1` / `flatMap2` with one reused collector. */
export class CoFlatMapOperator extends AbstractOperator {
  private flatMap1!: FlatMapFn;
  private flatMap2!: FlatMapFn;
  private collector!: TimestampedCollector;
  protected setup(): void {
    this.flatMap1 = this.userFunction(this.node.fns.fn, 'flatMap1');
    this.flatMap2 = this.userFunction(this.node.fns.fn, 'flatMap2');
    this.collector = new TimestampedCollector(this.output);
  }
  processElement(value: unknown, timestamp: number): void {
    this.collector.timestamp = timestamp;
    try {
      this.flatMap1(value, this.collector);
    } catch (error) {
      this.fail(error, 'flatMap1');
    }
  }
  processElement2(value: unknown, timestamp: number): void {
    this.collector.timestamp = timestamp;
    try {
      this.flatMap2(value, this.collector);
    } catch (error) {
      this.fail(error, 'flatMap2');
    }
  }
}

/** coProcess / keyedCoProcess: two process callbacks; state and timers when keyed. */
export class CoProcessOperator extends AbstractOperator {
  private fn1!: ProcessFn;
  private fn2!: ProcessFn;
  private key1: KeyFn | undefined;
  private key2: KeyFn | undefined;
  private pctx!: ProcessContextImpl;
  private collector!: TimestampedCollector;

  protected setup(): void {
    const fn = this.node.fns.fn;
    this.fn1 = this.userFunction(fn, 'processElement1');
    this.fn2 = this.userFunction(fn, 'processElement2');
    this.collector = new TimestampedCollector(this.output);
    if (this.node.keyed) {
      this.key1 = this.keySelector(0);
      this.key2 = this.keySelector(1);
    }
    this.pctx = this.createProcessContext(this.node.keyed, fn, this.collector);
  }

  processElement(value: unknown, timestamp: number): void {
    this.pctx.ts = timestamp;
    this.collector.timestamp = timestamp;
    try {
      if (this.key1) this.backend!.setCurrentKey(this.key1(value));
      this.fn1(value, this.pctx, this.collector);
    } catch (error) {
      this.fail(error, 'processElement1');
    }
  }

  processElement2(value: unknown, timestamp: number): void {
    this.pctx.ts = timestamp;
    this.collector.timestamp = timestamp;
    try {
      if (this.key2) this.backend!.setCurrentKey(this.key2(value));
      this.fn2(value, this.pctx, this.collector);
    } catch (error) {
      this.fail(error, 'processElement2');
    }
  }
}
