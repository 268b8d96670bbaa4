import { closeConnection } from '../connection-close.js';
import type pg from 'pg';
import type { Settings } from '../config.js';
import { TidemarkError } from '../errors.js';
import { describePgError, isPgError } from '../pg-errors.js';
import { connectClient } from '../runner/session.js';
import { SqlSyntaxError, splitStatements } from '../sql/split.js';

export interface QueryColumn {
  name: string;
  /** The PostgreSQL type's OID. */
  typeId: number;
  /** A number type: right-aligned in a table. */
  numeric: boolean;
}

export interface QueryResult {
  /** SELECT, INSERT, UPDATE... */
  command: string;
  rowCount: number | null;
  columns: QueryColumn[];
  /** Every value as PostgreSQL's own text, as psql shows it; null for NULL. */
  rows: (string | null)[][];
  readOnly: boolean;
}

export interface QueryOptions {
  /** Run outside a read-only transaction, so that the statement may change data. */
  write?: boolean;
}

const NUMERIC_TYPES = new Set([20, 21, 23, 26, 700, 701, 790, 1700]);
// Values that fit a JSON number without losing digits; int8 and numeric stay text.
const JSON_NUMBER_TYPES = new Set([21, 23, 26, 700, 701]);
const BOOL = 16;
const JSON_TYPES = new Set([114, 3802]);
const AS_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

async function requireOneStatement(sql: string): Promise<void> {
  let count: number;
  try {
    count = (await splitStatements(sql)).length;
  } catch (err) {
    // A syntax error: the server reports it, with its position, before running anything.
    if (err instanceof SqlSyntaxError) return;
    throw err;
  }
  if (count === 1) return;
  throw new TidemarkError('INVALID_ARGUMENT', 'invalid arguments', {
    operation: 'read the SQL',
    cause: count === 0 ? 'no SQL statement given' : `${count} statements given; db:query runs exactly one`,
    hint: count === 0 ? 'task db:query -- "SELECT count(*) FROM users"' : 'run them one at a time, or use task db:psql',
  });
}

function queryError(err: unknown, sql: string, readOnly: boolean): TidemarkError {
  const cause = describePgError(err, { sql });
  if (readOnly && isPgError(err) && err.code === '25006') {
    return new TidemarkError('QUERY_READ_ONLY', 'the statement writes, and queries are read-only', {
      operation: 'run the query in a read-only transaction', cause,
      hint: 'nothing was changed; if the change is intended, run it again with --write',
    }, { cause: err });
  }
  return new TidemarkError('QUERY_FAILED', 'the query failed', {
    operation: readOnly ? 'run the query in a read-only transaction' : 'run the query (--write)', cause,
    hint: 'nothing was changed: the statement failed as a whole',
  }, { cause: err });
}

/** Runs one statement, read-only unless `write` (`task db:query`). */
export async function runQuery(settings: Settings, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
  await requireOneStatement(sql);
  const readOnly = !options.write;
  const client = await connectClient(settings, 'run a query');
  try {
    if (readOnly) await client.query('BEGIN READ ONLY');
    const result = await client.query({ text: sql, rowMode: 'array', types: AS_TEXT });
    if (readOnly) await client.query('ROLLBACK');
    return {
      command: result.command,
      rowCount: result.rowCount,
      columns: (result.fields ?? []).map((f) => ({ name: f.name, typeId: f.dataTypeID, numeric: NUMERIC_TYPES.has(f.dataTypeID) })),
      rows: result.rows as (string | null)[][],
      readOnly,
    };
  } catch (err) {
    throw queryError(err, sql, readOnly);
  } finally {
    await closeConnection(client);
  }
}

/** A value for JSON output: booleans, small numbers and json as themselves, the rest as text. */
export function jsonValue(text: string | null, typeId: number): unknown {
  if (text === null) return null;
  if (typeId === BOOL) return text === 't';
  if (JSON_NUMBER_TYPES.has(typeId) && Number.isFinite(Number(text))) return Number(text);
  if (JSON_TYPES.has(typeId)) return JSON.parse(text);
  return text;
}

/** Rows as objects keyed by column name; a repeated name gets a suffix (`?column?`, `?column?_2`). */
export function rowObjects(result: QueryResult): Record<string, unknown>[] {
  const seen = new Map<string, number>();
  const keys = result.columns.map((c) => {
    const n = (seen.get(c.name) ?? 0) + 1;
    seen.set(c.name, n);
    return n === 1 ? c.name : `${c.name}_${n}`;
  });
  return result.rows.map((row) => Object.fromEntries(row.map((value, i) => [keys[i], jsonValue(value, result.columns[i].typeId)])));
}
