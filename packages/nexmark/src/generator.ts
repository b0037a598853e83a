/**
 * The deterministic Nexmark generator.
 *
 * Event `index` depends only on the seed, the settings and `index`: each event
 * seeds a small PRNG (mulberry32) from a hash of `(seed, index)`, so any
 * subset of indices can be generated independently (parallel subtasks, replay
 * from a checkpointed position) and gives the same events as serial
 * generation.
 *
 * Shape of the stream (as in the Nexmark specification and Beam's generator):
 * in each block of 50 events, 1 person, 3 auctions, 46 bids, in that order.
 * Sellers and bidders are drawn among the most recent persons (a few "in
 * flight" ids may refer to persons generated shortly after), bids among the
 * most recent auctions, with hot auctions / bidders / sellers.
 *
 * Event time: event `i` nominally happens at
 * `firstEventTimeMs + floor(i × interEventDelayUs / 1000)`; a deterministic
 * fraction of the events (`outOfOrderFraction`) is pulled back by a jitter in
 * `[0, maxDisorderMs]`. Hence the **disorder bound**: an event's timestamp is
 * never more than `maxDisorderMs` (default 2000 ms) below the timestamp of any
 * event generated before it — in the whole stream and in every subtask's
 * share of it. A watermark of `maxTimestampSeen − maxDisorderMs` (Flink's
 * `forBoundedOutOfOrderness(maxDisorderMs)`) therefore never makes an event
 * late.
 */
import type { Auction, Bid, NexmarkEvent, Person } from './model.js';
import {
  FIRST_AUCTION_ID,
  FIRST_CATEGORY_ID,
  FIRST_PERSON_ID,
  resolveConfig,
  type NexmarkConfig,
  type ResolvedNexmarkConfig,
} from './config.js';
import { priceOf } from './price.js';

// ------------------------------------------------------------------ PRNG
// Event `index` seeds mulberry32 from a hash of (seed, index) and consumes
// its outputs ("draws") in a fixed order, which depends on the event's type
// and on earlier draws (a cold auction takes one more draw than a hot one).
//
// mulberry32's state only advances by a constant, so its outputs do not
// depend on each other: `fillDraws` computes every draw an event of a type
// may consume in one tight loop (the CPU overlaps them), into `DRAWS`, and
// the event code reads them in order through a local cursor (`DRAWS[k++]`).
// The PRNG state never lives in memory between draws, and the event code
// calls no helper with a side effect: the helpers below are small pure
// functions of a draw, which the optimiser inlines within its budget
// (drawing through a stateful `nextInt()` exhausted that budget halfway
// through a bid, leaving calls on the hot path).

/** Most draws an event of each type consumes (the longest path through its code, see each). */
const PERSON_DRAWS = 11;
const AUCTION_DRAWS = 13;
const BID_DRAWS = 10;
/** The current event's draws: generation is synchronous, so one buffer serves every generator. */
const DRAWS = new Uint32Array(16);

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Fills `DRAWS[0, count)` with the first `count` mulberry32 outputs of event `index`. */
function fillDraws(seedHash: number, index: number, count: number): void {
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  let s = fmix32(seedHash ^ fmix32(lo + 0x9e3779b9) ^ Math.imul(hi, 0x27d4eb2f)) | 0;
  for (let k = 0; k < count; k++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    DRAWS[k] = t ^ (t >>> 14); // stored as uint32: (x >>> 0)
  }
}

/** A draw as a uniform number in [0, 1). */
function uniform(u: number): number {
  return u / 4294967296;
}

/** A draw as a uniform integer in [0, n). */
function uniformInt(u: number, n: number): number {
  return Math.floor((u / 4294967296) * n);
}

// ------------------------------------------------------------------ fixed lists
/** First names persons are drawn from. */
export const FIRST_NAMES: readonly string[] = [
  'Peter',
  'Paul',
  'Luke',
  'John',
  'Saul',
  'Vicky',
  'Kate',
  'Julie',
  'Sarah',
  'Deiter',
  'Walter',
];
/** Last names persons are drawn from. */
export const LAST_NAMES: readonly string[] = [
  'Shultz',
  'Abrams',
  'Spencer',
  'White',
  'Bartels',
  'Walton',
  'Smith',
  'Jones',
  'Noris',
];
/** US cities persons live in, with their state. */
export const US_CITIES: readonly (readonly [city: string, state: string])[] = [
  ['Phoenix', 'AZ'],
  ['Los Angeles', 'CA'],
  ['San Francisco', 'CA'],
  ['Boise', 'ID'],
  ['Portland', 'OR'],
  ['Bend', 'OR'],
  ['Redmond', 'WA'],
  ['Seattle', 'WA'],
  ['Kent', 'WA'],
  ['Cheyenne', 'WY'],
];
const EMAIL_DOMAINS = ['example.com', 'mail.com', 'nexmark.org', 'inbox.net'];
const ITEM_ADJECTIVES = [
  'antique',
  'vintage',
  'rare',
  'used',
  'new',
  'signed',
  'boxed',
  'mint',
  'restored',
  'handmade',
  'classic',
  'tiny',
];
const ITEM_NOUNS = [
  'clock',
  'guitar',
  'lamp',
  'bicycle',
  'camera',
  'vase',
  'watch',
  'chair',
  'painting',
  'radio',
  'typewriter',
  'globe',
  'record',
  'book',
];
/** The four "hot" bid channels (90% of bids), as in Flink's Nexmark. */
export const HOT_CHANNELS: readonly string[] = ['Google', 'Facebook', 'Baidu', 'Apple'];
const CHANNELS_NUMBER = 10_000;

// Deterministic, seed-independent character pool for padding and descriptions.
const POOL_SIZE = 8192;
const POOL: string = (() => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz ';
  let s = 0x2545f491;
  const chars: string[] = [];
  for (let i = 0; i < POOL_SIZE + 256; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    chars.push(alphabet.charAt((s >>> 0) % alphabet.length));
  }
  // One flat string (`+=` in a loop would leave a rope that every substring unwraps).
  return chars.join('');
})();

// Ready-made padding strings per `extraSize`: picking one costs no allocation
// (a fresh substring per event showed up as GC pressure in the benchmark).
const EXTRA_TABLE_SIZE = 4096;
const extraTables = new Map<number, string[]>();
function extraTable(extraSize: number): string[] {
  let table = extraTables.get(extraSize);
  if (!table) {
    table = [];
    let s = 0x9e3779b9 ^ extraSize;
    for (let i = 0; i < EXTRA_TABLE_SIZE; i++) {
      s = fmix32(s + i);
      const length = s % (2 * extraSize + 1);
      const start = fmix32(s) % POOL_SIZE;
      table.push(POOL.substring(start, start + length));
    }
    extraTables.set(extraSize, table);
  }
  return table;
}

// Every string an event may hold that depends only on a few random draws is
// made once, here, and picked by index per event: building it per event
// (template literals, toLowerCase) was allocation and time in the profile.
// The strings are exactly those the per-event code used to build.

/** `${first} ${last}`, at `first × LAST_NAMES.length + last`. */
const FULL_NAMES: readonly string[] = FIRST_NAMES.flatMap((f) => LAST_NAMES.map((l) => `${f} ${l}`));
/** The part of the e-mail address before the person's id: `${first}.${last}`, lower case. */
const EMAIL_NAMES: readonly string[] = FIRST_NAMES.flatMap((f) =>
  LAST_NAMES.map((l) => `${f.toLowerCase()}.${l.toLowerCase()}`),
);
/** `${adjective} ${noun}`, at `adjective × ITEM_NOUNS.length + noun`. */
const ITEM_NAMES: readonly string[] = ITEM_ADJECTIVES.flatMap((a) => ITEM_NOUNS.map((n) => `${a} ${n}`));

const HOT_URLS: readonly string[] = HOT_CHANNELS.map(
  (c, i) => `https://www.nexmark.com/${c.toLowerCase()}/item.htm?query=1&channel_id=${i}`,
);

// The cold channels, their URLs and the 4-digit groups of credit card numbers
// are built when the first generator is planned (not at import: 30,000
// strings nobody may need).
const COLD_CHANNELS: string[] = [];
const COLD_URLS: string[] = [];
/** `n` as 4 digits with leading zeros, at index `n` (0 ≤ n < 10,000). */
const DIGITS4: string[] = [];
function buildLazyTables(): void {
  if (COLD_CHANNELS.length > 0) return;
  for (let i = 0; i < CHANNELS_NUMBER; i++) {
    COLD_CHANNELS.push(`channel-${i}`);
    COLD_URLS.push(`https://www.nexmark.com/channel/${i}/item.htm?query=1&channel_id=${i}`);
  }
  for (let n = 0; n < 10_000; n++) DIGITS4.push(String(n).padStart(4, '0'));
}

// ------------------------------------------------------------------ the plan of a config
/**
 * What generating an event of one config needs, derived once: the settings,
 * the sums and ranges the per-event code would otherwise recompute, the
 * seed's hash and the padding table.
 */
interface Plan {
  /** As an int32 (the PRNG seeding uses it so), a small integer to V8. */
  readonly seedHash: number;
  readonly extras: readonly string[];
  readonly firstEventTimeMs: number;
  readonly interEventDelayUs: number;
  readonly outOfOrderFraction: number;
  /** maxDisorderMs + 1: the jitter is uniform in [0, maxDisorderMs]. */
  readonly disorderRange: number;
  readonly totalProportion: number;
  readonly personProportion: number;
  readonly auctionProportion: number;
  /** personProportion + auctionProportion: offsets from here on in a block are bids. */
  readonly bidOffset: number;
  readonly numActivePeople: number;
  readonly numInFlightPeople: number;
  readonly numInFlightAuctions: number;
  readonly auctionIdLead: number;
  readonly hotAuctionRatio: number;
  readonly hotBidderRatio: number;
  readonly hotSellerRatio: number;
  readonly numCategories: number;
  readonly minAuctionLengthMs: number;
  /** maxAuctionLengthMs − minAuctionLengthMs + 1. */
  readonly auctionLengthRange: number;
}

/**
 * Makes the plan of a config. An object literal whose every field starts
 * with its final value, not a class: class fields without an initializer
 * (compiled as `[[Define]]` fields) start as `undefined`, so V8 would store
 * them as generic tagged values and check the type of each on every read;
 * here the integers are known small integers and the fractions known doubles.
 */
function makePlan(c: ResolvedNexmarkConfig): Plan {
  buildLazyTables();
  return {
    seedHash: fmix32((c.seed >>> 0) ^ fmix32(Math.floor(c.seed / 4294967296) >>> 0) ^ 0x5bd1e995) | 0,
    extras: extraTable(c.extraSize),
    firstEventTimeMs: c.firstEventTimeMs,
    interEventDelayUs: c.interEventDelayUs,
    outOfOrderFraction: c.outOfOrderFraction,
    disorderRange: c.maxDisorderMs + 1,
    totalProportion: c.totalProportion,
    personProportion: c.personProportion,
    auctionProportion: c.auctionProportion,
    bidOffset: c.personProportion + c.auctionProportion,
    numActivePeople: c.numActivePeople,
    numInFlightPeople: c.numInFlightPeople,
    numInFlightAuctions: c.numInFlightAuctions,
    auctionIdLead: c.auctionIdLead,
    hotAuctionRatio: c.hotAuctionRatio,
    hotBidderRatio: c.hotBidderRatio,
    hotSellerRatio: c.hotSellerRatio,
    numCategories: c.numCategories,
    minAuctionLengthMs: c.minAuctionLengthMs,
    auctionLengthRange: c.maxAuctionLengthMs - c.minAuctionLengthMs + 1,
  };
}

const resolvedCache = new WeakMap<NexmarkConfig, ResolvedNexmarkConfig>();
const plans = new WeakMap<ResolvedNexmarkConfig, Plan>();

function resolved(config: NexmarkConfig): ResolvedNexmarkConfig {
  if ((config as Partial<ResolvedNexmarkConfig>).resolved === true) return config as ResolvedNexmarkConfig;
  let r = resolvedCache.get(config);
  if (!r) {
    r = resolveConfig(config);
    resolvedCache.set(config, r);
  }
  return r;
}

function planOf(c: ResolvedNexmarkConfig): Plan {
  let plan = plans.get(c);
  if (plan === undefined) {
    plan = makePlan(c);
    plans.set(c, plan);
  }
  return plan;
}

// ------------------------------------------------------------------ id arithmetic (Beam's NexmarkUtils)
// `epoch` and `offset` locate an event in the blocks of `totalProportion`
// events: index = epoch × totalProportion + offset.

function lastBase0PersonId(g: Plan, epoch: number, offset: number): number {
  return epoch * g.personProportion + (offset >= g.personProportion ? g.personProportion - 1 : offset);
}

function lastBase0AuctionId(g: Plan, epoch: number, offset: number): number {
  if (offset < g.personProportion) {
    epoch--;
    offset = g.auctionProportion - 1;
  } else if (offset >= g.bidOffset) {
    offset = g.auctionProportion - 1;
  } else {
    offset -= g.personProportion;
  }
  return Math.max(0, epoch * g.auctionProportion + offset);
}

/** A recent person (or one in flight) from draw `u`, given the last person id (`lastBase0PersonId`). */
function nextBase0PersonId(g: Plan, lastPerson: number, u: number): number {
  const numPeople = lastPerson + 1;
  const active = Math.min(numPeople, g.numActivePeople);
  return numPeople - active + uniformInt(u, active + g.numInFlightPeople);
}

/** A recent auction (or one a little ahead) from draw `u`, given the last auction id (`lastBase0AuctionId`). */
function nextBase0AuctionId(g: Plan, maxAuction: number, u: number): number {
  const minAuction = Math.max(maxAuction - g.numInFlightAuctions, 0);
  return minAuction + uniformInt(u, maxAuction - minAuction + 1 + g.auctionIdLead);
}

// ------------------------------------------------------------------ events
// Each event reads its draws in a fixed order (that order is the event:
// changing it changes every later field); `k` is the index of the next
// unread draw. Object literals list the fields in the model's order, so each
// type has one hidden class and JSON.stringify writes the same bytes as ever.

/** Draws: hot auction?, [cold: which auction], hot bidder?, [cold: which bidder], price, hot channel?, channel — at most 7. */
function nextBid(g: Plan, epoch: number, offset: number, time: number, extra: string, k: number): Bid {
  const d = DRAWS;
  const lastAuction = lastBase0AuctionId(g, epoch, offset);
  let auction: number;
  if (uniformInt(d[k++]!, g.hotAuctionRatio) > 0) {
    auction = Math.floor(lastAuction / g.hotAuctionRatio) * g.hotAuctionRatio;
  } else {
    auction = nextBase0AuctionId(g, lastAuction, d[k++]!);
  }
  const lastPerson = lastBase0PersonId(g, epoch, offset);
  let bidder: number;
  if (uniformInt(d[k++]!, g.hotBidderRatio) > 0) {
    bidder = Math.floor(lastPerson / g.hotBidderRatio) * g.hotBidderRatio + 1;
  } else {
    bidder = nextBase0PersonId(g, lastPerson, d[k++]!);
  }
  const price = priceOf(d[k++]!);
  let channel: string;
  let url: string;
  if (uniformInt(d[k++]!, 10) > 0) {
    const c = uniformInt(d[k]!, HOT_CHANNELS.length);
    channel = HOT_CHANNELS[c]!;
    url = HOT_URLS[c]!;
  } else {
    const c = uniformInt(d[k]!, CHANNELS_NUMBER);
    channel = COLD_CHANNELS[c]!;
    url = COLD_URLS[c]!;
  }
  return {
    auction: auction + FIRST_AUCTION_ID,
    bidder: bidder + FIRST_PERSON_ID,
    price,
    channel,
    url,
    dateTime: time,
    extra,
  };
}

/** Draws: first name, last name, city, e-mail domain, 4 groups of card digits — 8. */
function nextPerson(g: Plan, epoch: number, offset: number, time: number, extra: string, k: number): Person {
  const d = DRAWS;
  const id = epoch * g.personProportion + offset + FIRST_PERSON_ID;
  const first = uniformInt(d[k]!, FIRST_NAMES.length);
  const name = first * LAST_NAMES.length + uniformInt(d[k + 1]!, LAST_NAMES.length);
  const cityState = US_CITIES[uniformInt(d[k + 2]!, US_CITIES.length)]!;
  const domain = EMAIL_DOMAINS[uniformInt(d[k + 3]!, EMAIL_DOMAINS.length)]!;
  return {
    id,
    name: FULL_NAMES[name]!,
    emailAddress: `${EMAIL_NAMES[name]!}${id}@${domain}`,
    creditCard: `${DIGITS4[uniformInt(d[k + 4]!, 10000)]!} ${DIGITS4[uniformInt(d[k + 5]!, 10000)]!} ${DIGITS4[uniformInt(d[k + 6]!, 10000)]!} ${DIGITS4[uniformInt(d[k + 7]!, 10000)]!}`,
    city: cityState[0],
    state: cityState[1],
    dateTime: time,
    extra,
  };
}

/**
 * Draws: hot seller?, [cold: which seller], initial bid, reserve's increment,
 * adjective, noun, description length, description start, auction length, category — at most 10.
 */
function nextAuction(
  g: Plan,
  epoch: number,
  offset: number,
  time: number,
  extra: string,
  k: number,
): Auction {
  const d = DRAWS;
  const id = epoch * g.auctionProportion + (offset - g.personProportion) + FIRST_AUCTION_ID;
  const lastPerson = lastBase0PersonId(g, epoch, offset);
  let seller: number;
  if (uniformInt(d[k++]!, g.hotSellerRatio) > 0) {
    seller = Math.floor(lastPerson / g.hotSellerRatio) * g.hotSellerRatio;
  } else {
    seller = nextBase0PersonId(g, lastPerson, d[k++]!);
  }
  const initialBid = priceOf(d[k]!);
  const reserve = initialBid + priceOf(d[k + 1]!);
  const itemName =
    uniformInt(d[k + 2]!, ITEM_ADJECTIVES.length) * ITEM_NOUNS.length +
    uniformInt(d[k + 3]!, ITEM_NOUNS.length);
  const descriptionLength = 20 + uniformInt(d[k + 4]!, 21);
  const descriptionStart = uniformInt(d[k + 5]!, POOL_SIZE);
  return {
    id,
    itemName: ITEM_NAMES[itemName]!,
    description: POOL.substring(descriptionStart, descriptionStart + descriptionLength),
    initialBid,
    reserve,
    dateTime: time,
    expires: time + g.minAuctionLengthMs + uniformInt(d[k + 6]!, g.auctionLengthRange),
    seller: seller + FIRST_PERSON_ID,
    category: FIRST_CATEGORY_ID + uniformInt(d[k + 7]!, g.numCategories),
    extra,
  };
}

/**
 * Event `index` of the plan's stream: what every public entry point ends in.
 * Draws: out of order?, [yes: by how much], padding — at most 3, then the type's.
 */
function generate(index: number, g: Plan): NexmarkEvent {
  const epoch = Math.floor(index / g.totalProportion);
  const offset = index - epoch * g.totalProportion;
  const type = offset >= g.bidOffset ? 2 : offset < g.personProportion ? 0 : 1;
  fillDraws(g.seedHash, index, type === 2 ? BID_DRAWS : type === 0 ? PERSON_DRAWS : AUCTION_DRAWS);
  const d = DRAWS;
  let k = 0;
  let time = g.firstEventTimeMs + Math.floor((index * g.interEventDelayUs) / 1000);
  if (uniform(d[k++]!) < g.outOfOrderFraction) time -= uniformInt(d[k++]!, g.disorderRange);
  const extra = g.extras[d[k++]! & (EXTRA_TABLE_SIZE - 1)]!;
  // Bids first: 46 of every 50 events.
  if (type === 2) return { event_type: 2, bid: nextBid(g, epoch, offset, time, extra, k) };
  if (type === 0) return { event_type: 0, person: nextPerson(g, epoch, offset, time, extra, k) };
  return { event_type: 1, auction: nextAuction(g, epoch, offset, time, extra, k) };
}

/** Which kind of event index `index` is: 0 person, 1 auction, 2 bid. Cheap; does not generate the event. */
export function eventTypeOf(index: number, config: NexmarkConfig): 0 | 1 | 2 {
  const c = resolved(config);
  const offset = index % c.totalProportion;
  return offset < c.personProportion ? 0 : offset < c.personProportion + c.auctionProportion ? 1 : 2;
}

/** Nominal (undisordered) event time of event `index`. */
export function nominalTime(index: number, config: NexmarkConfig): number {
  const c = resolved(config);
  return c.firstEventTimeMs + Math.floor((index * c.interEventDelayUs) / 1000);
}

/**
 * Generates event number `index` (0-based). Pure: the result depends only on
 * `index` and `config` (seed and settings).
 */
export function generateEvent(index: number, config: NexmarkConfig): NexmarkEvent {
  return generate(index, planOf(resolved(config)));
}

/** Options of a {@link NexmarkGenerator}: the generator settings plus the share of the stream to produce. */
export interface NexmarkGeneratorOptions extends NexmarkConfig {
  /** Total number of events of the whole stream (all subtasks); unbounded when absent. */
  events?: number;
  /** Which share this generator produces: events with `index % parallelism === subtaskIndex`. @default 0 */
  subtaskIndex?: number;
  /** Number of shares. @default 1 */
  parallelism?: number;
  /** Events per second of the whole stream (split evenly among subtasks); unthrottled when absent. See {@link NexmarkGenerator.delayMs}. */
  ratePerSecond?: number;
  /** First index to produce (e.g. restored from a checkpoint); must belong to this subtask's share. @default subtaskIndex */
  startIndex?: number;
}

/**
 * Iterates over one subtask's share of the event stream: subtask `i` of `p`
 * produces, in order, the events whose index is congruent to `i` modulo `p`.
 * The union over all subtasks is exactly the serial stream.
 */
export class NexmarkGenerator {
  /** The resolved settings. */
  readonly config: ResolvedNexmarkConfig;
  /** Total events of the whole stream (Infinity when unbounded). */
  readonly events: number;
  /** This generator's subtask index. */
  readonly subtaskIndex: number;
  /** Number of subtasks the stream is split over. */
  readonly parallelism: number;
  private readonly plan: Plan;
  private nextIdx: number;
  private readonly ratePerSubtask: number;
  private startedAt: number | undefined;
  private emitted = 0;

  constructor(opts: NexmarkGeneratorOptions) {
    const { events, subtaskIndex = 0, parallelism = 1, ratePerSecond, startIndex, ...config } = opts;
    if (!Number.isInteger(parallelism) || parallelism < 1)
      throw new RangeError(`NexmarkGenerator: parallelism must be a positive integer (got ${parallelism})`);
    if (!Number.isInteger(subtaskIndex) || subtaskIndex < 0 || subtaskIndex >= parallelism) {
      throw new RangeError(
        `NexmarkGenerator: subtaskIndex must be in [0, ${parallelism}) (got ${subtaskIndex})`,
      );
    }
    if (events !== undefined && !(Number.isInteger(events) && events >= 0))
      throw new RangeError(`NexmarkGenerator: events must be a non-negative integer (got ${events})`);
    this.config = resolveConfig(config);
    this.plan = planOf(this.config);
    this.events = events ?? Number.POSITIVE_INFINITY;
    this.subtaskIndex = subtaskIndex;
    this.parallelism = parallelism;
    const start = startIndex ?? subtaskIndex;
    if (start % parallelism !== subtaskIndex)
      throw new RangeError(`NexmarkGenerator: startIndex ${start} is not in subtask ${subtaskIndex}'s share`);
    this.nextIdx = start;
    this.ratePerSubtask = ratePerSecond !== undefined && ratePerSecond > 0 ? ratePerSecond / parallelism : 0;
  }

  /** Whether another event remains in this share. */
  hasNext(): boolean {
    return this.nextIdx < this.events;
  }

  /** Index of the event {@link next} returns next (a checkpointable position). */
  get position(): number {
    return this.nextIdx;
  }

  /** Returns the next event of this share. Throws when exhausted. */
  next(): NexmarkEvent {
    const index = this.nextIdx;
    if (index >= this.events) throw new RangeError('NexmarkGenerator: no more events');
    this.nextIdx = index + this.parallelism;
    this.emitted++;
    return generate(index, this.plan);
  }

  /**
   * Fills `out` with up to `max` next events (fewer at the end of the share)
   * and returns how many were written. Saves a call per event on hot paths.
   */
  nextBatch(out: NexmarkEvent[], max: number): number {
    let n = 0;
    const plan = this.plan;
    const end = this.events;
    const step = this.parallelism;
    let index = this.nextIdx;
    while (n < max && index < end) {
      out[n++] = generate(index, plan);
      index += step;
    }
    this.nextIdx = index;
    this.emitted += n;
    return n;
  }

  /**
   * With `ratePerSecond` set: milliseconds to wait before the next event is
   * due (0 when it is due now). The clock starts at the first call. Always 0
   * when unthrottled.
   */
  delayMs(now: number = Date.now()): number {
    if (this.ratePerSubtask === 0) return 0;
    this.startedAt ??= now;
    const due = this.startedAt + (this.emitted * 1000) / this.ratePerSubtask;
    return due > now ? due - now : 0;
  }
}
