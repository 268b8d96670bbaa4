/**
 * Where a fleet's targets come from: a targets file, or a query run against
 * DATABASE_URL in a read-only transaction.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { SettingsWithoutDatabase } from '../config.js';
import { withClient, withTransaction } from '../db/scoped.js';
import { TidemarkError } from '../errors.js';
import { describePgError } from '../pg-errors.js';
import { parseTargetsText, targetsError, targetsFromRows, type TargetList } from './targets.js';

export type TargetSource = { file: string } | { sql: string };

/** Reads a targets file (relative to the settings' cwd). */
export async function readTargetsFile(settings: SettingsWithoutDatabase, file: string): Promise<TargetList> {
  let text: string;
  try {
    text = await readFile(path.resolve(settings.cwd, file), 'utf8');
  } catch (err) {
    throw targetsError(`read ${file}`, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (err as Error).message, 'check the path given to --targets');
  }
  return parseTargetsText(text, settings.env, file);
}

function queryError(cause: string, hint?: string, err?: unknown): TidemarkError {
  return new TidemarkError('FLEET_TARGETS_QUERY_FAILED', 'cannot list the fleet targets', {
    operation: 'run --targets-sql against DATABASE_URL', cause, hint,
  }, { cause: err });
}

/** The targets the query returns: a `url` column, or a `schema` column (schemas of DATABASE_URL's database). */
export async function queryTargets(settings: SettingsWithoutDatabase, sql: string): Promise<TargetList> {
  const database = settings.database;
  if (!database) throw targetsError('read --targets-sql', 'DATABASE_URL is not set: the query runs against it', 'set DATABASE_URL, or give --targets FILE');
  const result = await withClient(database, { operation: 'list the fleet targets' }, (client) =>
    withTransaction(client, async () => {
      await client.query('SET TRANSACTION READ ONLY');
      return client.query({ text: sql, rowMode: 'array' });
    })).catch((err) => {
    if (err instanceof TidemarkError) throw err;
    throw queryError(describePgError(err), 'the query must be one read-only SELECT returning a url or a schema column', err);
  });
  const names = result.fields.map((f) => f.name.toLowerCase());
  const column = names.includes('url') ? 'url' : names.includes('schema') ? 'schema' : undefined;
  if (!column) throw queryError(`the query returned the columns ${names.join(', ') || '(none)'}; none is named url or schema`, 'SELECT … AS url, or SELECT nspname AS schema FROM pg_namespace WHERE …');
  const at = names.indexOf(column);
  const values = result.rows.map((row: unknown[]) => row[at]).filter((v): v is string => typeof v === 'string' && v.trim() !== '').map((v) => v.trim());
  if (!values.length) throw queryError(`the query returned no ${column}`, 'check its WHERE clause');
  return targetsFromRows(column, values, database, settings.env);
}

export function loadTargets(settings: SettingsWithoutDatabase, source: TargetSource): Promise<TargetList> {
  return 'file' in source ? readTargetsFile(settings, source.file) : queryTargets(settings, source.sql);
}
