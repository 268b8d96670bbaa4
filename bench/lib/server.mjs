// The PostgreSQL 18 server the benchmarks run against: the embedded binaries,
// driven by tidemark's own cluster helpers (compiled here once with esbuild),
// with PostgreSQL's default durability settings.
import { rm, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { internals } from './internals.mjs';

/**
 * Starts a fresh cluster in `root`; returns a handle to create and drop
 * databases. `binDir` chooses other server binaries than the embedded ones.
 */
export async function startServer(root, { binDir: otherBinDir, settings } = {}) {
  const devdb = await internals();
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  const binDir = otherBinDir ?? (await devdb.embeddedBinDir());
  // Read back by removeStaleRuns to stop the server with its own pg_ctl.
  await writeFile(path.join(root, BIN_DIR_FILE), binDir);
  const opts = {
    binDir,
    dataDir: path.join(root, 'data'),
    port: await devdb.findFreePort(),
    user: 'postgres',
    password: `bench-${Math.random().toString(36).slice(2)}`,
    logFile: path.join(root, 'postgres.log'),
    settings,
  };
  await devdb.initCluster(opts);
  await devdb.startCluster(opts);
  const server = new Server(opts, devdb);
  try {
    server.version = (await server.query('SHOW server_version')).rows[0].server_version;
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

const BIN_DIR_FILE = 'bin-dir';

class Server {
  constructor(opts, devdb) {
    this.opts = opts;
    this.devdb = devdb;
    this.version = '';
  }

  /** A URL for one database, TCP to 127.0.0.1, no TLS. */
  url(database = 'postgres') {
    const { user, password, port } = this.opts;
    return `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}?sslmode=disable`;
  }

  async query(text, database = 'postgres') {
    const client = new pg.Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return await client.query(text);
    } finally {
      await client.end();
    }
  }

  /** A new database, empty or as a copy of a template database. */
  async createDatabase(name, template = 'template1', strategy = 'WAL_LOG') {
    await this.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await this.query(`CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(template)} STRATEGY ${strategy}`);
    return this.url(name);
  }

  async dropDatabase(name) {
    await this.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  }

  async stop() {
    await this.devdb.stopCluster(this.opts).catch(() => undefined);
    await rm(path.dirname(this.opts.dataDir), { recursive: true, force: true });
  }
}

/** Stops and removes the servers of earlier runs that were killed before they could clean up. */
export async function removeStaleRuns(work) {
  const { existsSync, readFileSync, readdirSync } = await import('node:fs');
  if (!existsSync(work)) return;
  for (const dir of readdirSync(work).filter((d) => /^run-\d+$/.test(d))) {
    const pid = Number(dir.slice(4));
    if (pid === process.pid || isAlive(pid)) continue;
    // Every cluster of that run: pg/ (the embedded server) and any other started with a binDir.
    for (const sub of readdirSync(path.join(work, dir))) {
      const dataDir = path.join(work, dir, sub, 'data');
      if (!existsSync(path.join(dataDir, 'postmaster.pid'))) continue;
      const devdb = await internals();
      const binDirFile = path.join(work, dir, sub, BIN_DIR_FILE);
      const binDir = existsSync(binDirFile) ? readFileSync(binDirFile, 'utf8') : await devdb.embeddedBinDir();
      await devdb.stopCluster({ binDir, dataDir }).catch(() => undefined);
    }
    await rm(path.join(work, dir), { recursive: true, force: true });
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}
