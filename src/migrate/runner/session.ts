import { closeConnection } from '../../connection-close.js';
import type pg from 'pg';
import { connect, isConnectionLost } from '../../db/connect.js';
import { describePgError } from '../../pg-errors.js';
import type { Settings } from '../../config.js';
import { TidemarkError, abortSignalName, interruptedError } from '../../errors.js';
import { readAhead, readMigrationDir, type MigrationSet, type MigrationScript } from '../source/index.js';
import { migrationLockKeys } from '../state/lock-key.js';
import { acquireLocks, releaseLocks, type LockHolder } from '../state/lock.js';
import { noSchemaError } from '../../db/schema.js';
import { stateTables, type StateTables } from '../state/tables.js';

/** One connection with its resolved tables and lock keys; the unit every migration command works in. */
export interface Session {
  settings: Settings;
  client: pg.Client;
  tables: StateTables;
  source: MigrationSet;
}

export interface SessionOptions {
  /** Migrations from elsewhere than the configured directory. */
  source?: MigrationSet;
  /** Hold the migration lock for the whole session. */
  lock?: boolean;
  /** What the command does, for messages. */
  operation: string;
  onLockWait?: (holder: LockHolder | undefined) => void;
  /** The command will read every up file (checksums, modes): start reading them while the connection is set up. */
  readUpFiles?: boolean;
  /** Aborting before the work starts (while connecting or waiting for the lock) ends the session with nothing changed. */
  signal?: AbortSignal;
}

export async function connectClient(settings: Settings, operation: string): Promise<pg.Client> {
  return connect(settings.database, { operation });
}

/** The table's schema (current_schema() unless configured) and the database, in one round trip. */
async function resolveTables(client: pg.Client, settings: Settings): Promise<{ tables: StateTables; database: string }> {
  const { table } = settings.migrations;
  const { rows } = await client.query({ text: 'SELECT current_database(), current_schema()', rowMode: 'array' });
  const schema = table.schema ?? (rows[0][1] as string | null) ?? undefined;
  if (schema === undefined) throw noSchemaError('MIGRATION_INIT_FAILED', 'the migrations table', 'resolve the migrations table');
  return { tables: stateTables(schema, table.table), database: rows[0][0] as string };
}

/** A connection attempt that an interrupt abandons: nothing has been changed yet. */
async function untilAborted(connecting: Promise<pg.Client>, options: SessionOptions): Promise<pg.Client> {
  const { signal } = options;
  if (!signal) return connecting;
  const stopped = () => interruptedError(abortSignalName(signal), options.operation, 'nothing was changed: the run stopped while connecting');
  let onAbort = () => undefined as void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(stopped());
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([connecting, aborted]);
  } catch (err) {
    connecting.then(closeConnection, () => undefined);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** A connection that died between statements (not under a migration, which says more) is still a coded error. */
function asCodedLoss(err: unknown, operation: string): unknown {
  if (err instanceof TidemarkError || !isConnectionLost(err)) return err;
  return new TidemarkError('CONNECTION_LOST', 'the connection to the server was lost', {
    operation, cause: describePgError(err), hint: 'nothing was being written when it was lost; run the command again once the server is back',
  }, { cause: err });
}

export async function withSession<T>(settings: Settings, options: SessionOptions, fn: (session: Session) => Promise<T>): Promise<T> {
  // The connection is started first: while the server forks a backend and
  // authenticates, the directory is listed and files are read.
  const connecting = connectClient(settings, options.operation);
  let source: MigrationSet;
  try {
    source = options.source ?? (await readMigrationDir(settings.migrations.dir));
  } catch (err) {
    connecting.then((client) => client.end()).catch(() => undefined);
    throw err;
  }
  let done = false;
  if (options.readUpFiles) {
    const scripts = source.migrations.map((m) => m.up).filter((s): s is MigrationScript => s !== undefined);
    void readAhead(scripts, () => done);
  }
  let client: pg.Client;
  try {
    client = await untilAborted(connecting, options);
  } catch (err) {
    done = true;
    throw err;
  }
  let keys: bigint[] = [];
  try {
    const { tables, database } = await resolveTables(client, settings);
    if (options.lock) {
      const lockKeys = migrationLockKeys(settings.database.urlPath, database, tables.schema, tables.table);
      const lockOptions = { timeoutMs: settings.lockTimeoutMs, operation: `${options.operation}: take the migration lock`, onWait: options.onLockWait, signal: options.signal };
      await acquireLocks(client, lockKeys, lockOptions);
      keys = lockKeys;
    }
    return await fn({ settings, client, tables, source });
  } catch (err) {
    throw asCodedLoss(err, options.operation);
  } finally {
    done = true;
    await releaseLocks(client, keys).catch(() => undefined);
    // The work is done (or has failed with its own error); a failing close changes neither.
    await closeConnection(client);
  }
}
