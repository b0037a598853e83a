import { z } from 'zod';
import { JobManagerEndpoints, parseJobManagerUrls } from '@freshet/protocol';

const EnvSchema = z.object({
  /**
   * Where the JobManager's HTTP API listens; `/trpc/*` is proxied there.
   * Several URLs, comma-separated, for a highly available cluster: the
   * dashboard follows the leader. Parsed to the first of them.
   */
  FRESHET_JOBMANAGER_URL: z
    .string()
    .default('http://127.0.0.1:8081')
    .superRefine((value, ctx) => {
      try {
        parseJobManagerUrls(value);
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          message: `FRESHET_JOBMANAGER_URL must be an http(s) URL such as http://127.0.0.1:8081, or several comma-separated: ${(err as Error).message}`,
        });
      }
    })
    .transform((value) => parseJobManagerUrls(value)[0]!),
});

/**
 * The `fetch` the dashboard's server reaches the JobManager with: requests to
 * `FRESHET_JOBMANAGER_URL` go to the leader among the JobManagers it lists
 * (and follow a standby's pointer to the leader).
 */
export function jobManagerFetch(): typeof fetch {
  endpoints ??= new JobManagerEndpoints(process.env.FRESHET_JOBMANAGER_URL || 'http://127.0.0.1:8081');
  return endpoints.fetch();
}
let endpoints: JobManagerEndpoints | undefined;

/**
 * The dashboard server's configuration, parsed once from the environment.
 * Read at request time (not build time), so one build serves any JobManager.
 */
export function serverEnv(): z.output<typeof EnvSchema> {
  cached ??= EnvSchema.parse({ FRESHET_JOBMANAGER_URL: process.env.FRESHET_JOBMANAGER_URL || undefined });
  return cached;
}
let cached: z.output<typeof EnvSchema> | undefined;
