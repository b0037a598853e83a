/**
 * Data-plane secrets of job attempts. Each attempt's secret is derived from
 * a key this JobManager process draws at start and keeps only in memory:
 * HMAC(key, jobId, attempt). It goes to each TaskManager the attempt is
 * deployed to, in the deploy command over its authenticated control plane,
 * and nowhere else (not the database, not the API), so only those
 * TaskManagers can open the attempt's data connections. Deriving it needs no
 * table of secrets, and every region of an attempt gets the same one (the
 * handshake covers the region).
 */
import { createHmac, randomBytes } from 'node:crypto';

const key = randomBytes(32);

/** The data-plane secret of attempt `attempt` of job `jobId` (256 bits, base64url). */
export function dataPlaneSecret(jobId: string, attempt: number): string {
  return createHmac('sha256', key).update(`${jobId}\0${attempt}`).digest('base64url');
}
