/**
 * `freshet token create|list|revoke` (admin), `freshet login` / `logout`
 * (save or forget a token for a JobManager), and `freshet login-link` (a
 * one-time dashboard login link, which carries a short-lived code rather
 * than a token).
 */
import { InvalidArgumentError, type Command } from 'commander';
import { formatTable, printJson, CliError } from '../output.js';
import { credentialsPath, resolveToken, saveToken } from './credentials.js';
import {
  call,
  connect,
  withConnectionOptions,
  withJobManagerOptions,
  type JobManagerOptions,
} from './jobs.js';

const ROLES = ['viewer', 'developer', 'admin'] as const;
type Role = (typeof ROLES)[number];

function parseRole(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${ROLES.join(', ')}, got '${value}'`);
  }
  return value as Role;
}

function parseDays(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 3650)
    throw new InvalidArgumentError(`expected 1-3650, got '${value}'`);
  return n;
}

/** Reads a token from standard input (piped, or typed at a prompt). */
async function readTokenFromStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('API token: ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (process.stdin.isTTY && text.includes('\n')) break;
  }
  return text.trim();
}

/** The one-time login link of a dashboard for the caller's role. */
export async function loginLink(
  opts: JobManagerOptions,
  dashboard: string,
): Promise<{ link: string; expiresAt: string }> {
  const client = await connect(opts);
  const { code, expiresAt } = await call(opts.jobmanager, () => client.auth.createLoginCode.mutate());
  const url = new URL('/auth/login', dashboard);
  url.searchParams.set('code', code);
  return { link: url.href, expiresAt };
}

/** Registers `freshet token …`, `freshet login`, `freshet logout` and `freshet login-link`. */
export function register(program: Command): void {
  const token = program.command('token').description('Manage API tokens (needs an admin token)');
  withJobManagerOptions(
    token
      .command('create')
      .description('Create a token; its secret is printed once and never stored')
      .requiredOption('--name <name>', 'what the token is for, e.g. ci')
      .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, parseRole)
      .option('--expires-in-days <n>', 'days until it stops working (default: until revoked)', parseDays),
  ).action(async (opts: JobManagerOptions & { name: string; role: Role; expiresInDays?: number }) => {
    const client = await connect(opts);
    const created = await call(opts.jobmanager, () =>
      client.tokens.create.mutate({
        name: opts.name,
        role: opts.role,
        ...(opts.expiresInDays !== undefined ? { expiresInDays: opts.expiresInDays } : {}),
      }),
    );
    if (opts.json) printJson(created);
    else process.stdout.write(`${created.token}\n`);
  });

  withJobManagerOptions(
    token
      .command('list')
      .description('List tokens (never their secrets)')
      .option('--all', 'include revoked and expired ones'),
  ).action(async (opts: JobManagerOptions & { all?: boolean }) => {
    const client = await connect(opts);
    const tokens = await call(opts.jobmanager, () => client.tokens.list.query({ all: opts.all === true }));
    if (opts.json) {
      printJson(tokens);
      return;
    }
    const rows = tokens.map((t) => [
      t.id,
      t.name,
      t.role,
      t.createdAt,
      t.lastUsedAt ?? '-',
      t.revokedAt !== null ? `revoked ${t.revokedAt}` : (t.expiresAt ?? 'never'),
    ]);
    process.stdout.write(`${formatTable(['ID', 'NAME', 'ROLE', 'CREATED', 'LAST USED', 'EXPIRES'], rows)}\n`);
  });

  withJobManagerOptions(
    token.command('revoke <id>').description('Revoke a token: it stops working at once'),
  ).action(async (id: string, opts: JobManagerOptions) => {
    const client = await connect(opts);
    const revoked = await call(opts.jobmanager, () => client.tokens.revoke.mutate({ id }));
    if (opts.json) printJson(revoked);
    else process.stdout.write(`Revoked token ${revoked.id} (${revoked.name})\n`);
  });

  withConnectionOptions(
    program
      .command('login')
      .description(
        `Check a token against a JobManager and save it for later commands (in ${credentialsPath()}, mode 0600); the token comes from --token, FRESHET_TOKEN or standard input`,
      ),
  ).action(async (opts: JobManagerOptions) => {
    const given = opts.token ?? (await readTokenFromStdin());
    if (given === '') throw new CliError('No token given: pass --token, set FRESHET_TOKEN or type it', 2);
    const client = await connect({ ...opts, token: given });
    const me = await call(opts.jobmanager, () => client.auth.whoami.query());
    await saveToken(opts.jobmanager, given);
    process.stdout.write(
      `Logged in to ${opts.jobmanager} as '${me.name}' (${me.role}); saved in ${credentialsPath()}\n`,
    );
  });

  withConnectionOptions(
    program.command('logout').description('Forget the token saved for a JobManager'),
  ).action(async (opts: JobManagerOptions) => {
    const had = (await resolveToken(opts.jobmanager, undefined)) !== undefined;
    await saveToken(opts.jobmanager, undefined);
    process.stdout.write(
      had ? `Forgot the token for ${opts.jobmanager}\n` : `No token was saved for ${opts.jobmanager}\n`,
    );
  });

  withJobManagerOptions(
    program
      .command('login-link')
      .description("Print a one-time dashboard login link (valid 15 minutes) for your token's role")
      .option('--dashboard <url>', 'the dashboard the link opens', 'http://127.0.0.1:3000'),
  ).action(async (opts: JobManagerOptions & { dashboard: string }) => {
    const link = await loginLink(opts, opts.dashboard);
    if (opts.json) printJson(link);
    else process.stdout.write(`${link.link}\n`);
  });
}
