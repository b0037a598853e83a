import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { FreshetError, TooManyRequestsError } from '@freshet/errors';
import {
  CHECKPOINT_UPLOAD_HEADERS,
  CHECKPOINTS_PATH_PREFIX,
  parseCheckpointStatePath,
  MAX_UPLOAD_PIECES,
  uploadPiecesOf,
  uploadStatsOf,
} from '@freshet/protocol';
import type { Logger } from './logger.js';
import { bundleDeployedTo } from './jobs/report-fencing.js';
import { servePrometheus } from './prometheus.js';
import { appRouter } from './router.js';
import { answerOf, TRPC_CODE_OF_ERROR, type Services } from './trpc.js';

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest program upload, bytes (request bodies may be somewhat larger, so an upload over the limit gets a precise message). */
  uploadLimitBytes: number;
  /** The most calls one batched request may carry; larger batches get 400. */
  maxBatchSize: number;
  services: Services;
  logger: Logger;
  /** Serve HTTPS with this certificate and key (PEM) instead of HTTP. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
}

/** A listening JobManager HTTP server. */
export interface HttpServer {
  /** Base URL, e.g. `http://127.0.0.1:8081`. */
  readonly url: string;
  readonly port: number;
  /** Stops accepting connections and ends open ones (SSE streams included). */
  close(): Promise<void>;
}

/** Answers `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

const BUNDLE_PATH = /^\/artifacts\/([0-9a-f]{64})\.mjs$/;

/** Largest checkpoint state upload accepted (one subtask's snapshot). */
export const CHECKPOINT_UPLOAD_LIMIT_BYTES = 1024 * 1024 * 1024;

/** The TaskManager a request's `Authorization: Bearer <taskManagerId>.<token>` proves, if it holds a live session. */
function taskManagerOf(req: IncomingMessage, services: Services): string | undefined {
  const auth = /^Bearer (.+)\.([^.]+)$/.exec(req.headers.authorization ?? '');
  if (auth === null) return undefined;
  try {
    return services.registry.checkSession(auth[1]!, auth[2]!) === 'ok' ? auth[1]! : undefined;
  } catch {
    return undefined;
  }
}

/** The HTTP status of a failure, by the same table the tRPC edge uses. */
function httpStatusOf(err: unknown): number {
  if (!(err instanceof FreshetError) || err.code === 'INTERNAL') return 500;
  return getHTTPStatusCodeFromError(new TRPCError({ code: TRPC_CODE_OF_ERROR[err.code] }));
}

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  const all = Buffer.concat(chunks);
  return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
}

/**
 * `PUT` and `GET /checkpoints/<jobId>/<attempt>/<checkpointId|final>/<vertexId>/<subtask>`
 * for TaskManagers (`@freshet/protocol`'s `control/checkpoints.ts`): an
 * upload stores a subtask's snapshot and acknowledges it; a fetch returns
 * the state it restores from. Both need a live session, and the TaskManager
 * must run that subtask in that attempt (409 otherwise: fenced).
 */
async function serveCheckpointState(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  services: Services,
): Promise<void> {
  const taskManagerId = taskManagerOf(req, services);
  if (taskManagerId === undefined) {
    res.setHeader('www-authenticate', 'Bearer');
    sendJson(res, 401, {
      error:
        'Checkpoint state is for TaskManagers: send Authorization: Bearer <taskManagerId>.<token> of a live session',
    });
    req.resume();
    return;
  }
  const target = parseCheckpointStatePath(path);
  if (target === undefined) {
    sendJson(res, 404, { error: `Not a checkpoint state path: ${path}` });
    req.resume();
    return;
  }
  try {
    if (req.method === 'PUT') {
      const bytes = await readBody(req, CHECKPOINT_UPLOAD_LIMIT_BYTES);
      if (bytes === undefined) {
        sendJson(res, 413, { error: `Checkpoint state over ${CHECKPOINT_UPLOAD_LIMIT_BYTES} bytes` });
        return;
      }
      const pieces = uploadPiecesOf(req.headers);
      if (pieces === undefined) {
        sendJson(res, 400, {
          error: `${CHECKPOINT_UPLOAD_HEADERS.pieces} must be comma-separated checkpoint ids (positive integers) or ranges of them (3-9), at most ${MAX_UPLOAD_PIECES} ids`,
        });
        return;
      }
      await services.jobs.uploadCheckpointState(taskManagerId, target, bytes, {
        ...uploadStatsOf(req.headers),
        pieces,
      });
      res.writeHead(204).end();
      return;
    }
    if (target.checkpointId === 'final') {
      sendJson(res, 404, { error: 'Final states are read through the checkpoint that holds them' });
      return;
    }
    // `?part=i`: one of several parts of a restore at another parallelism.
    const rawPart = new URLSearchParams((req.url ?? '').split('?')[1] ?? '').get('part');
    const part = rawPart === null ? undefined : Number(rawPart);
    if (part !== undefined && !(Number.isInteger(part) && part >= 0 && part < 4096)) {
      sendJson(res, 400, { error: `part must be an integer from 0 to 4095, not '${rawPart}'` });
      return;
    }
    const bytes = await services.jobs.readCheckpointState(taskManagerId, {
      ...target,
      checkpointId: target.checkpointId,
      part,
    });
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength });
    res.end(bytes);
  } catch (err) {
    const status = httpStatusOf(err);
    if (status >= 500) throw err;
    sendJson(res, status, { error: (err as Error).message });
  }
}

/**
 * `GET /artifacts/<bundleSha256>.mjs` for TaskManagers: needs
 * `Authorization: Bearer <taskManagerId>.<token>` of a live session. The
 * digest is matched strictly, so no path can be smuggled in.
 */
async function serveBundle(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  services: Services,
): Promise<void> {
  const taskManagerId = taskManagerOf(req, services);
  if (taskManagerId === undefined) {
    res.setHeader('www-authenticate', 'Bearer');
    sendJson(res, 401, {
      error:
        'Bundles are for TaskManagers: send Authorization: Bearer <taskManagerId>.<token> of a live session',
    });
    return;
  }
  const digest = BUNDLE_PATH.exec(path)?.[1];
  if (digest !== undefined && !bundleDeployedTo(services.jobs, digest, taskManagerId)) {
    sendJson(res, 403, { error: `No job deployed to TaskManager ${taskManagerId} runs bundle ${digest}` });
    return;
  }
  const file = digest === undefined ? undefined : services.artifacts.bundlePath(digest);
  const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
  if (file === undefined || info?.isFile() !== true) {
    sendJson(res, 404, { error: `No bundle ${path.slice('/artifacts/'.length)}` });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'content-length': info.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}

/**
 * A tRPC-shaped TOO_MANY_REQUESTS answer (with Retry-After) for an upload
 * while the compile queue is full, sent before its body is read.
 */
function rejectBusyUpload(req: IncomingMessage, res: ServerResponse, services: Services): boolean {
  try {
    services.artifacts.checkCapacity();
    return false;
  } catch (err) {
    if (!(err instanceof TooManyRequestsError)) throw err;
    res.setHeader('retry-after', String(err.retryAfterSeconds));
    sendJson(res, 429, {
      error: {
        message: err.message,
        code: -32029,
        data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429, path: 'artifacts.upload', diagnostics: null },
      },
    });
    req.resume();
    return true;
  }
}

/** A tRPC-shaped PAYLOAD_TOO_LARGE answer for an upload whose body is far over the limit. */
function rejectHugeUpload(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  maxBody: number,
): boolean {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!(length > maxBody)) return false;
  const mib = (n: number): string => `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`;
  sendJson(res, 413, {
    error: {
      message: `Program upload is ${mib(length)}; the limit is ${mib(limit)} (set --upload-limit-bytes)`,
      code: -32013,
      data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413, path: 'artifacts.upload', diagnostics: null },
    },
  });
  req.resume();
  return true;
}

/** A request handler of the JobManager's HTTP API. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves tRPC under `/trpc`, program bundles under `/artifacts/`, checkpoint
 * state under `/checkpoints/`, `GET /healthz` for scripts and probes and
 * `GET /metrics` for Prometheus.
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  return listenHttp(opts, createRequestHandler(opts));
}

/** The handler of {@link startHttpServer}, for a server that changes handlers (a standby becoming the leader). */
export function createRequestHandler(opts: Omit<HttpServerOptions, 'host' | 'port' | 'tls'>): RequestHandler {
  const { logger } = opts;
  // Room for an upload somewhat over the limit, so the procedure can name the file and its size.
  const maxBodySize = opts.uploadLimitBytes * 2 + 1024 * 1024;
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize,
    maxBatchSize: opts.maxBatchSize,
    // Credentials are checked by each procedure (a token, or a TaskManager session in its input).
    createContext: ({ req }) => ({ ...opts.services, authorization: req.headers.authorization }),
    responseMeta({ errors }) {
      // A full queue says when to come back.
      let retryAfter = 0;
      for (const error of errors) {
        const cause = answerOf(error).error.cause;
        if (cause instanceof TooManyRequestsError) retryAfter = Math.max(retryAfter, cause.retryAfterSeconds);
      }
      return retryAfter > 0 ? { headers: { 'retry-after': String(retryAfter) } } : {};
    },
    onError({ error, path }) {
      // Client mistakes are the client's to report; only our own failures are
      // logged as errors, in full, under the id the client was given.
      const answer = answerOf(error);
      if (answer.errorId !== undefined) {
        logger.error(
          { err: error.cause ?? error, errorId: answer.errorId, path },
          `tRPC procedure failed (error id ${answer.errorId})`,
        );
      } else {
        logger.debug(
          { code: answer.error.code, path, message: answer.error.message },
          'tRPC request rejected',
        );
      }
    },
  });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD')) {
      sendJson(res, 200, { status: 'ok' });
    } else if (path === '/metrics' && req.method === 'GET') {
      // Like every route but /healthz it needs an API token (any role): Prometheus sends it as `authorization` bearer credentials.
      opts.services.tokens
        .authenticate(req.headers.authorization)
        .then(
          () => servePrometheus(res, opts.services.jobs, opts.services.metrics),
          (err: unknown) => {
            res.setHeader('www-authenticate', 'Bearer');
            sendJson(res, 401, { error: (err as Error).message });
          },
        )
        .catch((err: unknown) => {
          logger.error({ err }, 'Serving Prometheus metrics failed');
          if (!res.headersSent) sendJson(res, 500, { error: 'Could not render the metrics' });
        });
    } else if (path.startsWith('/trpc/')) {
      if (
        path === '/trpc/artifacts.upload' &&
        (rejectHugeUpload(req, res, opts.uploadLimitBytes, maxBodySize) ||
          rejectBusyUpload(req, res, opts.services))
      )
        return;
      trpc(req, res);
    } else if (path.startsWith(CHECKPOINTS_PATH_PREFIX) && (req.method === 'PUT' || req.method === 'GET')) {
      serveCheckpointState(req, res, path, opts.services).catch((err: unknown) => {
        logger.error({ err, path, method: req.method }, 'Serving checkpoint state failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'Could not store or read the checkpoint state' });
        else res.destroy();
      });
    } else if (path.startsWith('/artifacts/') && (req.method === 'GET' || req.method === 'HEAD')) {
      serveBundle(req, res, path, opts.services).catch((err: unknown) => {
        logger.error({ err, path }, 'Serving a bundle failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'Could not read the bundle' });
        else res.destroy();
      });
    } else {
      sendJson(res, 404, { error: `Not found: ${req.method ?? 'GET'} ${path}. The API is under /trpc` });
    }
  };
  return handle;
}

/** Listens on `opts.host:opts.port` (HTTPS with `opts.tls`) with `handle`. */
export async function listenHttp(
  opts: Pick<HttpServerOptions, 'host' | 'port' | 'tls'>,
  handle: RequestHandler,
): Promise<HttpServer> {
  const server: Server =
    opts.tls === undefined
      ? createServer(handle)
      : createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handle);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `${opts.tls === undefined ? 'http' : 'https'}://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
