/**
 * Fraud detection (after Flink's tutorial): a small transaction (< 1.00)
 * followed within a minute by a large one (> 500.00) on the same account
 * raises an alert. A KeyedProcessFunction per account keeps the last small
 * transaction in state for a minute; any other transaction in between resets
 * it (a small test charge must be *immediately* followed by the large one).
 *
 * Arguments: `--input FILE` (JSON lines `{accountId, amount, timestamp}`, in
 * timestamp order), `--output FILE` (JSON lines) or collected as
 * `alerts`.
 */
import {
  defineProgram,
  ListStateDescriptor,
  ValueStateDescriptor,
  WatermarkStrategy,
  type Collector,
  type KeyedProcessContext,
  type KeyedProcessFunction,
  type ListState,
  type OnTimerContext,
  type RuntimeContext,
  type ValueState,
} from '@freshet/api';
import { parseArgs, required } from '../args.js';

/** A card transaction. */
export interface Transaction {
  accountId: string;
  amount: number;
  timestamp: number;
}

/** A suspicious pair of transactions. */
export interface FraudAlert {
  accountId: string;
  smallAmount: number;
  largeAmount: number;
  smallAt: number;
  largeAt: number;
}

/** Below this, a transaction is a small "test" charge. */
export const SMALL_AMOUNT = 1.0;
/** Above this, a transaction is large. */
export const LARGE_AMOUNT = 500.0;
/** How soon after the small one the large one must come (ms). */
export const ONE_MINUTE = 60_000;

/**
 * Per account: puts the transactions in timestamp order (they may arrive
 * interleaved from parallel parsers; an event-time timer at each one's
 * timestamp releases it once the watermark guarantees nothing earlier is
 * still on its way), then remembers the last small transaction for a minute.
 */
export class FraudDetector implements KeyedProcessFunction<string, Transaction, FraudAlert> {
  private pending!: ListState<Transaction>;
  private small!: ValueState<Transaction>;

  open(ctx: RuntimeContext): void {
    this.pending = ctx.getListState(new ListStateDescriptor<Transaction>('transactions-in-flight'));
    this.small = ctx.getState(new ValueStateDescriptor<Transaction>('last-small-transaction'));
  }

  processElement(tx: Transaction, ctx: KeyedProcessContext<string>): void {
    this.pending.add(tx);
    ctx.timerService().registerEventTimeTimer(tx.timestamp);
  }

  onTimer(time: number, ctx: OnTimerContext<string>, out: Collector<FraudAlert>): void {
    const all = this.pending.get();
    const due = all.filter((t) => t.timestamp <= time).sort((a, b) => a.timestamp - b.timestamp);
    if (due.length > 0) {
      const rest = all.filter((t) => t.timestamp > time);
      if (rest.length > 0) this.pending.update(rest);
      else this.pending.clear();
    }
    for (const tx of due) {
      const small = this.small.value();
      if (small) {
        if (tx.amount > LARGE_AMOUNT && tx.timestamp - small.timestamp <= ONE_MINUTE) {
          out.collect({
            accountId: tx.accountId,
            smallAmount: small.amount,
            largeAmount: tx.amount,
            smallAt: small.timestamp,
            largeAt: tx.timestamp,
          });
        }
        this.small.clear();
      }
      if (tx.amount < SMALL_AMOUNT) {
        this.small.update(tx);
        // Forget it a minute later if nothing follows.
        ctx.timerService().registerEventTimeTimer(tx.timestamp + ONE_MINUTE);
      }
    }
    const small = this.small.value();
    if (small && time >= small.timestamp + ONE_MINUTE) this.small.clear();
  }
}

/** The fraud detector: `--input FILE [--output DIR]` (a directory of JSON-lines part files). */
export default defineProgram((env, rawArgs) => {
  const args = parseArgs(rawArgs);
  const input = required(args, 'input', 'JSON lines of {accountId, amount, timestamp}');
  const alerts = env
    .readTextFile(input)
    .name('transactions')
    .map((line: string) => JSON.parse(line) as Transaction)
    .name('parse')
    .assignTimestampsAndWatermarks(
      WatermarkStrategy.forBoundedOutOfOrderness<Transaction>(0).withTimestampAssigner((t) => t.timestamp),
    )
    .name('timestamps')
    .keyBy((t: Transaction) => t.accountId)
    .process(new FraudDetector())
    .name('fraud-detector');
  const output = args.get('output');
  if (output !== undefined) alerts.writeAsJsonLines(output).name('alerts-file');
  else alerts.collect('alerts').name('alerts');
});
