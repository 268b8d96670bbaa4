import { hostname } from 'node:os';
import pg from 'pg';
import type { TableName } from '../../config.js';
import { migrationsSchema } from '../../db/schema.js';

const { escapeIdentifier } = pg;

/** The version table and its history table, with their names resolved and quoted. */
export interface StateTables {
  schema: string;
  table: string;
  historyTable: string;
  /** This machine's name, for the history rows it writes (asked once: a system call per row shows in a run of thousands). */
  clientHost: string;
  /** Quoted, schema-qualified names, ready for SQL. */
  version: string;
  history: string;
}

export function stateTables(schema: string, table: string): StateTables {
  const historyTable = `${table}_history`;
  return {
    schema,
    table,
    historyTable,
    clientHost: hostname(),
    version: `${escapeIdentifier(schema)}.${escapeIdentifier(table)}`,
    history: `${escapeIdentifier(schema)}.${escapeIdentifier(historyTable)}`,
  };
}

/** The version and history tables, resolved for this connection; undefined without a schema. */
export async function resolveStateTables(client: pg.ClientBase, table: TableName): Promise<StateTables | undefined> {
  const schema = await migrationsSchema(client, table);
  return schema === undefined ? undefined : stateTables(schema, table.table);
}

/** Exactly golang-migrate's table. */
export function createVersionTableSql(t: StateTables): string {
  return `CREATE TABLE IF NOT EXISTS ${t.version} (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)`;
}

export function createHistoryTableSql(t: StateTables): string {
  return `CREATE TABLE IF NOT EXISTS ${t.history} (
  id bigserial PRIMARY KEY,
  version bigint NOT NULL,
  name text NOT NULL DEFAULT '',
  direction text NOT NULL CHECK (direction IN ('up', 'down', 'force', 'bootstrap', 'adopt')),
  from_version bigint,
  to_version bigint,
  checksum text,
  mode text,
  started_at timestamptz NOT NULL DEFAULT now(),
  duration_ms double precision,
  applied_by text NOT NULL DEFAULT current_user,
  client_host text,
  application text DEFAULT current_setting('application_name'),
  tool text
)`;
}

/**
 * Rewrites the single version row. golang-migrate truncates and inserts; a
 * DELETE leaves readers the same single row and, unlike TRUNCATE, does not
 * create a new relation file in every migration's transaction.
 * `null` means no version; `dirty` with no version is golang-migrate's -1 row.
 */
export function setVersionSql(t: StateTables, version: bigint | null, dirty: boolean): string {
  const insert = version !== null ? `INSERT INTO ${t.version} (version, dirty) VALUES (${version}, ${dirty})`
    : dirty ? `INSERT INTO ${t.version} (version, dirty) VALUES (-1, true)` : '';
  return [`DELETE FROM ${t.version}`, insert].filter(Boolean).join(';\n');
}
