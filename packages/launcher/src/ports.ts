import { createServer } from 'node:net';

/**
 * A free TCP port on 127.0.0.1, chosen by the OS. Someone else may take it
 * before it is used: prefer `--port 0` where the process announces its port
 * (the JobManager and TaskManager do); this is for those that do not (`next start`).
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}
