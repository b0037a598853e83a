/**
 * What a standby JobManager (high availability) answers while another one
 * leads: it serves reads by passing them to the leader (`GET` and `HEAD`:
 * tRPC queries and subscriptions, `/metrics`) and refuses everything else
 * with 503, naming the leader in `x-freshet-leader`, so clients built on
 * `JobManagerEndpoints` (TaskManagers, the CLI, the dashboard) send it
 * there. `GET /leader` says who leads, on every JobManager.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { JOBMANAGER_LEADER_HEADER, JOBMANAGER_ROLE_HEADER } from '@freshet/protocol';
import type { Logger } from '../logger.js';
import { sendJson, type RequestHandler } from '../server.js';
import type { LeaderInfo } from './leadership.js';

/** What the standby knows of the leadership. */
export interface StandbyState {
  /** This JobManager's URL. */
  url: string;
  /** The lease holder as last read; undefined while nobody holds a live lease. */
  leader: LeaderInfo | undefined;
}

/** The live leader's URL, unless it is this JobManager or the lease expired. */
function liveLeader(state: StandbyState): string | undefined {
  const leader = state.leader;
  return leader === undefined || leader.expired || leader.url === state.url ? undefined : leader.url;
}

/** Request headers not passed on to the leader. */
const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade']);

/** `GET /leader`'s answer. */
export function leaderAnswer(
  role: 'leader' | 'standby',
  self: string,
  leader: { url: string; epoch: number } | undefined,
): unknown {
  return { role, url: self, leader: leader === undefined ? null : { url: leader.url, epoch: leader.epoch } };
}

/** The request handler of a standby JobManager. */
export function standbyHandler(state: StandbyState, logger: Logger): RequestHandler {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const leader = liveLeader(state);
    if (path === '/leader' && req.method === 'GET') {
      sendJson(res, 200, leaderAnswer('standby', state.url, leader === undefined ? undefined : state.leader));
      return;
    }
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, { status: 'ok', role: 'standby', leader: leader ?? null });
      return;
    }
    if (leader !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      proxy(req, res, leader, state.url, logger);
      return;
    }
    refuse(req, res, state.url, leader);
  };
}

/** 503, tRPC-shaped (the clients show the message), naming the leader when there is one. */
function refuse(req: IncomingMessage, res: ServerResponse, self: string, leader: string | undefined): void {
  req.resume();
  res.setHeader(JOBMANAGER_ROLE_HEADER, 'standby');
  res.setHeader('retry-after', '1');
  if (leader !== undefined) res.setHeader(JOBMANAGER_LEADER_HEADER, leader);
  const message =
    leader === undefined
      ? `The JobManager at ${self} is a standby and no leader is elected yet (a takeover is under way); retry in a second`
      : `The JobManager at ${self} is a standby; send this to the leader at ${leader}`;
  sendJson(res, 503, {
    error: { message, code: -32603, data: { code: 'SERVICE_UNAVAILABLE', httpStatus: 503, path: null } },
  });
}

/** Streams `req` to the leader and its answer back (server-sent events included). */
function proxy(
  req: IncomingMessage,
  res: ServerResponse,
  leader: string,
  self: string,
  logger: Logger,
): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  const path = req.url ?? '/';
  // Only a path goes to the leader: an absolute-form target (`GET http://elsewhere/ …`) or `//host/…`
  // would otherwise send this JobManager's request to any host the caller names.
  if (!path.startsWith('/') || path.startsWith('//')) {
    req.resume();
    sendJson(res, 400, { error: `Not a request path: ${path.slice(0, 200)}` });
    return;
  }
  const target = new URL(`${leader}${path}`);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send(target, { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (err) => {
    logger.debug({ err: String(err), leader }, 'Standby: passing a read to the leader failed');
    if (!res.headersSent) refuse(req, res, self, undefined);
    else res.destroy();
  });
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}
