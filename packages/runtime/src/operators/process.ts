/** `process` (ProcessFunction) and `keyedProcess` (KeyedProcessFunction with state and timers). */
import type { Collector } from '@freshet/api';
import type { Timer } from '../timers/timer-service.js';
import {
  AbstractOperator,
  KeyedTimerService,
  NonKeyedTimerService,
  ProcessContextImpl,
  TimestampedCollector,
  type KeyFn,
  type OnTimerFn,
} from './base.js';
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
    this.pctx = new ProcessContextImpl(
      this.output,
      new NonKeyedTimerService(this.name, this.ctx, () => this.currentWatermark),
      undefined,
      this.name,
    );
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
  private onTimerFn: OnTimerFn | undefined;
  private pctx!: ProcessContextImpl;
  private collector!: TimestampedCollector;

  protected setup(): void {
    this.key = this.keySelector(0);
    const fn = this.node.fns.fn;
    this.fn = this.userFunction(fn, 'processElement');
    this.onTimerFn = resolveOptionalMethod<OnTimerFn>(fn, 'onTimer');
    const timers = this.timerService({
      onEventTime: (timer) => {
        this.fire(timer, true);
      },
      onProcessingTime: (timer) => {
        this.fire(timer, false);
      },
    });
    this.collector = new TimestampedCollector(this.output);
    this.pctx = new ProcessContextImpl(this.output, new KeyedTimerService(timers), this.backend, this.name);
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

  private fire(timer: Timer, eventTime: boolean): void {
    this.fireUserTimer(this.onTimerFn, timer, eventTime, this.pctx, this.collector);
  }
}
