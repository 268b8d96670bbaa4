/** What the running server says: where its data is, how it archives, and how far archiving got. */
import type pg from 'pg';
import type { DatabaseTarget } from '../connection-string.js';
import { closeConnection } from '../connection-close.js';
import { connect } from '../db/connect.js';
import { TidemarkError } from '../errors.js';
import { describePgError } from '../pg-errors.js';

export interface ServerFacts {
  version: string;
  versionNum: number;
  superuser: boolean;
  /** Undefined when the role may not read it (neither superuser nor pg_read_all_settings). */
  dataDir?: string;
  port: number;
  /** The first of unix_socket_directories, if any. */
  socketDir?: string;
  archiveMode: string;
  archiveCommand: string;
  inRecovery: boolean;
}

export async function withServer<T>(target: DatabaseTarget, operation: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(target, { operation });
  try {
    return await fn(client);
  } finally {
    await closeConnection(client);
  }
}

async function setting(client: pg.Client, name: string): Promise<string | undefined> {
  try {
    return (await client.query<{ value: string }>('SELECT current_setting($1) AS value', [name])).rows[0].value;
  } catch {
    return undefined; // not allowed to read it
  }
}

export async function readServerFacts(client: pg.Client): Promise<ServerFacts> {
  const { rows: [row] } = await client.query<{ version: string; num: number; superuser: boolean; recovery: boolean }>(
    `SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS num,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser, pg_is_in_recovery() AS recovery`);
  const sockets = (await setting(client, 'unix_socket_directories')) ?? '';
  return {
    version: row.version, versionNum: row.num, superuser: row.superuser, inRecovery: row.recovery,
    dataDir: await setting(client, 'data_directory'),
    port: Number(await setting(client, 'port')),
    socketDir: sockets.split(',').map((s) => s.trim()).find((s) => s.startsWith('/')),
    archiveMode: (await setting(client, 'archive_mode')) ?? 'off',
    archiveCommand: (await setting(client, 'archive_command')) ?? '',
  };
}

/**
 * Sets archive_mode and archive_command through ALTER SYSTEM and reloads; the
 * command takes effect on reload, archive_mode only at the next restart.
 * Waits (a few seconds at most) until this session sees the new command, so
 * that what runs next (pgbackrest check) meets it.
 */
export async function applyArchiveSettings(client: pg.Client, command: string, operation: string, archiving: boolean): Promise<void> {
  try {
    await client.query(`ALTER SYSTEM SET archive_mode = 'on'`);
    await client.query(`ALTER SYSTEM SET archive_command = ${client.escapeLiteral(command)}`);
    await client.query('SELECT pg_reload_conf()');
  } catch (err) {
    throw new TidemarkError('PITR_INIT_FAILED', 'cannot set the archive settings', {
      operation, cause: describePgError(err), hint: 'connect as a superuser, or set archive_mode and archive_command in postgresql.conf yourself',
    }, { cause: err });
  }
  // With archive_mode off the server shows the command as "(disabled)" until it restarts: nothing to wait for.
  for (let tries = 0; archiving && tries < 50; tries++) {
    if ((await setting(client, 'archive_command')) === command) return;
    await new Promise((resolve) => setTimeout(resolve, 100)); // the reload reaches this session between statements
  }
}

/** pg_stat_archiver, and the WAL segments that wait to be archived. */
export interface ArchiverStatus {
  archiveMode: string;
  archiveCommand: string;
  lastArchivedWal?: string;
  lastArchivedAt?: string;
  lastFailedWal?: string;
  lastFailedAt?: string;
  failedCount: number;
  /** Segments finished and not yet archived (`.ready` files); undefined when the role may not list them. */
  waiting?: number;
  /** When the oldest of them was finished. */
  oldestWaitingAt?: string;
  now: string;
}

const iso = (value: Date | null) => (value ? value.toISOString() : undefined);

export async function readArchiverStatus(client: pg.Client): Promise<ArchiverStatus> {
  const { rows: [a] } = await client.query<{ last_archived_wal: string | null; last_archived_time: Date | null; last_failed_wal: string | null; last_failed_time: Date | null; failed_count: string; now: Date }>(
    'SELECT last_archived_wal, last_archived_time, last_failed_wal, last_failed_time, failed_count, now() FROM pg_stat_archiver');
  let waiting: number | undefined;
  let oldestWaitingAt: string | undefined;
  try {
    const { rows: [r] } = await client.query<{ n: number; oldest: Date | null }>(
      `SELECT count(*)::int AS n, min(modification) AS oldest FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'`);
    waiting = r.n;
    oldestWaitingAt = iso(r.oldest);
  } catch {
    // Listing pg_wal/archive_status needs a superuser or pg_monitor: the failure times still tell.
  }
  return {
    archiveMode: (await setting(client, 'archive_mode')) ?? 'off', archiveCommand: (await setting(client, 'archive_command')) ?? '',
    lastArchivedWal: a.last_archived_wal ?? undefined, lastArchivedAt: iso(a.last_archived_time), lastFailedWal: a.last_failed_wal ?? undefined,
    lastFailedAt: iso(a.last_failed_time), failedCount: Number(a.failed_count), waiting, oldestWaitingAt, now: a.now.toISOString(),
  };
}
