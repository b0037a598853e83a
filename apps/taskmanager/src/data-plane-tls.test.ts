// The data plane's TLS settings: all three files or none, each readable, the key the certificate's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { issueTestCertificate, makeTestCa } from '@freshet/runtime/testing';
import { readDataPlaneTls } from './data-plane-tls.js';

const dir = mkdtempSync(join(tmpdir(), 'freshet-tm-tls-'));
const ca = makeTestCa(dir, 'cluster');
const tm = issueTestCertificate(ca, dir, 'tm');
const other = issueTestCertificate(ca, dir, 'other');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('readDataPlaneTls', () => {
  it('is plain TCP without the settings, and reads all three files with them', () => {
    expect(readDataPlaneTls({})).toBeUndefined();
    expect(
      readDataPlaneTls({ dataTlsCert: tm.certFile, dataTlsKey: tm.keyFile, dataTlsCa: ca.certFile }),
    ).toEqual({
      cert: tm.cert,
      key: tm.key,
      ca: ca.cert,
    });
  });

  it('names what is missing when only some are given', () => {
    expect(() => readDataPlaneTls({ dataTlsCert: tm.certFile, dataTlsKey: tm.keyFile })).toThrow(
      /missing --data-tls-ca \(give all three, or none for plain TCP\)/,
    );
    expect(() => readDataPlaneTls({ dataTlsCa: ca.certFile })).toThrow(
      /missing --data-tls-cert and --data-tls-key/,
    );
  });

  it('names a file it cannot read, and a key that is not the certificate’s', () => {
    expect(() =>
      readDataPlaneTls({
        dataTlsCert: join(dir, 'nope.pem'),
        dataTlsKey: tm.keyFile,
        dataTlsCa: ca.certFile,
      }),
    ).toThrow(/Cannot read the data-plane TLS certificate .*nope\.pem \(--data-tls-cert\)/);
    expect(() =>
      readDataPlaneTls({ dataTlsCert: tm.certFile, dataTlsKey: other.keyFile, dataTlsCa: ca.certFile }),
    ).toThrow(/Cannot use the data-plane TLS certificate, key and CA .*key values mismatch/);
  });
});
