import { describe, expect, it } from 'vitest';
import { NexmarkGenerator, generateEvent, eventTypeOf, nominalTime, US_CITIES } from './generator.js';
import { NEXMARK_DEFAULTS, resolveConfig } from './config.js';
import { eventTime, type NexmarkEvent } from './model.js';

const N = 100_000;
const serial: NexmarkEvent[] = [];
const gen = new NexmarkGenerator({ seed: 7, events: N });
while (gen.hasNext()) serial.push(gen.next());

describe('NexmarkGenerator', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const again = new NexmarkGenerator({ seed: 7, events: 1000 });
    for (let i = 0; i < 1000; i++) expect(again.next()).toEqual(serial[i]);
    expect(generateEvent(12345, { seed: 7 })).toEqual(serial[12345]);
    const other = Array.from({ length: 50 }, (_, i) => generateEvent(i, { seed: 8 }));
    expect(other).not.toEqual(serial.slice(0, 50));
  });

  it('produces 1 person, 3 auctions, 46 bids per block of 50', () => {
    const counts = [0, 0, 0];
    serial.forEach((e, i) => {
      counts[e.event_type]!++;
      expect(e.event_type).toBe(eventTypeOf(i, { seed: 7 }));
    });
    expect(counts).toEqual([N / 50, (3 * N) / 50, (46 * N) / 50]);
    expect(serial.slice(0, 50).map((e) => e.event_type)).toEqual([0, 1, 1, 1, ...Array<number>(46).fill(2)]);
  });

  it('fills every field with the right shape', () => {
    const states = new Set(US_CITIES.map(([, s]) => s));
    let personId = 1000;
    let auctionId = 1000;
    for (const e of serial) {
      if (e.event_type === 0) {
        const p = e.person;
        expect(p.id).toBe(personId++);
        expect(p.name).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
        expect(p.emailAddress).toMatch(/^[a-z.]+\d+@[a-z.]+$/);
        expect(p.creditCard).toMatch(/^\d{4} \d{4} \d{4} \d{4}$/);
        expect(states.has(p.state)).toBe(true);
        expect(US_CITIES.some(([c, s]) => c === p.city && s === p.state)).toBe(true);
        expect(typeof p.extra).toBe('string');
      } else if (e.event_type === 1) {
        const a = e.auction;
        expect(a.id).toBe(auctionId++);
        expect(a.itemName.length).toBeGreaterThan(0);
        expect(a.reserve).toBeGreaterThan(a.initialBid);
        expect(a.expires - a.dateTime).toBeGreaterThanOrEqual(NEXMARK_DEFAULTS.minAuctionLengthMs);
        expect(a.expires - a.dateTime).toBeLessThanOrEqual(NEXMARK_DEFAULTS.maxAuctionLengthMs);
        expect(a.category).toBeGreaterThanOrEqual(10);
        expect(a.category).toBeLessThan(15);
        // Sellers are recent persons (or a few in flight).
        expect(a.seller).toBeLessThan(personId + NEXMARK_DEFAULTS.numInFlightPeople);
        expect(a.seller).toBeGreaterThanOrEqual(
          Math.max(1000, personId - NEXMARK_DEFAULTS.numActivePeople - 1),
        );
      } else {
        const b = e.bid;
        expect(Number.isInteger(b.price) && b.price >= 100).toBe(true);
        expect(b.auction).toBeLessThan(auctionId + NEXMARK_DEFAULTS.auctionIdLead + 1);
        expect(b.auction).toBeGreaterThanOrEqual(
          Math.max(1000, auctionId - NEXMARK_DEFAULTS.numInFlightAuctions - 2),
        );
        expect(b.bidder).toBeLessThan(personId + NEXMARK_DEFAULTS.numInFlightPeople + 4);
        expect(b.url).toMatch(/^https:\/\/www\.nexmark\.com\//);
        expect(b.channel.length).toBeGreaterThan(0);
      }
    }
  });

  it('keeps the disorder within maxDisorderMs and actually has some', () => {
    let max = -Infinity;
    let outOfOrder = 0;
    let worst = 0;
    serial.forEach((e, i) => {
      const t = eventTime(e);
      const nominal = nominalTime(i, { seed: 7 });
      expect(t).toBeLessThanOrEqual(nominal);
      expect(nominal - t).toBeLessThanOrEqual(NEXMARK_DEFAULTS.maxDisorderMs);
      if (t < max) {
        outOfOrder++;
        worst = Math.max(worst, max - t);
      }
      max = Math.max(max, t);
    });
    expect(worst).toBeLessThanOrEqual(NEXMARK_DEFAULTS.maxDisorderMs);
    expect(worst).toBeGreaterThan(NEXMARK_DEFAULTS.maxDisorderMs / 2);
    expect(outOfOrder).toBeGreaterThan(N / 20);
  });

  it('splits the stream over subtasks exactly as serial generation', () => {
    for (const p of [2, 3, 4]) {
      const merged: NexmarkEvent[] = new Array<NexmarkEvent>(20_000);
      for (let s = 0; s < p; s++) {
        const g = new NexmarkGenerator({ seed: 7, events: 20_000, subtaskIndex: s, parallelism: p });
        let idx = s;
        const buf: NexmarkEvent[] = [];
        for (;;) {
          const n = s % 2 === 0 ? g.nextBatch(buf, 333) : g.hasNext() ? ((buf[0] = g.next()), 1) : 0;
          if (n === 0) break;
          for (let k = 0; k < n; k++, idx += p) merged[idx] = buf[k]!;
        }
      }
      expect(merged).toEqual(serial.slice(0, 20_000));
    }
  });

  it('rejects bad settings and resumes from a position', () => {
    expect(() => resolveConfig({ seed: 1, auctionProportion: 0 })).toThrow(/auctionProportion/);
    expect(() => resolveConfig({ seed: 1, interEventDelayMs: 5 } as never)).toThrow(
      /Unknown Nexmark setting 'interEventDelayMs'/,
    );
    expect(() => new NexmarkGenerator({ seed: 1, subtaskIndex: 2, parallelism: 2 })).toThrow(/subtaskIndex/);
    const g = new NexmarkGenerator({ seed: 7, events: 100, subtaskIndex: 1, parallelism: 3, startIndex: 10 });
    expect(g.next()).toEqual(serial[10]);
    expect(g.position).toBe(13);
  });

  it('paces itself when a rate is set', () => {
    const g = new NexmarkGenerator({ seed: 7, ratePerSecond: 1000, parallelism: 2 });
    expect(g.delayMs(0)).toBe(0);
    g.next();
    expect(g.delayMs(0)).toBe(2);
    expect(g.delayMs(5)).toBe(0);
  });
});
