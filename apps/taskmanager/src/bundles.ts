import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineErrorClass, UnavailableError } from '@freshet/errors';

/** A bundle could not be fetched or did not match its hash. Code `UNAVAILABLE`. */
export class BundleFetchError extends UnavailableError {
  static {
    defineErrorClass(this, 'BundleFetchError', 'UNAVAILABLE');
  }
}

/** Options of {@link fetchBundle}. */
export interface FetchBundleOptions {
  jobManagerUrl: string;
  sha256: string;
  /** `<taskManagerId>.<token>`. */
  credentials: string;
  /** Cache directory (bundles are kept by hash). */
  dir: string;
  signal?: AbortSignal;
}

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Fetches in flight, by cached path: deployments of one job's regions starting together share one. */
const inFlight = new Map<string, Promise<string>>();

/**
 * Returns the path of the bundle with hash `sha256`, from the cache or
 * fetched from the JobManager (`GET /artifacts/<sha256>.mjs`, authenticated)
 * and verified before it is cached.
 */
export function fetchBundle(o: FetchBundleOptions): Promise<string> {
  const key = join(o.dir, `${o.sha256}.mjs`);
  let pending = inFlight.get(key);
  if (pending === undefined) {
    // Without the caller's signal: another deployment may be waiting for the same fetch.
    const { signal: _callerOnly, ...shared } = o;
    pending = fetchOnce(shared).finally(() => inFlight.delete(key));
    inFlight.set(key, pending);
  }
  return pending;
}

async function fetchOnce(o: FetchBundleOptions): Promise<string> {
  await mkdir(o.dir, { recursive: true });
  const path = join(o.dir, `${o.sha256}.mjs`);
  try {
    if (sha256Of(await readFile(path)) === o.sha256) return path;
  } catch {
    // Not cached yet.
  }
  const url = `${o.jobManagerUrl}/artifacts/${o.sha256}.mjs`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { authorization: `Bearer ${o.credentials}` },
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (err) {
    throw new BundleFetchError(`Could not fetch program bundle ${url}: ${(err as Error).message}`);
  }
  if (!response.ok)
    throw new BundleFetchError(
      `Could not fetch program bundle ${url}: HTTP ${response.status} ${response.statusText}`,
    );
  const bytes = new Uint8Array(await response.arrayBuffer());
  const actual = sha256Of(bytes);
  if (actual !== o.sha256) {
    throw new BundleFetchError(
      `Program bundle ${url} has sha256 ${actual}, expected ${o.sha256}; refusing to run it`,
    );
  }
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
  return path;
}
