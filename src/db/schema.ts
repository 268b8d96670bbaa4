/**
 * Where the migrations table lives: the schema named in the configuration,
 * else the connection's current_schema(), as golang-migrate resolves it. The
 * backfill tables live beside it. Resolved here only, for every command.
 */
import type pg from 'pg';
import { TidemarkError, type ErrorCode } from '../errors.js';

/** The migrations table as configured. */
export interface TableName {
  /** undefined: the connection's current_schema(), as golang-migrate does. */
  schema?: string;
  table: string;
}

/** The schema, or undefined when none is configured and search_path names no existing schema. */
export async function migrationsSchema(client: pg.ClientBase, table: TableName): Promise<string | undefined> {
  if (table.schema !== undefined) return table.schema;
  const { rows } = await client.query({ text: 'SELECT current_schema()', rowMode: 'array' });
  return (rows[0][0] as string | null) ?? undefined;
}

/** The error of a command that cannot go on without the schema. */
export function noSchemaError(code: ErrorCode, what: string, operation: string): TidemarkError {
  return new TidemarkError(code, `no schema for ${what}`, {
    operation,
    cause: 'current_schema() is empty: search_path names no existing schema',
    hint: 'fix search_path, or name the schema: MIGRATIONS_TABLE=schema.schema_migrations',
  });
}
