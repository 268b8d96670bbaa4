import type pg from 'pg';
import type { Settings } from '../config.js';
import { TidemarkError } from '../errors.js';
import { describePgError } from '../pg-errors.js';
import { withClient } from '../db/scoped.js';
import { readVersionState } from '../migrate/state/version.js';
import { resolveStateTables } from '../migrate/state/tables.js';

export interface TableStats {
  schema: string;
  name: string;
  /** pg_stat_user_tables.n_live_tup: the statistics' estimate, not a count. */
  liveRows: number;
  /** Table, indexes and TOAST (pg_total_relation_size). */
  totalBytes: number;
  lastVacuum: Date | null;
  lastAutovacuum: Date | null;
  lastAnalyze: Date | null;
  lastAutoanalyze: Date | null;
}

export interface StatsReport {
  database: string;
  databaseBytes: number;
  tableCount: number;
  version: bigint | null;
  dirty: boolean;
  /** The largest tables first. */
  tables: TableStats[];
}

export const DEFAULT_STATS_LIMIT = 10;

async function largestTables(client: pg.Client, limit: number): Promise<TableStats[]> {
  const { rows } = await client.query({
    text: `SELECT schemaname, relname, n_live_tup, pg_total_relation_size(relid) AS size,
                  last_vacuum, last_autovacuum, last_analyze, last_autoanalyze
             FROM pg_stat_user_tables
            ORDER BY size DESC, schemaname, relname
            LIMIT $1`,
    values: [limit],
    rowMode: 'array',
  });
  return rows.map(([schema, name, liveRows, size, lastVacuum, lastAutovacuum, lastAnalyze, lastAutoanalyze]) => ({
    schema, name, liveRows: Number(liveRows), totalBytes: Number(size), lastVacuum, lastAutovacuum, lastAnalyze, lastAutoanalyze,
  }));
}

/** The largest tables with their row estimates, sizes and upkeep, and the migration version (`task db:stats`). */
export async function databaseStats(settings: Settings, options: { limit?: number } = {}): Promise<StatsReport> {
  const operation = 'read database statistics';
  return withClient(settings.database, { operation }, async (client) => {
    try {
      const { rows } = await client.query({
        text: 'SELECT pg_database_size(current_database()), (SELECT count(*) FROM pg_stat_user_tables)',
        rowMode: 'array',
      });
      const [databaseBytes, tableCount] = rows[0];
      const tables = await resolveStateTables(client, settings.migrations.table);
      const state = tables ? await readVersionState(client, tables) : { version: null, dirty: false };
      return {
        database: settings.database.redacted,
        databaseBytes: Number(databaseBytes),
        tableCount: Number(tableCount),
        version: state.version,
        dirty: state.dirty,
        tables: await largestTables(client, options.limit ?? DEFAULT_STATS_LIMIT),
      };
    } catch (err) {
      throw new TidemarkError('QUERY_FAILED', 'cannot read the statistics', { operation, cause: describePgError(err) }, { cause: err });
    }
  });
}
