/**
 * The Nexmark data model, re-exported so programs import only `@freshet/api`.
 */
export type { Auction, Bid, NexmarkEvent, Person } from '@freshet/nexmark';
export { eventTime as nexmarkEventTime } from '@freshet/nexmark';
