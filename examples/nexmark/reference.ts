/**
 * Straightforward reference computations of the Nexmark queries, for the
 * tests: whole-input plain loops, no event-time machinery, written
 * independently of both the Freshet programs and the benchmark baselines.
 */
import type { Auction, Bid, NexmarkEvent, Person } from './common.js';

const bidsOf = (events: readonly NexmarkEvent[]): Bid[] => {
  const out: Bid[] = [];
  for (const e of events) if (e.event_type === 2) out.push(e.bid);
  return out;
};

/** q0..q8 computed by plain loops over all the events. */
export const reference: Record<string, (events: readonly NexmarkEvent[]) => unknown[]> = {
  q0: (events) =>
    bidsOf(events).map((b) => ({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price,
      dateTime: b.dateTime,
      extra: b.extra,
    })),
  q1: (events) =>
    bidsOf(events).map((b) => ({
      auction: b.auction,
      bidder: b.bidder,
      price: b.price * 0.908,
      dateTime: b.dateTime,
      extra: b.extra,
    })),
  q2: (events) =>
    bidsOf(events)
      .filter((b) => b.auction % 123 === 0)
      .map((b) => ({ auction: b.auction, price: b.price })),
  q3: (events) => {
    const people = new Map<number, Person>();
    for (const e of events)
      if (e.event_type === 0 && ['OR', 'ID', 'CA'].includes(e.person.state))
        people.set(e.person.id, e.person);
    const out: unknown[] = [];
    for (const e of events) {
      if (e.event_type !== 1 || e.auction.category !== 10) continue;
      const p = people.get(e.auction.seller);
      if (p) out.push({ name: p.name, city: p.city, state: p.state, id: e.auction.id });
    }
    return out;
  },
  q4: (events) => {
    const auctions = new Map<number, Auction>();
    for (const e of events) if (e.event_type === 1) auctions.set(e.auction.id, e.auction);
    const best = new Map<number, number>();
    for (const b of bidsOf(events)) {
      const a = auctions.get(b.auction);
      if (!a || b.dateTime < a.dateTime || b.dateTime > a.expires) continue;
      best.set(a.id, Math.max(best.get(a.id) ?? -1, b.price));
    }
    const cat = new Map<number, { sum: number; count: number }>();
    for (const [id, price] of best) {
      const c = auctions.get(id)!.category;
      const s = cat.get(c) ?? { sum: 0, count: 0 };
      s.sum += price;
      s.count++;
      cat.set(c, s);
    }
    return [...cat].map(([id, s]) => ({ id, final: s.sum / s.count }));
  },
  q5: (events) => {
    const counts = new Map<number, Map<number, number>>();
    for (const b of bidsOf(events)) {
      for (let k = 0; k < 5; k++) {
        const start = Math.floor(b.dateTime / 2000) * 2000 - k * 2000;
        const m = counts.get(start) ?? new Map<number, number>();
        m.set(b.auction, (m.get(b.auction) ?? 0) + 1);
        counts.set(start, m);
      }
    }
    const out: unknown[] = [];
    for (const [start, m] of counts) {
      const max = Math.max(...m.values());
      for (const [auction, num] of m) if (num === max) out.push({ auction, num, starttime: start });
    }
    return out;
  },
  q7: (events) => {
    const max = new Map<number, number>();
    const bids = bidsOf(events);
    for (const b of bids) {
      const w = Math.floor(b.dateTime / 10000);
      max.set(w, Math.max(max.get(w) ?? -1, b.price));
    }
    return bids
      .filter((b) => b.price === max.get(Math.floor(b.dateTime / 10000)))
      .map((b) => ({
        auction: b.auction,
        bidder: b.bidder,
        price: b.price,
        dateTime: b.dateTime,
        extra: b.extra,
      }));
  },
  q8: (events) => {
    const persons = new Map<string, Person>();
    const sellers = new Set<string>();
    for (const e of events) {
      if (e.event_type === 0)
        persons.set(`${e.person.id}@${Math.floor(e.person.dateTime / 10000)}`, e.person);
      else if (e.event_type === 1)
        sellers.add(`${e.auction.seller}@${Math.floor(e.auction.dateTime / 10000)}`);
    }
    const out: unknown[] = [];
    for (const [k, p] of persons) {
      if (sellers.has(k)) out.push({ id: p.id, name: p.name, stime: Number(k.split('@')[1]) * 10000 });
    }
    return out;
  },
};
