/**
 * Stream enrichment with async I/O (Flink's `AsyncDataStream`): every order
 * is completed with its customer, looked up over HTTP with many requests in
 * flight per parallel instance, results in input order.
 *
 * `--service URL` is the lookup service (`GET URL/customers/<id>` answers
 * `{ id, name, tier }`), `--orders N` the number of generated orders.
 * Results are collected as `enriched`.
 */
import {
  AsyncDataStream,
  AsyncRetryStrategies,
  defineProgram,
  RichMapFunction,
  type RuntimeContext,
} from '@freshet/api';
import { parseArgs, required } from '../args.js';

/** An order. */
export interface Order {
  id: number;
  customer: number;
  amount: number;
}

/** A customer, as the service returns it. */
export interface Customer {
  id: number;
  name: string;
  tier: string;
}

/** An order with its customer. */
export interface EnrichedOrder extends Order {
  name: string;
  tier: string;
}

/** The generated order `i`. */
export function order(i: number): Order {
  return { id: i, customer: (i * 7) % 50, amount: (i % 13) + 1 };
}

/** Counts lookups on the operator's metric group. */
class Lookups extends RichMapFunction<Order, Order> {
  private count = 0;
  override open(ctx: RuntimeContext): void {
    ctx.getMetricGroup().gauge('orders', () => this.count);
  }
  map(o: Order): Order {
    this.count++;
    return o;
  }
}

/** The program: `--service URL --orders N [--capacity C]`. */
export default defineProgram((env, rawArgs) => {
  const args = parseArgs(rawArgs);
  const service = required(args, 'service', 'base URL of the customer service');
  const orders = env
    .fromSequence(0, Number(args.get('orders') ?? '1000') - 1)
    .map(order)
    .name('orders')
    .map(new Lookups())
    .name('count');
  const lookup = async (o: Order): Promise<EnrichedOrder> => {
    const res = await fetch(`${service}/customers/${o.customer}`);
    if (!res.ok) throw new Error(`customer service answered ${res.status} for customer ${o.customer}`);
    const c = (await res.json()) as Customer;
    return { ...o, name: c.name, tier: c.tier };
  };
  AsyncDataStream.orderedWaitWithRetry(
    orders,
    lookup,
    10_000,
    Number(args.get('capacity') ?? '100'),
    AsyncRetryStrategies.fixedDelay(3, 20),
  )
    .name('enrich')
    .collect('enriched');
});
