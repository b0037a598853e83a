/**
 * Hand-written baselines of the Nexmark queries: one pass over the events in
 * plain loops, no framework, the same semantics and the same event-time
 * discipline as the Freshet programs (windows fire when `max timestamp −
 * disorder bound` passes their end), so their state stays bounded like the
 * engine's. The benchmark compares the engine's events per CPU-second with
 * these.
 */
import { eventTime, type Auction, type Bid, type NexmarkEvent, type Person } from './model.js';

/** A query computed by hand: feed every event, then `finish()`; `outputs` counts result records. */
export interface BaselineQuery {
  /** Processes one event. */
  push(event: NexmarkEvent): void;
  /** Ends the input: fires what remains (the +Infinity watermark). */
  finish(): void;
  /** Number of result records produced so far. */
  readonly outputs: number;
  /** Every result record, when created with `keep: true`. */
  readonly results: unknown[];
}

/** Options of {@link createBaseline}. */
export interface BaselineOptions {
  /** Watermark delay (the generator's disorder bound). @default 2000 */
  disorderMs?: number;
  /** Keep the result records in `results` (tests); otherwise only count them. @default false */
  keep?: boolean;
}

/** Names of the queries with a baseline. */
export const BASELINE_QUERIES = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q7', 'q8'] as const;
/** A query with a baseline. */
export type BaselineQueryName = (typeof BASELINE_QUERIES)[number];

abstract class Base implements BaselineQuery {
  outputs = 0;
  readonly results: unknown[] = [];
  protected watermark = Number.NEGATIVE_INFINITY;
  private maxTs = Number.NEGATIVE_INFINITY;
  constructor(
    protected readonly disorderMs: number,
    private readonly keep: boolean,
  ) {}
  protected emit(record: unknown): void {
    this.outputs++;
    if (this.keep) this.results.push(record);
  }
  /** Advances the watermark like forBoundedOutOfOrderness; calls onWatermark when it moved. */
  protected advance(ts: number): void {
    if (ts > this.maxTs) {
      this.maxTs = ts;
      const wm = ts - this.disorderMs - 1;
      if (wm > this.watermark) {
        this.watermark = wm;
        this.onWatermark(wm);
      }
    }
  }
  protected onWatermark(_wm: number): void {}
  abstract push(event: NexmarkEvent): void;
  finish(): void {
    this.watermark = Number.POSITIVE_INFINITY;
    this.onWatermark(Number.POSITIVE_INFINITY);
  }
}

class Q0 extends Base {
  push(e: NexmarkEvent): void {
    if (e.event_type !== 2) return;
    const b = e.bid;
    this.emit({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra });
  }
}

class Q1 extends Base {
  push(e: NexmarkEvent): void {
    if (e.event_type !== 2) return;
    const b = e.bid;
    this.emit({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price * 0.908,
      dateTime: b.dateTime,
      extra: b.extra,
    });
  }
}

class Q2 extends Base {
  push(e: NexmarkEvent): void {
    if (e.event_type !== 2 || e.bid.auction % 123 !== 0) return;
    this.emit({ auction: e.bid.auction, price: e.bid.price });
  }
}

class Q3 extends Base {
  private readonly sellers = new Map<number, Person>();
  private readonly waiting = new Map<number, Auction[]>();
  push(e: NexmarkEvent): void {
    if (e.event_type === 1) {
      const a = e.auction;
      if (a.category !== 10) return;
      const p = this.sellers.get(a.seller);
      if (p) this.emit({ name: p.name, city: p.city, state: p.state, id: a.id });
      else {
        const list = this.waiting.get(a.seller);
        if (list) list.push(a);
        else this.waiting.set(a.seller, [a]);
      }
    } else if (e.event_type === 0) {
      const p = e.person;
      if (p.state !== 'OR' && p.state !== 'ID' && p.state !== 'CA') return;
      this.sellers.set(p.id, p);
      const list = this.waiting.get(p.id);
      if (list) {
        for (const a of list) this.emit({ name: p.name, city: p.city, state: p.state, id: a.id });
        this.waiting.delete(p.id);
      }
    }
  }
}

interface OpenAuction {
  auction: Auction | undefined;
  best: number;
  early: Bid[];
}

class Q4 extends Base {
  private readonly open = new Map<number, OpenAuction>();
  /** Auctions by expiry, closed when the watermark passes it. */
  private readonly closing: Auction[] = [];
  private readonly categories = new Map<number, { sum: number; count: number }>();
  push(e: NexmarkEvent): void {
    if (e.event_type === 1) {
      const a = e.auction;
      let s = this.open.get(a.id);
      if (!s) {
        s = { auction: a, best: -1, early: [] };
        this.open.set(a.id, s);
      }
      s.auction = a;
      for (const b of s.early)
        if (b.dateTime >= a.dateTime && b.dateTime <= a.expires && b.price > s.best) s.best = b.price;
      s.early = [];
      this.closing.push(a);
    } else if (e.event_type === 2) {
      const b = e.bid;
      let s = this.open.get(b.auction);
      if (!s) {
        s = { auction: undefined, best: -1, early: [] };
        this.open.set(b.auction, s);
      }
      if (s.auction) {
        if (b.dateTime >= s.auction.dateTime && b.dateTime <= s.auction.expires && b.price > s.best)
          s.best = b.price;
      } else s.early.push(b);
    }
    this.advance(eventTime(e));
  }
  protected override onWatermark(wm: number): void {
    // Close every auction whose expiry the watermark passed (scan: the list is short).
    let w = 0;
    for (const a of this.closing) {
      if (a.expires <= wm) {
        const s = this.open.get(a.id);
        this.open.delete(a.id);
        if (s && s.best >= 0) {
          let c = this.categories.get(a.category);
          if (!c) this.categories.set(a.category, (c = { sum: 0, count: 0 }));
          c.sum += s.best;
          c.count++;
          this.emit({ id: a.category, final: c.sum / c.count });
        }
      } else this.closing[w++] = a;
    }
    this.closing.length = w;
    if (wm === Number.POSITIVE_INFINITY) this.open.clear();
  }
}

class Q5 extends Base {
  private readonly windows = new Map<number, Map<number, number>>();
  private readonly size = 10_000;
  private readonly slide = 2_000;
  push(e: NexmarkEvent): void {
    if (e.event_type !== 2) return;
    const b = e.bid;
    const last = b.dateTime - (b.dateTime % this.slide);
    for (let start = last; start > b.dateTime - this.size; start -= this.slide) {
      let counts = this.windows.get(start);
      if (!counts) this.windows.set(start, (counts = new Map<number, number>()));
      counts.set(b.auction, (counts.get(b.auction) ?? 0) + 1);
    }
    this.advance(b.dateTime);
  }
  protected override onWatermark(wm: number): void {
    for (const [start, counts] of this.windows) {
      if (start + this.size - 1 > wm) continue;
      let max = 0;
      for (const n of counts.values()) if (n > max) max = n;
      for (const [auction, n] of counts) if (n === max) this.emit({ auction, num: n, starttime: start });
      this.windows.delete(start);
    }
  }
}

class Q7 extends Base {
  private readonly windows = new Map<number, { price: number; bids: Bid[] }>();
  push(e: NexmarkEvent): void {
    if (e.event_type !== 2) return;
    const b = e.bid;
    const start = b.dateTime - (b.dateTime % 10_000);
    const w = this.windows.get(start);
    if (!w) this.windows.set(start, { price: b.price, bids: [b] });
    else if (b.price > w.price) {
      w.price = b.price;
      w.bids = [b];
    } else if (b.price === w.price) w.bids.push(b);
    this.advance(b.dateTime);
  }
  protected override onWatermark(wm: number): void {
    for (const [start, w] of this.windows) {
      if (start + 10_000 - 1 > wm) continue;
      for (const b of w.bids)
        this.emit({
          auction: b.auction,
          bidder: b.bidder,
          price: b.price,
          dateTime: b.dateTime,
          extra: b.extra,
        });
      this.windows.delete(start);
    }
  }
}

class Q8 extends Base {
  private readonly windows = new Map<number, Map<number, { name: string | undefined; auction: boolean }>>();
  push(e: NexmarkEvent): void {
    if (e.event_type === 2) return;
    const ts = eventTime(e);
    const start = ts - (ts % 10_000);
    let w = this.windows.get(start);
    if (!w) this.windows.set(start, (w = new Map<number, { name: string | undefined; auction: boolean }>()));
    const id = e.event_type === 0 ? e.person.id : e.auction.seller;
    let s = w.get(id);
    if (!s) w.set(id, (s = { name: undefined, auction: false }));
    if (e.event_type === 0) s.name = e.person.name;
    else s.auction = true;
    this.advance(ts);
  }
  protected override onWatermark(wm: number): void {
    for (const [start, w] of this.windows) {
      if (start + 10_000 - 1 > wm) continue;
      for (const [id, s] of w)
        if (s.auction && s.name !== undefined) this.emit({ id, name: s.name, stime: start });
      this.windows.delete(start);
    }
  }
}

/** Creates the hand-written baseline of `query`. */
export function createBaseline(query: BaselineQueryName, options: BaselineOptions = {}): BaselineQuery {
  const d = options.disorderMs ?? 2000;
  const k = options.keep ?? false;
  switch (query) {
    case 'q0':
      return new Q0(d, k);
    case 'q1':
      return new Q1(d, k);
    case 'q2':
      return new Q2(d, k);
    case 'q3':
      return new Q3(d, k);
    case 'q4':
      return new Q4(d, k);
    case 'q5':
      return new Q5(d, k);
    case 'q7':
      return new Q7(d, k);
    case 'q8':
      return new Q8(d, k);
  }
}
