import { classify, type Classification } from './classify.js';
import { createHistoryTableSql, createVersionTableSql } from '../state/tables.js';
import { historyRecordsSql, historyRowsSql, insertHistorySql, parseHistoryRecords, parseHistoryRows, readHistory, type HistoryRecord, type HistoryRow } from '../state/history.js';
import { findStateTables, versionRowSql, versionStateFrom, type VersionState } from '../state/version.js';
import type { Session } from './session.js';
import { TidemarkError } from '../errors.js';
import { describePgError } from '../pg-errors.js';

export interface LoadedState<R extends HistoryRecord = HistoryRecord> {
  state: VersionState;
  history: R[];
  classification: Classification<R>;
}

interface HistoryReading<R extends HistoryRecord> {
  sql: (session: Session) => string;
  /** Undefined: read the whole rows instead. */
  parse: (value: string | null) => R[] | undefined;
}

const RECORDS: HistoryReading<HistoryRecord> = { sql: (s) => historyRecordsSql(s.tables), parse: parseHistoryRecords };
const ROWS: HistoryReading<HistoryRow> = { sql: (s) => historyRowsSql(s.tables), parse: (value) => parseHistoryRows(value!) };

/** The version row and the history travel in one round trip, once the tables are known to exist. */
async function readState<R extends HistoryRecord>(session: Session, reading: HistoryReading<R>): Promise<{ state: VersionState; history: R[] }> {
  const { client, tables } = session;
  const present = await findStateTables(client, tables);
  const statements = [...(present.versionTableExists ? [versionRowSql(tables)] : []), ...(present.historyTableExists ? [reading.sql(session)] : [])];
  if (!statements.length) return { state: versionStateFrom(present, undefined), history: [] };
  const result = await client.query({ text: statements.join(';\n'), rowMode: 'array' });
  const results = Array.isArray(result) ? result : [result];
  const state = versionStateFrom(present, present.versionTableExists ? results[0].rows[0] : undefined);
  if (!present.historyTableExists) return { state, history: [] };
  const history = reading.parse(results[results.length - 1].rows[0][0]) ?? ((await readHistory(client, tables)) as unknown as R[]);
  return { state, history };
}

async function load<R extends HistoryRecord>(session: Session, reading: HistoryReading<R>): Promise<LoadedState<R>> {
  let read: { state: VersionState; history: R[] };
  try {
    read = await readState(session, reading);
  } catch (err) {
    throw new TidemarkError('MIGRATION_VERSION_FAILED', 'cannot read the migration state', {
      operation: `read ${session.tables.schema}.${session.tables.table} and its history`,
      cause: describePgError(err),
      hint: `${session.tables.table} must be golang-migrate's table (version bigint, dirty boolean); point --table / MIGRATIONS_TABLE elsewhere if this one belongs to something else`,
    }, { cause: err });
  }
  return { ...read, classification: classify(session.source.migrations, read.state, read.history) };
}

/** Version, history (what classification needs of it) and the classification of every migration. */
export function loadState(session: Session): Promise<LoadedState> {
  return load(session, RECORDS);
}

/** As loadState, with every column of the history (`migrate:history`). */
export function loadFullState(session: Session): Promise<LoadedState<HistoryRow>> {
  return load(session, ROWS);
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
