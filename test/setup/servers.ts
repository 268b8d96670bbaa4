import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findFreePort, initCluster, startCluster, stopCluster, type ClusterOptions } from '../../src/devdb/cluster.js';
import { embeddedBinDir } from '../../src/devdb/index.js';

export interface TestServer {
  url: string;
  binDir: string;
  stop(): Promise<void>;
}

// Test servers trade durability for speed; benchmarks keep PostgreSQL's defaults.
const FAST = { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '300' };

export async function startTestServer(binDir: string, label: string): Promise<TestServer> {
  const root = await mkdtemp(path.join(tmpdir(), `tidemark-${label}-`));
  const opts: ClusterOptions = {
    binDir, dataDir: path.join(root, 'data'), port: await findFreePort(), user: 'postgres',
    password: `pw-${Math.random().toString(36).slice(2)}`, logFile: path.join(root, 'postgres.log'), settings: FAST,
  };
  await initCluster(opts);
  await startCluster(opts);
  return {
    url: `postgres://postgres:${opts.password}@127.0.0.1:${opts.port}/postgres`,
    binDir,
    async stop() {
      await stopCluster(opts).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

export const embeddedServer = async () => startTestServer(await embeddedBinDir(), 'pg18');

/** The newest Debian PostgreSQL whose client tools are installed (for pg_dump/pg_restore work). */
export function debianBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const majors = readdirSync(base).filter((d) => existsSync(path.join(base, d, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return majors.length ? path.join(base, majors[0], 'bin') : undefined;
}
