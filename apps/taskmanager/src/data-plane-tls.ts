/**
 * The data plane's mutual TLS from `--data-tls-cert`, `--data-tls-key` and
 * `--data-tls-ca`: all three or none (plain TCP), read once at start.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { DataPlaneTlsOptions } from '@freshet/runtime';
import { ConfigError, type TaskManagerConfig } from '@freshet/settings';

const FLAGS = {
  dataTlsCert: '--data-tls-cert',
  dataTlsKey: '--data-tls-key',
  dataTlsCa: '--data-tls-ca',
} as const;

/**
 * The certificate, key and CA of the data plane, or undefined when none is
 * configured.
 *
 * @throws ConfigError naming the missing settings when only some are given, or the file that cannot be read
 */
export function readDataPlaneTls(
  config: Partial<Pick<TaskManagerConfig, 'dataTlsCert' | 'dataTlsKey' | 'dataTlsCa'>>,
): DataPlaneTlsOptions | undefined {
  const names = Object.keys(FLAGS) as (keyof typeof FLAGS)[];
  const missing = names.filter((name) => config[name] === undefined);
  if (missing.length === names.length) return undefined;
  if (missing.length > 0) {
    throw new ConfigError(
      `Invalid configuration: data-plane TLS needs --data-tls-cert, --data-tls-key and --data-tls-ca together; missing ${missing.map((name) => FLAGS[name]).join(' and ')} (give all three, or none for plain TCP)`,
    );
  }
  const read = (name: keyof typeof FLAGS, what: string): string => {
    const path = config[name] ?? '';
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `Cannot read the data-plane TLS ${what} ${path} (${FLAGS[name]}): ${(err as Error).message}`,
      );
    }
  };
  const tls = {
    cert: read('dataTlsCert', 'certificate'),
    key: read('dataTlsKey', 'key'),
    ca: read('dataTlsCa', 'CA'),
  };
  try {
    // Tried once here, so a key that is not the certificate's (or text that is not PEM) stops the start, named.
    createSecureContext(tls);
  } catch (err) {
    throw new ConfigError(
      `Cannot use the data-plane TLS certificate, key and CA (--data-tls-cert, --data-tls-key, --data-tls-ca): ${(err as Error).message}`,
    );
  }
  return tls;
}
