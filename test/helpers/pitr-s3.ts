/**
 * An S3-compatible server for the pitr tests: s3rver, over HTTPS on
 * 127.0.0.1 with a self-signed certificate made here with openssl (pgBackRest
 * speaks only HTTPS to S3), one bucket, and a key pair of this run that it
 * checks every request's signature against.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;
interface Account { createKeyPair(key: string, secret: string): void }

export interface TestS3 {
  endpoint: string;
  bucket: string;
  key: string;
  secret: string;
  /** Where s3rver keeps the objects. */
  directory: string;
  close(): Promise<void>;
}

export async function startTestS3(bucket: string): Promise<TestS3> {
  const require = createRequire(import.meta.url);
  const S3rver = require('s3rver') as S3rverClass;
  const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account') as { DUMMY_ACCOUNT: Account };
  const root = mkdtempSync(path.join(tmpdir(), 'tidemark-s3-'));
  const [keyFile, certFile] = [path.join(root, 'key.pem'), path.join(root, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
  const key = `TMKEY${Math.random().toString(36).slice(2, 12).toUpperCase()}`;
  const secret = `tm-secret-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  DUMMY_ACCOUNT.createKeyPair(key, secret);
  const server = new S3rver({
    address: '127.0.0.1', port: 0, silent: true, directory: path.join(root, 'objects'),
    key: readFileSync(keyFile), cert: readFileSync(certFile), configureBuckets: [{ name: bucket }], vhostBuckets: false,
  });
  const address = await server.run();
  return {
    endpoint: `127.0.0.1:${address.port}`, bucket, key, secret, directory: path.join(root, 'objects'),
    async close() {
      await server.close().catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}
