/**
 * The dashboard's session, held by its server: an httpOnly, SameSite=strict
 * cookie with a JobManager session token (from a one-time login code or a
 * pasted token, traded by `auth.redeemLoginCode` / `auth.createSession`).
 * The browser never sees the token; the `/trpc` proxy adds it to every call.
 * Server-only (route handlers and the proxy).
 */
import { NextResponse, type NextRequest } from 'next/server';
import { z } from 'zod';
import { jobManagerFetch, serverEnv } from './env';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'freshet_session';

/**
 * A 303 to a path of this dashboard, on the host the browser used (its
 * `Host` header): behind `next start --hostname 127.0.0.1` a handler's
 * `request.url` names `localhost`, and a redirect there would leave the
 * cookie (set for the browser's host) behind.
 */
export function redirectTo(request: NextRequest, path: string): NextResponse {
  const own = new URL(request.url);
  const host = request.headers.get('host') ?? own.host;
  return NextResponse.redirect(new URL(path, `${own.protocol}//${host}`), 303);
}

/** The session token of a request, if it has one. */
export function sessionToken(request: NextRequest): string | undefined {
  const value = request.cookies.get(SESSION_COOKIE)?.value;
  return value !== undefined && value.length > 0 ? value : undefined;
}

/** Cookie attributes of the session (Secure when the dashboard is served over HTTPS). */
export function sessionCookie(request: NextRequest, token: string, expiresAt: Date) {
  return {
    name: SESSION_COOKIE,
    value: token,
    httpOnly: true,
    sameSite: 'strict' as const,
    secure:
      new URL(request.url).protocol === 'https:' || request.headers.get('x-forwarded-proto') === 'https',
    path: '/',
    expires: expiresAt,
  };
}

/**
 * Whether a state-changing request comes from a page of this dashboard: its
 * `Origin` must be the dashboard's own. Browsers send `Origin` with every
 * POST; a request without one (or from another site) is refused.
 */
export function sameOrigin(request: NextRequest): boolean {
  const origin = request.headers.get('origin');
  if (origin === null) return false;
  // The host the browser used (request.url may name localhost instead).
  const host = request.headers.get('host');
  const protocol = new URL(request.url).protocol;
  return host !== null && origin === `${protocol}//${host}`;
}

/** The answer to a state-changing request from another origin. */
export function crossOriginRefusal(): Response {
  return Response.json(
    {
      error: {
        message: 'Refused: the request does not come from this dashboard (Origin check)',
        data: { code: 'FORBIDDEN', httpStatus: 403 },
      },
    },
    { status: 403 },
  );
}

const SessionSchema = z.object({
  token: z.string(),
  role: z.string(),
  name: z.string(),
  expiresAt: z.string(),
});

/** What a JobManager session procedure (`auth.redeemLoginCode`, `auth.createSession`) answers. */
export type SessionAnswer = z.infer<typeof SessionSchema>;

/** A JobManager session from a mutation's answer, or the answer's error. */
export async function jobManagerSession(
  path: 'auth.redeemLoginCode' | 'auth.createSession',
  input: unknown,
  token?: string,
): Promise<{ ok: true; data: SessionAnswer } | { ok: false; message: string; status: number }> {
  const answer = await jobManagerMutation(path, input, token);
  if (!answer.ok) return answer;
  const session = SessionSchema.safeParse(answer.data);
  return session.success
    ? { ok: true, data: session.data }
    : { ok: false, status: 502, message: 'The JobManager answered without a session' };
}

/**
 * Calls a JobManager mutation (`auth.redeemLoginCode`, `auth.createSession`,
 * `auth.signOut`) from the dashboard's server; returns its data, or the
 * error message.
 */
export async function jobManagerMutation(
  path: string,
  input: unknown,
  token?: string,
): Promise<{ ok: true; data: unknown } | { ok: false; message: string; status: number }> {
  const { FRESHET_JOBMANAGER_URL: jobManager } = serverEnv();
  let res: Response;
  try {
    res = await jobManagerFetch()(`${jobManager}/trpc/${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(input ?? {}),
      cache: 'no-store',
    });
  } catch (err) {
    const cause =
      err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
    return {
      ok: false,
      status: 502,
      message: `The dashboard cannot reach the JobManager at ${jobManager} (${cause})`,
    };
  }
  const body = (await res.json().catch(() => ({}))) as {
    result?: { data?: unknown };
    error?: { message?: string };
  };
  if (res.ok && body.result?.data !== undefined) return { ok: true, data: body.result.data };
  return {
    ok: false,
    status: res.status,
    message: body.error?.message ?? `The JobManager answered HTTP ${res.status}`,
  };
}
