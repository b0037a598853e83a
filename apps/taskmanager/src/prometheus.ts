/**
 * The TaskManager's Prometheus endpoint (`GET /metrics`, with
 * `--metrics-port`): this process's metrics and the latest system and user
 * metrics of the subtasks running here, in the text format.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SubtaskMetricsSample } from '@freshet/protocol';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '@freshet/runtime';
import type { Logger } from './logger.js';

/** A listening metrics endpoint. */
export interface MetricsEndpoint {
  /** The port it listens on. */
  readonly port: number;
  close(): Promise<void>;
}

/** Starts serving `GET /metrics` on `host:port`. */
export async function startMetricsEndpoint(opts: {
  host: string;
  port: number;
  samples: () => SubtaskMetricsSample[];
  logger: Logger;
}): Promise<MetricsEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || req.method !== 'GET') {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('Not found: the metrics are at GET /metrics\n');
      return;
    }
    renderPrometheus(opts.samples()).then(
      (text) => {
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(text);
      },
      (err: unknown) => {
        opts.logger.error({ err }, 'Serving Prometheus metrics failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('Could not render the metrics\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
