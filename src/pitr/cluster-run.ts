/**
 * Starting and stopping a restored data directory with its own pg_ctl, as
 * the user pgBackRest restored it as. Used by the restore rehearsal and by
 * `pitr:restore --start`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseTarget } from '../connection-string.js';
import { closeConnection } from '../connection-close.js';
import { newClient } from '../db/connect.js';
import { describeCause, TidemarkError, type ErrorCode } from '../errors.js';
import { offlineEnv, type PreparedCommand } from '../pgtools/exec.js';
import { describeExit, failed, runTool } from '../pgtools/run.js';
import { handOver, type RunAs } from './tool.js';

/** The server programs of the data directory's major version: PG_BIN_DIR, else Debian's and the PGDG layout. */
export function serverBinDir(dataDir: string, env: Record<string, string | undefined>): string | undefined {
  if (env.PG_BIN_DIR) return env.PG_BIN_DIR;
  const major = readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  return [`/usr/lib/postgresql/${major}/bin`, `/usr/pgsql-${major}/bin`].find((dir) => existsSync(path.join(dir, 'pg_ctl')));
}

/**
 * A data directory whose configuration lived elsewhere (Debian keeps it in
 * /etc/postgresql) has none after a restore: a minimal one lets it start,
 * for local connections and 127.0.0.1 only.
 */
function ensureConfiguration(dataDir: string, as: RunAs): void {
  const files: Array<[string, string]> = [
    ['postgresql.conf', '# Written by tidemark: the restored cluster had its configuration outside its data directory.\n'],
    ['pg_hba.conf', 'local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n'],
  ];
  for (const [name, text] of files) {
    const file = path.join(dataDir, name);
    if (existsSync(file)) continue;
    writeFileSync(file, text, { mode: 0o600 });
    handOver(file, as);
  }
}

const pgCtl = (binDir: string, args: string[]): PreparedCommand => ({ file: path.join(binDir, 'pg_ctl'), args, env: { ...offlineEnv(), LC_ALL: 'C' }, cleanup: async () => undefined });

export interface StartedCluster {
  dataDir: string;
  port: number;
  logFile: string;
  binDir: string;
}

/**
 * Starts the restored cluster on 127.0.0.1:port, without a Unix socket and
 * without archiving (a copy must never push WAL into the repository it came from).
 */
export async function startRestored(dataDir: string, port: number, as: RunAs, code: ErrorCode, operation: string): Promise<StartedCluster> {
  const binDir = serverBinDir(dataDir, process.env);
  if (!binDir) {
    const major = readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
    throw new TidemarkError(code, 'no PostgreSQL server programs for the restored cluster', { operation, cause: `no pg_ctl for PostgreSQL ${major}`, hint: 'set PG_BIN_DIR to the directory of its pg_ctl' });
  }
  ensureConfiguration(dataDir, as);
  const logFile = path.join(dataDir, 'tidemark-start.log');
  const options = [`-p ${port}`, "-c listen_addresses=127.0.0.1", "-c unix_socket_directories=''", '-c archive_mode=off'].join(' ');
  const result = await runTool(pgCtl(binDir, ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '3600', 'start']), { spawnOptions: as });
  if (failed(result)) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
    throw new TidemarkError(code, 'the restored cluster did not start', { operation, cause: `${describeExit('pg_ctl start', result)}${log ? `\n${log}` : ''}` });
  }
  return { dataDir, port, logFile, binDir };
}

export async function stopRestored(started: StartedCluster, as: RunAs): Promise<void> {
  await runTool(pgCtl(started.binDir, ['-D', started.dataDir, '-m', 'fast', '-w', 'stop']), { spawnOptions: as, timeoutMs: 120_000 });
}

/** The configured database's connection, moved to the restored cluster. */
export function restoredTarget(target: DatabaseTarget, port: number): DatabaseTarget {
  const url = new URL(target.redacted);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { ...target, host: '127.0.0.1', port, redacted: url.toString(), client: { ...target.client, host: '127.0.0.1', port } };
}

/** Waits until the restored cluster has finished recovery and accepts connections; the signal stops the wait. */
export async function waitForRecovery(target: DatabaseTarget, code: ErrorCode, operation: string, signal?: AbortSignal, timeoutMs = 3_600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (let delay = 50; Date.now() < deadline && !signal?.aborted; delay = Math.min(delay * 2, 1000)) {
    const client: pg.Client = newClient(target);
    try {
      await client.connect();
      const { rows: [row] } = await client.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
      if (!row.recovery) return;
      last = 'still in recovery';
    } catch (err) {
      last = describeCause(err);
    } finally {
      await closeConnection(client);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
  if (signal?.aborted) return;
  throw new TidemarkError(code, 'the restored cluster did not finish recovery', { operation, cause: last });
}
