import type { NextRequest } from 'next/server';
import { jobManagerFetch, serverEnv } from '@/lib/env';
import { crossOriginRefusal, sameOrigin, sessionToken } from '@/lib/session';

// The browser talks to the JobManager through the dashboard's own origin, so
// no CORS and one URL to expose. A route handler rather than a rewrite: it
// streams the response body as it arrives, which keeps the SSE subscription
// (cluster.onUpdate) live instead of buffered. It also adds the session's
// token, which the browser never sees (see lib/session.ts).
export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

/**
 * Request headers not forwarded: hop-by-hop ones, those fetch sets itself,
 * and the browser's credentials (the session cookie stays here; the token
 * it holds goes as `Authorization`).
 */
const DROP_REQUEST = [
  'cookie',
  'authorization',
  'host',
  'connection',
  'content-length',
  'accept-encoding',
  'keep-alive',
  'transfer-encoding',
];
/** Response headers not forwarded: fetch already decoded the body. */
const DROP_RESPONSE = ['content-encoding', 'content-length', 'transfer-encoding', 'connection', 'keep-alive'];

async function proxy(request: NextRequest): Promise<Response> {
  const { FRESHET_JOBMANAGER_URL: jobManager } = serverEnv();
  const incoming = new URL(request.url);
  const target = `${jobManager}${incoming.pathname}${incoming.search}`;

  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  // Mutations (POST) must come from this dashboard's own pages.
  if (hasBody && !sameOrigin(request)) return crossOriginRefusal();
  const headers = new Headers(request.headers);
  for (const name of DROP_REQUEST) headers.delete(name);
  const token = sessionToken(request);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);

  let upstream: Response;
  try {
    upstream = await jobManagerFetch()(target, {
      method: request.method,
      headers,
      body: hasBody ? await request.arrayBuffer() : undefined,
      signal: request.signal,
      redirect: 'manual',
      cache: 'no-store',
    });
  } catch (err) {
    return unreachable(incoming, jobManager, err);
  }

  const responseHeaders = new Headers(upstream.headers);
  for (const name of DROP_RESPONSE) responseHeaders.delete(name);
  if (responseHeaders.get('content-type')?.startsWith('text/event-stream')) {
    responseHeaders.set('cache-control', 'no-cache, no-transform');
    responseHeaders.set('x-accel-buffering', 'no');
  }
  return new Response(upstream.body, { status: upstream.status, headers: responseHeaders });
}

/**
 * A tRPC-shaped error (one per batched call) so the client shows a message the
 * user can act on instead of a parse failure.
 */
function unreachable(incoming: URL, jobManager: string, err: unknown): Response {
  const cause =
    err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
  const message =
    `The dashboard cannot reach the JobManager at ${jobManager} (${cause}). ` +
    'Start it with `npm start`, or point FRESHET_JOBMANAGER_URL at a running JobManager.';
  const error = {
    message,
    code: -32603,
    data: { code: 'BAD_GATEWAY', httpStatus: 502, path: null },
  };
  const calls = incoming.pathname.replace(/^\/trpc\/?/, '').split(',').length;
  const body =
    incoming.searchParams.get('batch') === '1' ? Array.from({ length: calls }, () => ({ error })) : { error };
  return Response.json(body, { status: 502 });
}

export { proxy as GET, proxy as POST };
