/**
 * Where the CLI's API token comes from: `--token`, else `FRESHET_TOKEN`, else
 * the token `freshet login` saved for that JobManager in
 * `$XDG_CONFIG_HOME/freshet/credentials.json` (`~/.config/…` by default),
 * a file only its owner can read (mode 0600).
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

const CredentialsSchema = z.record(z.string(), z.object({ token: z.string().min(1), savedAt: z.string() }));
type Credentials = z.infer<typeof CredentialsSchema>;

/** The credentials file: `$XDG_CONFIG_HOME/freshet/credentials.json`, else `~/.config/freshet/credentials.json`. */
export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base =
    env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== ''
      ? env.XDG_CONFIG_HOME
      : join(homedir(), '.config');
  return join(base, 'freshet', 'credentials.json');
}

/** The key of a JobManager in the file: its origin (`http://127.0.0.1:8081`). */
function keyOf(url: string): string {
  return new URL(url).origin;
}

async function readCredentials(path: string): Promise<Credentials> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return {};
  }
  const parsed = CredentialsSchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : {};
}

/** The token saved by `freshet login` for the JobManager at `url`, if any. */
export async function savedToken(url: string, path = credentialsPath()): Promise<string | undefined> {
  return (await readCredentials(path))[keyOf(url)]?.token;
}

/** Saves (or with `undefined`, forgets) the token for the JobManager at `url`; the file is 0600, its folder 0700. */
export async function saveToken(
  url: string,
  token: string | undefined,
  path = credentialsPath(),
): Promise<void> {
  const key = keyOf(url);
  const others = Object.entries(await readCredentials(path)).filter(([k]) => k !== key);
  const all: Credentials = Object.fromEntries(
    token === undefined ? others : [...others, [key, { token, savedAt: new Date().toISOString() }]],
  );
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** The token to use for `url`: the given one (`--token` or `FRESHET_TOKEN`), else the saved one. */
export async function resolveToken(url: string, given: string | undefined): Promise<string | undefined> {
  if (given !== undefined && given.trim() !== '') return given.trim();
  return savedToken(url);
}
