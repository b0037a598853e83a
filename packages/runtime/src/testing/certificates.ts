/**
 * Throwaway certificates for TLS tests, made by the `openssl` command line:
 * a CA, and a certificate it signs for 127.0.0.1 and localhost, usable by a
 * server and a client (mutual TLS).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Files of one certificate (or CA) and its key, with their PEM text. */
export interface TestCertificate {
  /** Path of the PEM certificate. */
  certFile: string;
  /** Path of the PEM private key. */
  keyFile: string;
  /** The PEM certificate. */
  cert: string;
  /** The PEM private key. */
  key: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

function load(certFile: string, keyFile: string): TestCertificate {
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

/** Makes a self-signed CA `<dir>/<name>-ca.pem` valid for a day. */
export function makeTestCa(dir: string, name: string): TestCertificate {
  const certFile = join(dir, `${name}-ca.pem`);
  const keyFile = join(dir, `${name}-ca-key.pem`);
  openssl([
    'req',
    '-x509',
    ...EC_KEY,
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '1',
    '-subj',
    `/CN=${name} CA`,
  ]);
  return load(certFile, keyFile);
}

/** Makes `<dir>/<name>.pem`, signed by `ca`, for 127.0.0.1 and localhost, valid for a day. */
export function issueTestCertificate(ca: TestCertificate, dir: string, name: string): TestCertificate {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}-key.pem`);
  const request = join(dir, `${name}.csr`);
  const extensions = join(dir, `${name}.ext`);
  writeFileSync(extensions, 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(['req', ...EC_KEY, '-keyout', keyFile, '-out', request, '-subj', `/CN=${name}`]);
  openssl([
    'x509',
    '-req',
    '-in',
    request,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    String(Date.now()),
    '-out',
    certFile,
    '-days',
    '1',
    '-extfile',
    extensions,
  ]);
  return load(certFile, keyFile);
}
