import type { NextRequest, NextResponse } from 'next/server';
import {
  crossOriginRefusal,
  jobManagerSession,
  redirectTo,
  sameOrigin,
  sessionCookie,
  type SessionAnswer,
} from '@/lib/session';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

/** Back to the login page with a message (in the query, so the page can show it). */
function toLogin(request: NextRequest, message: string): NextResponse {
  return redirectTo(request, `/login?${new URLSearchParams({ error: message }).toString()}`);
}

/** Sets the session cookie and goes to the dashboard, leaving no code or token in the address. */
function signedIn(request: NextRequest, session: SessionAnswer): NextResponse {
  const response = redirectTo(request, '/');
  response.cookies.set(sessionCookie(request, session.token, new Date(session.expiresAt)));
  response.headers.set('referrer-policy', 'no-referrer');
  return response;
}

/**
 * `GET /auth/login?code=…`: the one-time login link `npm start` prints. The
 * dashboard's server redeems the code with the JobManager for a session
 * token (the code is used up), keeps the token in an httpOnly cookie and
 * redirects to `/`.
 */
export async function GET(request: NextRequest): Promise<NextResponse> {
  const code = request.nextUrl.searchParams.get('code');
  if (code === null || code === '') return redirectTo(request, '/login');
  const answer = await jobManagerSession('auth.redeemLoginCode', { code });
  return answer.ok ? signedIn(request, answer.data) : toLogin(request, answer.message);
}

/**
 * `POST /auth/login` (form field `token`): signs in with a pasted API token,
 * traded for a session token of the same role so that signing out can end
 * the session without revoking the token.
 */
export async function POST(request: NextRequest): Promise<Response> {
  if (!sameOrigin(request)) return crossOriginRefusal();
  const form = await request.formData().catch(() => undefined);
  const token = form?.get('token');
  if (typeof token !== 'string' || token.trim() === '') return toLogin(request, 'Enter an API token.');
  const answer = await jobManagerSession('auth.createSession', {}, token.trim());
  return answer.ok ? signedIn(request, answer.data) : toLogin(request, answer.message);
}
