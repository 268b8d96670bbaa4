/**
 * A private PostgreSQL cluster per lane of the suite: the only servers the
 * suite restarts (the shared test servers serve other test files meanwhile).
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findFreePort, initCluster, startCluster, stopCluster, type ClusterOptions } from '../../src/devdb/cluster.js';

// Durability traded for speed, as the shared test servers do.
const FAST = { fsync: 'off', full_page_writes: 'off', max_connections: '200' };

export interface PrivateServer {
  label: string;
  port: number;
  password: string;
  /** A URL to a database of this server, directly (not through a proxy). */
  url(database?: string, port?: number): string;
  query<T extends pg.QueryResultRow = any>(sql: string, values?: unknown[], database?: string): Promise<T[]>;
  restart(mode: 'fast' | 'immediate'): Promise<void>;
  stop(): Promise<void>;
}

/** pg_ctl refuses to run as root: as root, it runs as the cluster's owner (initCluster created `postgres`). */
function serverUser(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function pgCtl(opts: ClusterOptions, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    // The server it starts inherits no pipe of ours, so that waiting for pg_ctl's exit is enough.
    const child = spawn(path.join(opts.binDir, 'pg_ctl'), ['-D', opts.dataDir, '-l', opts.logFile, ...args], { ...serverUser(), stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

export async function startPrivateServer(binDir: string, label: string): Promise<PrivateServer> {
  const root = await mkdtemp(path.join(tmpdir(), `tidemark-faults-${label}-`));
  const opts: ClusterOptions = {
    binDir, dataDir: path.join(root, 'data'), port: await findFreePort(), user: 'postgres',
    password: `fault-pw-${Math.random().toString(36).slice(2, 12)}`, logFile: path.join(root, 'postgres.log'), settings: FAST,
  };
  await initCluster(opts);
  await startCluster(opts);
  const url = (database = 'postgres', port = opts.port) => `postgres://postgres:${opts.password}@127.0.0.1:${port}/${database}`;
  return {
    label,
    port: opts.port,
    password: opts.password,
    url,
    async query(sql, values, database) {
      const client = new pg.Client({ connectionString: url(database) });
      client.on('error', () => undefined);
      await client.connect();
      try {
        return (await client.query(sql, values)).rows;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async restart(mode) {
      // pg_ctl restart reuses the command line of the running server (postmaster.opts); -w waits until it accepts connections.
      const code = await pgCtl(opts, ['-m', mode, '-w', '-t', '60', 'restart']);
      if (code !== 0) throw new Error(`pg_ctl restart -m ${mode} of the ${label} server exited with ${code}`);
    },
    async stop() {
      await stopCluster(opts).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Creates a database (optionally from a template) and returns its name. */
export async function createDatabase(server: PrivateServer, name: string, template = 'template0'): Promise<string> {
  await server.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)}`);
  return name;
}

export async function dropDatabase(server: PrivateServer, name: string): Promise<void> {
  await server.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}

export async function databaseNames(server: PrivateServer): Promise<string[]> {
  return (await server.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).map((r) => r.datname);
}

/**
 * A database with an empty public schema: the lane's one database, emptied
 * for each trial (a CREATE DATABASE costs several times a whole migrate run).
 */
export async function emptyDatabase(server: PrivateServer, name: string): Promise<string> {
  if (!(await databaseNames(server)).includes(name)) await createDatabase(server, name);
  await server.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public', [], name);
  return name;
}
