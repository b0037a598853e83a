import { NextResponse, type NextRequest } from 'next/server';
import { redirectTo, SESSION_COOKIE } from '@/lib/session';

/**
 * Pages need a session: without the session cookie a page request goes to
 * `/login`. An optimistic check only — the JobManager checks the token of
 * every call the `/trpc` proxy forwards, and a revoked or expired session
 * sends the browser back here from the client.
 */
export function proxy(request: NextRequest): NextResponse {
  if (request.cookies.get(SESSION_COOKIE)?.value) return NextResponse.next();
  return redirectTo(request, '/login');
}

export const config = {
  // Everything but the login flow, the API proxy, Next's assets and the icon.
  matcher: ['/((?!login|auth/|trpc/|_next/|icon\\.svg|favicon\\.ico).*)'],
};
