/**
 * The Nexmark data model (persons, auctions, bids), as in the benchmark's
 * specification and Apache Flink's / Beam's implementations. Times are epoch
 * milliseconds.
 */

/** A person registering on the auction site. */
export interface Person {
  id: number;
  name: string;
  emailAddress: string;
  creditCard: string;
  city: string;
  state: string;
  dateTime: number;
  extra: string;
}

/** An item put up for auction. */
export interface Auction {
  id: number;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  dateTime: number;
  expires: number;
  seller: number;
  category: number;
  extra: string;
}

/** A bid on an auction. */
export interface Bid {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  dateTime: number;
  extra: string;
}

/** One generated event, as written to JSON lines: exactly one of the three payloads is set. */
export type NexmarkEvent =
  { event_type: 0; person: Person } | { event_type: 1; auction: Auction } | { event_type: 2; bid: Bid };

/** Event time of an event. */
export function eventTime(event: NexmarkEvent): number {
  switch (event.event_type) {
    case 0:
      return event.person.dateTime;
    case 1:
      return event.auction.dateTime;
    case 2:
      return event.bid.dateTime;
  }
}
