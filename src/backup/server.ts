import { closeConnection } from '../connection-close.js';
import pg from 'pg';
import type { TableName } from '../config.js';
import type { DatabaseTarget } from '../connection-string.js';
import { TidemarkError } from '../errors.js';
import { connect, isConnectionLost } from '../db/connect.js';
import { describePgError } from '../pg-errors.js';
import { connectionArgs, prepareTool, type ToolHost } from '../pgtools/exec.js';
import { maskedStderr, runTool } from '../pgtools/run.js';

const FIELD = '\x1f';

/**
 * Runs one SQL statement against the server and returns its rows as text:
 * through pg when the server is reachable from here, through psql inside the
 * container otherwise (the port need not be exposed).
 */
export async function querySql(target: DatabaseTarget, host: ToolHost, sql: string, database = target.database, operation = 'query the server'): Promise<string[][]> {
  if (host.kind === 'local') return queryLocal(target, sql, database, operation);
  const cmd = await prepareTool('psql', [...connectionArgs(target, host), '-X', '-A', '-t', '-q', '-F', FIELD, '-v', 'ON_ERROR_STOP=1', '-d', database, '-c', sql], target, host);
  const result = await runTool(cmd);
  const said = maskedStderr(result, target.password);
  // psql exits 2 when it cannot reach the server (or loses it): the server is not there, whatever the query.
  if (result.code === 2) {
    throw new TidemarkError('DB_CONNECT_FAILED', 'cannot connect to the database', { operation: `${operation}: connect to ${target.redacted}`, cause: said });
  }
  if (result.code !== 0) {
    throw new TidemarkError('MIGRATION_INIT_FAILED', 'cannot query the server', { operation, cause: said || `psql exited with ${result.code}` });
  }
  return result.stdout.split('\n').filter((line) => line.length).map((line) => line.split(FIELD));
}

async function queryLocal(target: DatabaseTarget, sql: string, database: string, operation: string): Promise<string[][]> {
  const client = await connect(target, { operation, database, hint: 'check DATABASE_URL and that the server is running' });
  try {
    const result = await client.query({ text: sql, rowMode: 'array' });
    return result.rows.map((row: unknown[]) => row.map((v) => (v === null ? '' : String(v))));
  } catch (err) {
    // A failed statement stays as PostgreSQL reported it, for the caller to judge; a dead connection is coded here.
    if (!isConnectionLost(err)) throw err;
    throw new TidemarkError('CONNECTION_LOST', 'the connection to the server was lost', { operation, cause: describePgError(err) }, { cause: err });
  } finally {
    await closeConnection(client);
  }
}

export interface ServerFacts {
  version: string;
  major: number;
  /** schema_migrations at this moment, if the table exists. */
  schemaVersion: { version: string | null; dirty: boolean } | null;
  /** The database's encoding, collation and character classification: a copy must be made with the same. */
  encoding: string;
  collate: string;
  ctype: string;
}

/** The table without a schema is found through search_path, as the migrations found it in current_schema(). */
export async function readServerFacts(target: DatabaseTarget, host: ToolHost, migrationsTable: TableName): Promise<ServerFacts> {
  const quoted = [migrationsTable.schema, migrationsTable.table].filter((p) => p !== undefined).map((p) => pg.escapeIdentifier(p)).join('.');
  const [[num, version, exists, encoding, collate, ctype]] = await querySql(target, host,
    `SELECT current_setting('server_version_num'), current_setting('server_version'), to_regclass(${pg.escapeLiteral(quoted)}) IS NOT NULL,
       pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database WHERE datname = current_database()`, undefined, 'read the server version');
  let schemaVersion: ServerFacts['schemaVersion'] = null;
  if (exists === 't' || exists === 'true') {
    const rows = await querySql(target, host, `SELECT version, dirty FROM ${quoted} LIMIT 1`, undefined, 'read the schema version');
    schemaVersion = rows.length ? { version: Number(rows[0][0]) < 0 ? null : rows[0][0], dirty: rows[0][1] === 't' || rows[0][1] === 'true' } : { version: null, dirty: false };
  }
  return { version: version.split(' ')[0], major: Math.floor(Number(num) / 10000), schemaVersion, encoding, collate, ctype };
}
