import type { NextConfig } from 'next';

const config: NextConfig = {
  // The dashboard is served by `next start` from this package; no telemetry, no
  // "powered by" header.
  poweredByHeader: false,
  reactStrictMode: true,
  // Compression would buffer the JobManager's SSE stream (cluster.onUpdate)
  // that /trpc proxies; localhost traffic gains nothing from it anyway.
  compress: false,
  // Type-only imports reach into the JobManager's package; never bundle it.
  typescript: { tsconfigPath: 'tsconfig.json' },
};

export default config;
