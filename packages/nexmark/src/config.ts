/**
 * Settings of the Nexmark generator. Every field is a number so a config can
 * travel as plain data (`SourceSpec`'s `config: Record<string, number>`).
 */

/** Generator settings; only `seed` is required. */
export interface NexmarkConfig {
  /** Seed of the pseudo-random streams: the same seed and index always give the same event. */
  seed: number;
  /** Event time of event 0 (epoch ms). @default 1_700_000_000_000 (2023-11-14T22:13:20Z) */
  firstEventTimeMs?: number;
  /** Nominal event-time distance between consecutive events, in microseconds. @default 1000 */
  interEventDelayUs?: number;
  /**
   * Largest amount (ms) by which an event's timestamp may lie before the
   * timestamp of any event generated before it. Use it as the watermark delay
   * (`forBoundedOutOfOrderness(maxDisorderMs)`): no event is ever late.
   * @default 2000
   */
  maxDisorderMs?: number;
  /** Fraction (0..1) of events whose timestamp is pulled back by a jitter in `[0, maxDisorderMs]`. @default 0.2 */
  outOfOrderFraction?: number;
  /** Persons per block of `personProportion + auctionProportion + bidProportion` events. @default 1 */
  personProportion?: number;
  /** Auctions per block. @default 3 */
  auctionProportion?: number;
  /** Bids per block. @default 46 */
  bidProportion?: number;
  /** Sellers and bidders are drawn among this many most recent persons. @default 1000 */
  numActivePeople?: number;
  /** Persons (ids) ahead of the newest one that may be referenced before they are generated. @default 100 */
  numInFlightPeople?: number;
  /** Auctions a non-hot bid may refer to: this many most recent ones. @default 100 */
  numInFlightAuctions?: number;
  /** Auction ids ahead of the newest one a bid may refer to. @default 10 */
  auctionIdLead?: number;
  /** One in `hotAuctionRatio` bids is not on the hot auction. @default 2 */
  hotAuctionRatio?: number;
  /** One in `hotBidderRatio` bids is not from a hot bidder. @default 4 */
  hotBidderRatio?: number;
  /** One in `hotSellerRatio` auctions is not from a hot seller. @default 4 */
  hotSellerRatio?: number;
  /** Number of auction categories (ids start at 10). @default 5 */
  numCategories?: number;
  /** Shortest auction length (ms from its dateTime to expires). @default 2000 */
  minAuctionLengthMs?: number;
  /** Longest auction length (ms). @default 20000 */
  maxAuctionLengthMs?: number;
  /** Average length of the `extra` padding field (uniform in `[0, 2 × extraSize]`). @default 8 */
  extraSize?: number;
}

/** A config with every default filled in. */
export type ResolvedNexmarkConfig = Required<NexmarkConfig> & {
  /** Marker so `generateEvent` can skip resolving. */
  readonly resolved: true;
  /** personProportion + auctionProportion + bidProportion. */
  readonly totalProportion: number;
};

/** Default values of every optional setting. */
export const NEXMARK_DEFAULTS: Readonly<Required<Omit<NexmarkConfig, 'seed'>>> = Object.freeze({
  firstEventTimeMs: 1_700_000_000_000,
  interEventDelayUs: 1000,
  maxDisorderMs: 2000,
  outOfOrderFraction: 0.2,
  personProportion: 1,
  auctionProportion: 3,
  bidProportion: 46,
  numActivePeople: 1000,
  numInFlightPeople: 100,
  numInFlightAuctions: 100,
  auctionIdLead: 10,
  hotAuctionRatio: 2,
  hotBidderRatio: 4,
  hotSellerRatio: 4,
  numCategories: 5,
  minAuctionLengthMs: 2000,
  maxAuctionLengthMs: 20000,
  extraSize: 8,
});

/** The first person id (Nexmark's FIRST_PERSON_ID). */
export const FIRST_PERSON_ID = 1000;
/** The first auction id (Nexmark's FIRST_AUCTION_ID). */
export const FIRST_AUCTION_ID = 1000;
/** The first category id (Nexmark's FIRST_CATEGORY_ID). */
export const FIRST_CATEGORY_ID = 10;

/** Names of the settings, for validating configs that arrive as data. */
export const NEXMARK_CONFIG_KEYS: readonly (keyof NexmarkConfig)[] = [
  'seed',
  ...(Object.keys(NEXMARK_DEFAULTS) as (keyof NexmarkConfig)[]),
];

/** Fills in defaults and checks ranges. Throws a RangeError naming the bad setting. */
export function resolveConfig(config: NexmarkConfig): ResolvedNexmarkConfig {
  if ((config as Partial<ResolvedNexmarkConfig>).resolved === true) return config as ResolvedNexmarkConfig;
  const merged = { ...NEXMARK_DEFAULTS } as Record<string, number>;
  for (const [k, v] of Object.entries(config)) {
    if (v === undefined) continue;
    if (!(NEXMARK_CONFIG_KEYS as readonly string[]).includes(k)) {
      throw new RangeError(`Unknown Nexmark setting '${k}' (known: ${NEXMARK_CONFIG_KEYS.join(', ')})`);
    }
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new RangeError(`Nexmark setting '${k}' must be a finite number (got ${String(v)})`);
    merged[k] = v;
  }
  const c = merged as unknown as Required<NexmarkConfig>;
  const positiveInts: (keyof NexmarkConfig)[] = [
    'auctionProportion',
    'bidProportion',
    'numActivePeople',
    'hotAuctionRatio',
    'hotBidderRatio',
    'hotSellerRatio',
    'numCategories',
    'numInFlightAuctions',
  ];
  for (const k of positiveInts) {
    const v = c[k];
    if (!Number.isInteger(v) || v < 1)
      throw new RangeError(`Nexmark setting '${k}' must be a positive integer (got ${v})`);
  }
  for (const k of [
    'personProportion',
    'numInFlightPeople',
    'auctionIdLead',
    'maxDisorderMs',
    'minAuctionLengthMs',
    'extraSize',
  ] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0)
      throw new RangeError(`Nexmark setting '${k}' must be a non-negative integer (got ${c[k]})`);
  }
  if (c.personProportion < 1) throw new RangeError('Nexmark setting personProportion must be at least 1');
  if (c.maxAuctionLengthMs < c.minAuctionLengthMs)
    throw new RangeError('Nexmark setting maxAuctionLengthMs must be >= minAuctionLengthMs');
  if (!(c.interEventDelayUs >= 0)) throw new RangeError('Nexmark setting interEventDelayUs must be >= 0');
  if (!(c.outOfOrderFraction >= 0 && c.outOfOrderFraction <= 1))
    throw new RangeError('Nexmark setting outOfOrderFraction must be in [0, 1]');
  if (!Number.isInteger(c.seed)) throw new RangeError(`Nexmark seed must be an integer (got ${c.seed})`);
  return Object.freeze({
    ...c,
    resolved: true as const,
    totalProportion: c.personProportion + c.auctionProportion + c.bidProportion,
  });
}
