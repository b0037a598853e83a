import type { Metadata } from 'next';

export const metadata: Metadata = { title: 'Sign in' };

/** `/login`: sign in with an API token (or follow the one-time link `npm start` prints). */
export default async function LoginPage({
  searchParams,
}: {
  searchParams: Promise<{ error?: string | string[] }>;
}) {
  const { error } = await searchParams;
  const message = Array.isArray(error) ? error[0] : error;
  return (
    <div className="login">
      <div className="page-head">
        <h1>Sign in</h1>
        <p className="muted">
          Open the one-time login link that <code>npm start</code> or <code>freshet cluster start</code>{' '}
          printed, or paste an API token. The first admin token is in the JobManager&apos;s{' '}
          <code>&lt;data-dir&gt;/admin-token</code>; <code>freshet token create</code> makes more, and{' '}
          <code>freshet login-link</code> prints a new link.
        </p>
      </div>
      {message !== undefined ? (
        <p className="field-error" role="alert" data-testid="login-error">
          {message}
        </p>
      ) : null}
      <form method="post" action="/auth/login" className="login-form">
        <label htmlFor="token">API token</label>
        <input id="token" name="token" type="password" autoComplete="off" required spellCheck={false} />
        <button type="submit" className="button">
          Sign in
        </button>
      </form>
    </div>
  );
}
