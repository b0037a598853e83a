import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';

/** The TaskManager's data-plane listener. */
export interface DataServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Opens the data-plane TCP port so it can be announced at registration. The
 * exchange protocol (framed batches, credits) attaches here later; until then
 * incoming connections are closed.
 */
export async function startDataServer(host: string, port: number, logger: Logger): Promise<DataServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    logger.debug(
      { remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}` },
      'data connection refused: no data plane yet',
    );
    socket.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    host,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
