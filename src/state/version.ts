import type pg from 'pg';
import type { StateTables } from './tables.js';

export interface VersionState {
  versionTableExists: boolean;
  historyTableExists: boolean;
  /** null: no version recorded (golang-migrate's NilVersion). */
  version: bigint | null;
  dirty: boolean;
}

export async function readVersionState(client: pg.Client, t: StateTables): Promise<VersionState> {
  const { rows } = await client.query({
    text: 'SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL',
    values: [t.version, t.history],
    rowMode: 'array',
  });
  const [versionTableExists, historyTableExists] = rows[0] as [boolean, boolean];
  if (!versionTableExists) return { versionTableExists, historyTableExists, version: null, dirty: false };
  const result = await client.query({ text: `SELECT version, dirty FROM ${t.version} LIMIT 1`, rowMode: 'array' });
  if (!result.rows.length) return { versionTableExists, historyTableExists, version: null, dirty: false };
  const version = BigInt(result.rows[0][0]);
  return { versionTableExists, historyTableExists, version: version < 0n ? null : version, dirty: result.rows[0][1] };
}
