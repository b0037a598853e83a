/**
 * Rolling keyed aggregations: `keyBy().reduce()` and `keyBy().aggregate()`
 * emit the updated result for every record. The per-key value lives in a
 * plain Map registered with the keyed backend, so the hot path is one key
 * selector call, one Map get and one Map set.
 */
import type { AggregateFunction, Key } from '@freshet/api';
import type { KeyedStatePart } from '../state/backend.js';
import { AbstractOperator, type KeyFn } from './base.js';
import { requireObject } from './functions.js';

/** A keyed value table that takes part in snapshots. */
class ValueTable implements KeyedStatePart {
  readonly map = new Map<Key, unknown>();
  snapshotKeys(emit: (key: Key, data: unknown) => void): void {
    for (const [k, v] of this.map) emit(k, v);
  }
  restoreKey(key: Key, data: unknown): void {
    this.map.set(key, data);
  }
}

/** Rolling keyed reduce. */
export class KeyedReduceOperator extends AbstractOperator {
  private key!: KeyFn;
  private reduce!: (a: unknown, b: unknown) => unknown;
  private readonly table = new ValueTable();

  protected setup(): void {
    this.key = this.keySelector(0);
    this.reduce = this.userFunction(this.node.fns.reduce ?? this.node.fns.fn, 'reduce');
    this.requireBackend('reduce').registerPart('reduce', this.table);
  }

  processElement(value: unknown, timestamp: number): void {
    let result: unknown;
    try {
      const key = this.key(value);
      this.backend!.currentKey = key;
      const map = this.table.map;
      const current = map.get(key);
      result = current === undefined ? value : this.reduce(current, value);
      map.set(key, result);
    } catch (error) {
      this.fail(error, 'reduce');
    }
    this.output.collect(result, timestamp);
  }
}

/** Rolling keyed aggregate with an {@link AggregateFunction}. */
export class KeyedAggregateOperator extends AbstractOperator {
  private key!: KeyFn;
  private agg!: AggregateFunction<unknown, unknown, unknown>;
  private readonly table = new ValueTable();

  protected setup(): void {
    this.key = this.keySelector(0);
    this.agg = requireObject(this.node.fns.aggregate ?? this.node.fns.fn, ['createAccumulator', 'add', 'getResult'], this.name);
    this.addRichFunction(this.agg);
    this.requireBackend('aggregate').registerPart('aggregate', this.table);
  }

  processElement(value: unknown, timestamp: number): void {
    let result: unknown;
    try {
      const key = this.key(value);
      this.backend!.currentKey = key;
      const map = this.table.map;
      let acc = map.get(key);
      if (acc === undefined) acc = this.agg.createAccumulator();
      acc = this.agg.add(value, acc);
      map.set(key, acc);
      result = this.agg.getResult(acc);
    } catch (error) {
      this.fail(error, 'aggregate');
    }
    this.output.collect(result, timestamp);
  }
}
