import { z } from 'zod';

const EnvSchema = z.object({
  /** Where the JobManager's HTTP API listens; `/trpc/*` is proxied there. */
  FRESHET_JOBMANAGER_URL: z
    .url({ message: 'FRESHET_JOBMANAGER_URL must be an http(s) URL such as http://127.0.0.1:8081' })
    .default('http://127.0.0.1:8081')
    .transform((url) => url.replace(/\/+$/, '')),
});

/**
 * The dashboard server's configuration, parsed once from the environment.
 * Read at request time (not build time), so one build serves any JobManager.
 */
export function serverEnv(): z.output<typeof EnvSchema> {
  cached ??= EnvSchema.parse({ FRESHET_JOBMANAGER_URL: process.env.FRESHET_JOBMANAGER_URL || undefined });
  return cached;
}
let cached: z.output<typeof EnvSchema> | undefined;
