import { classify, type Classification } from './classify.js';
import { createHistoryTableSql, createVersionTableSql } from '../state/tables.js';
import { insertHistorySql, readHistory, type HistoryRow } from '../state/history.js';
import { readVersionState, type VersionState } from '../state/version.js';
import type { Session } from './session.js';
import { TidemarkError } from '../errors.js';
import { describePgError } from '../pg-errors.js';

export interface LoadedState {
  state: VersionState;
  history: HistoryRow[];
  classification: Classification;
}

export async function loadState(session: Session): Promise<LoadedState> {
  let state: VersionState;
  let history: HistoryRow[];
  try {
    state = await readVersionState(session.client, session.tables);
    history = state.historyTableExists ? await readHistory(session.client, session.tables) : [];
  } catch (err) {
    throw new TidemarkError('MIGRATION_VERSION_FAILED', 'cannot read the migration state', {
      operation: `read ${session.tables.schema}.${session.tables.table} and its history`,
      cause: describePgError(err),
      hint: `${session.tables.table} must be golang-migrate's table (version bigint, dirty boolean); point --table / MIGRATIONS_TABLE elsewhere if this one belongs to something else`,
    }, { cause: err });
  }
  return { state, history, classification: classify(session.source.migrations, state, history) };
}

/**
 * Creates the tables if needed and records a version change made outside
 * tidemark (golang-migrate, or a first take-over) as an `adopt` row, so that
 * later reports can tell it from a migration merged out of order.
 */
export async function prepareForWrite(session: Session, loaded: LoadedState): Promise<LoadedState> {
  const { state, classification } = loaded;
  const statements: string[] = [];
  if (!state.versionTableExists) statements.push(createVersionTableSql(session.tables));
  if (!state.historyTableExists) statements.push(createHistoryTableSql(session.tables));
  const change = classification.externalChange;
  if (change) {
    statements.push(insertHistorySql(session.tables, { version: change.to ?? -1n, name: '', direction: 'adopt', fromVersion: change.from, toVersion: change.to }));
  }
  if (!statements.length) return loaded;
  try {
    await session.client.query(`BEGIN;\n${statements.join(';\n')};\nCOMMIT;`);
  } catch (err) {
    await session.client.query('ROLLBACK').catch(() => undefined);
    throw new TidemarkError('MIGRATION_INIT_FAILED', 'cannot create the migration tables', {
      operation: `create ${session.tables.schema}.${session.tables.table} and ${session.tables.historyTable}`,
      cause: describePgError(err),
      hint: 'the database user needs CREATE on the schema (or create the tables once as an owner)',
    }, { cause: err });
  }
  return loadState(session);
}
