/**
 * Two data planes in one process connected for one job attempt, as two
 * TaskManagers `tm-a` (the dialer: the lower id) and `tm-b` would be.
 */
import type { DataPlane, JobLinks } from '../network/tcp/data-plane.js';

/** The secret of the job attempts {@link connectTestPair} connects. */
export const TEST_PAIR_SECRET = 'secret-of-the-job-attempt-0123456789';

/**
 * Connects job `jobId` (attempt 0) between `a` as `tm-a` and `b` as
 * `tm-b`; await both `ready` promises before using the links.
 */
export function connectTestPair(
  a: DataPlane,
  b: DataPlane,
  jobId: string,
  timeoutMs = 5000,
): { la: JobLinks; lb: JobLinks } {
  const side = (plane: DataPlane, self: string, peer: string, peerPort: number): JobLinks =>
    plane.connectJob({
      jobId,
      attempt: 0,
      self,
      secret: TEST_PAIR_SECRET,
      peers: [{ taskManagerId: peer, host: '127.0.0.1', dataPort: peerPort }],
      timeoutMs,
    });
  return { la: side(a, 'tm-a', 'tm-b', b.port), lb: side(b, 'tm-b', 'tm-a', a.port) };
}
