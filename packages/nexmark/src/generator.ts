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
// Module-level state: generation is synchronous, so one state is enough and
// no object is allocated per event for the random stream. It is a field of
// a constant object rather than a module-level `let`: a `let` is a context
// slot whose every read the optimiser guards (not yet initialised? a small
// integer? a boxed number?) and whose arithmetic it then does in doubles;
// a field holding small integers is read and written as an int32, and
// consecutive draws inlined into one function keep it in a register.
const rng = { state: 0 };

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function seedRng(seedHash: number, index: number): void {
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  rng.state = fmix32(seedHash ^ fmix32(lo + 0x9e3779b9) ^ Math.imul(hi, 0x27d4eb2f)) | 0;
}

/** mulberry32: next unsigned 32-bit value. */
function nextU32(): number {
  const s = (rng.state = (rng.state + 0x6d2b79f5) | 0);
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return (t ^ (t >>> 14)) >>> 0;
}

/** Uniform in [0, 1). */
function nextFloat(): number {
  return nextU32() / 4294967296;
}

/** Uniform integer in [0, n). */
function nextInt(n: number): number {
  return Math.floor(nextFloat() * n);
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

/** A recent person (or one in flight), given the last person id (`lastBase0PersonId`). */
function nextBase0PersonId(g: Plan, lastPerson: number): number {
  const numPeople = lastPerson + 1;
  const active = Math.min(numPeople, g.numActivePeople);
  return numPeople - active + nextInt(active + g.numInFlightPeople);
}

/** A recent auction (or one a little ahead), given the last auction id (`lastBase0AuctionId`). */
function nextBase0AuctionId(g: Plan, maxAuction: number): number {
  const minAuction = Math.max(maxAuction - g.numInFlightAuctions, 0);
  return minAuction + nextInt(maxAuction - minAuction + 1 + g.auctionIdLead);
}

/** Price in cents, log-uniform between 1.00 and 1,000,000.00 (Nexmark's nextPrice; see `price.ts`). */
function nextPrice(): number {
  return priceOf(nextU32());
}

// ------------------------------------------------------------------ events
// The draws from the PRNG happen in a fixed order per event type (that order
// is the event: changing it changes every later field). Object literals list
// the fields in the model's order, so each type has one hidden class and
// JSON.stringify writes the same bytes as ever.

function nextBid(g: Plan, epoch: number, offset: number, time: number, extra: string): Bid {
  const lastAuction = lastBase0AuctionId(g, epoch, offset);
  let auction: number;
  if (nextInt(g.hotAuctionRatio) > 0) {
    auction = Math.floor(lastAuction / g.hotAuctionRatio) * g.hotAuctionRatio;
  } else {
    auction = nextBase0AuctionId(g, lastAuction);
  }
  const lastPerson = lastBase0PersonId(g, epoch, offset);
  let bidder: number;
  if (nextInt(g.hotBidderRatio) > 0) {
    bidder = Math.floor(lastPerson / g.hotBidderRatio) * g.hotBidderRatio + 1;
  } else {
    bidder = nextBase0PersonId(g, lastPerson);
  }
  const price = nextPrice();
  let channel: string;
  let url: string;
  if (nextInt(10) > 0) {
    const k = nextInt(HOT_CHANNELS.length);
    channel = HOT_CHANNELS[k]!;
    url = HOT_URLS[k]!;
  } else {
    const k = nextInt(CHANNELS_NUMBER);
    channel = COLD_CHANNELS[k]!;
    url = COLD_URLS[k]!;
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

function nextPerson(g: Plan, epoch: number, offset: number, time: number, extra: string): Person {
  const id = epoch * g.personProportion + offset + FIRST_PERSON_ID;
  const name = nextInt(FIRST_NAMES.length) * LAST_NAMES.length + nextInt(LAST_NAMES.length);
  const cityState = US_CITIES[nextInt(US_CITIES.length)]!;
  const domain = EMAIL_DOMAINS[nextInt(EMAIL_DOMAINS.length)]!;
  return {
    id,
    name: FULL_NAMES[name]!,
    emailAddress: `${EMAIL_NAMES[name]!}${id}@${domain}`,
    creditCard: `${DIGITS4[nextInt(10000)]!} ${DIGITS4[nextInt(10000)]!} ${DIGITS4[nextInt(10000)]!} ${DIGITS4[nextInt(10000)]!}`,
    city: cityState[0],
    state: cityState[1],
    dateTime: time,
    extra,
  };
}

function nextAuction(g: Plan, epoch: number, offset: number, time: number, extra: string): Auction {
  const id = epoch * g.auctionProportion + (offset - g.personProportion) + FIRST_AUCTION_ID;
  const lastPerson = lastBase0PersonId(g, epoch, offset);
  let seller: number;
  if (nextInt(g.hotSellerRatio) > 0) {
    seller = Math.floor(lastPerson / g.hotSellerRatio) * g.hotSellerRatio;
  } else {
    seller = nextBase0PersonId(g, lastPerson);
  }
  const initialBid = nextPrice();
  const reserve = initialBid + nextPrice();
  const itemName = nextInt(ITEM_ADJECTIVES.length) * ITEM_NOUNS.length + nextInt(ITEM_NOUNS.length);
  const descriptionLength = 20 + nextInt(21);
  const descriptionStart = nextInt(POOL_SIZE);
  return {
    id,
    itemName: ITEM_NAMES[itemName]!,
    description: POOL.substring(descriptionStart, descriptionStart + descriptionLength),
    initialBid,
    reserve,
    dateTime: time,
    expires: time + g.minAuctionLengthMs + nextInt(g.auctionLengthRange),
    seller: seller + FIRST_PERSON_ID,
    category: FIRST_CATEGORY_ID + nextInt(g.numCategories),
    extra,
  };
}

/** Event `index` of the plan's stream: what every public entry point ends in. */
function generate(index: number, g: Plan): NexmarkEvent {
  seedRng(g.seedHash, index);
  let time = g.firstEventTimeMs + Math.floor((index * g.interEventDelayUs) / 1000);
  if (nextFloat() < g.outOfOrderFraction) time -= nextInt(g.disorderRange);
  const epoch = Math.floor(index / g.totalProportion);
  const offset = index - epoch * g.totalProportion;
  const extra = g.extras[nextU32() & (EXTRA_TABLE_SIZE - 1)]!;
  // Bids first: 46 of every 50 events.
  if (offset >= g.bidOffset) return { event_type: 2, bid: nextBid(g, epoch, offset, time, extra) };
  if (offset < g.personProportion)
    return { event_type: 0, person: nextPerson(g, epoch, offset, time, extra) };
  return { event_type: 1, auction: nextAuction(g, epoch, offset, time, extra) };
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
