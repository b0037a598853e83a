/**
 * `fetch` that also trusts a private CA, for clients of an `https://`
 * JobManager whose certificate the system does not know (a self-signed or
 * cluster-internal CA): the TaskManager (`--jobmanager-ca`) and the CLI
 * (`FRESHET_JOBMANAGER_CA_FILE`). Node 20's own `fetch` takes no CA, so
 * HTTPS requests go through `node:https` with the system's roots plus the
 * given ones; the response body streams (server-sent events included).
 * The TaskManager installs it as its process's `fetch`, so its control
 * client, its commands stream and its bundle downloads all trust the CA.
 */
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';

/** A `fetch` that trusts the CA certificates (PEM) of `caFile` besides the system's. */
export function fetchTrusting(caFile: string): typeof fetch {
  const agent = new Agent({ ca: [...rootCertificates, readFileSync(caFile, 'utf8')], keepAlive: true });
  // The fetch of plain-HTTP URLs, taken now: a process may install this one as its global fetch.
  const plain = globalThis.fetch;
  return async (input, init) => {
    const request = new Request(input, init);
    if (new URL(request.url).protocol !== 'https:') return plain(request);
    // Request encodes every body kind (FormData included) and its content type.
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        request.url,
        {
          method: request.method,
          headers: Object.fromEntries(request.headers),
          agent,
          signal: request.signal,
        },
        (res) => {
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (Array.isArray(value)) for (const v of value) headers.append(name, v);
            else if (value !== undefined) headers.set(name, value);
          }
          const status = res.statusCode ?? 502;
          const empty = request.method === 'HEAD' || status === 204 || status === 304;
          if (empty) res.resume();
          resolve(
            new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
              status,
              statusText: res.statusMessage ?? '',
              headers,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}
