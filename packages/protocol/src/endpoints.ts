/**
 * Several JobManagers of one highly available cluster, as a client sees
 * them: a list of base URLs (`--jobmanager http://a:8081,http://b:8081`)
 * and the one in use. {@link JobManagerEndpoints.fetch} sends every request
 * meant for any of them to the one in use and follows the leader:
 *
 * - a connection that could not be made (nothing was sent) moves on to the
 *   next JobManager and tries again, once round the list;
 * - a standby's refusal (503 with `x-freshet-role: standby`) names the
 *   leader in `x-freshet-leader`; the request goes there instead (the
 *   standby did nothing with it).
 *
 * The TaskManager, the CLI and the dashboard use it, so all three follow a
 * takeover by themselves.
 */

/** Response header a standby JobManager sets on what it refuses: `standby`. */
export const JOBMANAGER_ROLE_HEADER = 'x-freshet-role';
/** Response header naming the leader's base URL, set by a standby that knows it. */
export const JOBMANAGER_LEADER_HEADER = 'x-freshet-leader';

/** Connection failures after which nothing reached the server: safe to send elsewhere. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Whether `err` (from fetch) says the connection was never made. */
function notConnected(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NOT_CONNECTED.has(code)) return true;
    if (e instanceof AggregateError && e.errors.some(notConnected)) return true;
  }
  return false;
}

/** A base URL without trailing slashes. */
const normalize = (url: string): string => url.trim().replace(/\/+$/, '');

/**
 * Parses `--jobmanager` / `FRESHET_JOBMANAGER_URL`: one base URL or several,
 * comma-separated.
 *
 * @throws Error naming the entry that is not an http(s) URL
 */
export function parseJobManagerUrls(value: string): string[] {
  const urls = value
    .split(',')
    .map(normalize)
    .filter((u) => u.length > 0);
  if (urls.length === 0) throw new Error('no JobManager URL given');
  for (const url of urls) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw new Error(`'${url}' is not an http:// or https:// URL of a JobManager`);
  }
  return [...new Set(urls)];
}

/** The JobManagers of a cluster and the one a client talks to now. */
export class JobManagerEndpoints {
  readonly #urls: string[];
  #current = 0;

  /** @param urls - base URLs (or one comma-separated string of them) */
  constructor(urls: string | readonly string[]) {
    this.#urls = typeof urls === 'string' ? parseJobManagerUrls(urls) : parseJobManagerUrls(urls.join(','));
  }

  /** Every known JobManager, in order. */
  get urls(): readonly string[] {
    return this.#urls;
  }

  /** The base URL in use: the leader, as far as this client knows. */
  get current(): string {
    return this.#urls[this.#current]!;
  }

  /** The one in use did not answer: use the next one (when `url` is still the one in use). */
  failed(url: string): void {
    if (this.current === url) this.#current = (this.#current + 1) % this.#urls.length;
  }

  /** Use `url` from now on (a standby named it the leader); it joins the list if new. */
  prefer(url: string): void {
    const u = normalize(url);
    let at = this.#urls.indexOf(u);
    if (at < 0) at = this.#urls.push(u) - 1;
    this.#current = at;
  }

  /**
   * A `fetch` that sends requests for any of these JobManagers to the one in
   * use and follows the leader (see the module comment). Other URLs go to
   * `base` unchanged.
   *
   * @param base - the fetch underneath @default globalThis.fetch at call time
   */
  fetch(base?: typeof fetch): typeof fetch {
    return async (input, init) => {
      const doFetch = base ?? globalThis.fetch;
      const raw = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const from = this.#urls.find((u) => raw === u || raw.startsWith(`${u}/`) || raw.startsWith(`${u}?`));
      if (from === undefined) return doFetch(input, init);
      const rest = raw.slice(from.length);
      // A Request's body can be read once; tRPC and Freshet's own callers send strings, bytes or FormData.
      const options: RequestInit | undefined =
        input instanceof Request ? { ...requestInit(input), ...init } : init;
      let lastError: unknown;
      let followed = 0;
      for (let tries = 0; tries < this.#urls.length + 2; tries++) {
        const target = this.current;
        let response: Response;
        try {
          response = await doFetch(`${target}${rest}`, options);
        } catch (err) {
          if (options?.signal?.aborted === true || !notConnected(err)) {
            // It may have reached the server: not resent, but the next call tries another.
            if (!(options?.signal?.aborted ?? false)) this.failed(target);
            throw err;
          }
          lastError = err;
          this.failed(target);
          continue;
        }
        if (response.status === 503 && response.headers.get(JOBMANAGER_ROLE_HEADER) === 'standby') {
          const leader = response.headers.get(JOBMANAGER_LEADER_HEADER);
          if (leader !== null && normalize(leader) !== target && followed++ < 2) {
            await response.body?.cancel();
            this.prefer(leader);
            continue;
          }
          // No leader yet (a takeover under way): the caller retries as it would any 503.
          if (this.#urls.length > 1) this.failed(target);
        }
        return response;
      }
      throw lastError instanceof Error
        ? lastError
        : new Error(`No JobManager of ${this.#urls.join(', ')} answered`);
    };
  }
}

/** What of a `Request` a resend needs (`duplex` is what Node's fetch requires with a stream body). */
function requestInit(request: Request): RequestInit {
  const init: RequestInit & { duplex?: 'half' } = {
    method: request.method,
    headers: request.headers,
    signal: request.signal,
  };
  if (request.body !== null) {
    init.body = request.body;
    init.duplex = 'half';
  }
  return init;
}
