/**
 * `db:schema` and `db:diff`: the fingerprint of a configured database, and
 * the differences between two databases' schemas, read in read-only
 * transactions.
 */
import type pg from 'pg';
import type { Settings, TableName } from '../config.js';
import type { DatabaseTarget } from '../connection-string.js';
import { withClient } from '../db/scoped.js';
import { resolveStateTables } from '../migrate/state/tables.js';
import { compareSchemas, describeChange, type SchemaChange } from './diff.js';
import { readFingerprint, type SchemaFingerprint } from './fingerprint.js';

export interface SchemaReadOptions {
  /** Compare object owners too. */
  owners?: boolean;
}

/** The migration tables are tidemark's, not the schema's: they are left out. */
async function fingerprintIn(client: pg.Client, table: TableName, options: SchemaReadOptions): Promise<SchemaFingerprint> {
  await client.query('BEGIN TRANSACTION READ ONLY');
  try {
    const tables = await resolveStateTables(client, table);
    return await readFingerprint(client, { owners: options.owners, exclude: tables ? [tables.version, tables.history] : [] });
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

export function readTargetSchema(target: DatabaseTarget, table: TableName, options: SchemaReadOptions = {}): Promise<SchemaFingerprint> {
  return withClient(target, { operation: 'read the schema' }, (client) => fingerprintIn(client, table, options));
}

/** The fingerprint of the configured database. */
export function readSchema(settings: Settings, options: SchemaReadOptions = {}): Promise<SchemaFingerprint> {
  return readTargetSchema(settings.database, settings.migrations.table, options);
}

export interface SchemaDiffReport {
  same: boolean;
  a: { database: string; sha256: string };
  b: { database: string; sha256: string };
  /** What is in B and not in A is "added". */
  changes: SchemaChange[];
  differences: string[];
}

/** Compares the schemas of two databases (the migration tables of `table` left out of both). */
export async function diffSchemas(a: DatabaseTarget, b: DatabaseTarget, table: TableName, options: SchemaReadOptions = {}): Promise<SchemaDiffReport> {
  const [left, right] = await Promise.all([readTargetSchema(a, table, options), readTargetSchema(b, table, options)]);
  const changes = compareSchemas(left.objects, right.objects);
  const labels = { before: 'in A', after: 'in B' };
  return {
    same: left.sha256 === right.sha256,
    a: { database: a.redacted, sha256: left.sha256 },
    b: { database: b.redacted, sha256: right.sha256 },
    changes,
    differences: changes.flatMap((c) => describeChange(c, labels)),
  };
}
