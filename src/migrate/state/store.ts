/**
 * The state store: the only code that writes the version table and its
 * history table, and the one that reads them for the runner. Keeping every
 * write here means the two tables cannot drift apart through a write path
 * that forgot one of them.
 */
import type pg from 'pg';
import { TidemarkError } from '../../errors.js';
import { describePgError } from '../../pg-errors.js';
import { isConnectionLost } from '../../db/connect.js';
import {
  historyRecordsSql, historyRowsSql, insertHistorySql, parseHistoryRecords, parseHistoryRows, readHistory,
  type ExecutionMode, type HistoryRecord, type HistoryRow,
} from './history.js';
import { createHistoryTableSql, createVersionTableSql, setVersionSql, type StateTables } from './tables.js';
import { findStateTables, versionRowSql, versionStateFrom, type TablesPresent, type VersionState } from './version.js';

/** Where the state lives: a connection and the resolved tables (a runner session is one). */
export interface StoreTarget {
  client: pg.Client;
  tables: StateTables;
}

export interface StoredState<R extends HistoryRecord = HistoryRecord> {
  state: VersionState;
  history: R[];
}

interface HistoryReading<R extends HistoryRecord> {
  sql: (tables: StateTables) => string;
  /** Undefined: read the whole rows instead. */
  parse: (value: string | null) => R[] | undefined;
}

const RECORDS: HistoryReading<HistoryRecord> = { sql: historyRecordsSql, parse: parseHistoryRecords };
const ROWS: HistoryReading<HistoryRow> = { sql: historyRowsSql, parse: (value) => parseHistoryRows(value!) };

/** The results of a query of several statements, as a list. */
const resultList = (result: pg.QueryResult | pg.QueryResult[]) => (Array.isArray(result) ? result : [result]);

/** The history from its one-field result; the slim read gives up on a row whose text holds a separator: then the whole rows are read. */
async function historyFrom<R extends HistoryRecord>(target: StoreTarget, reading: HistoryReading<R>, value: string | null): Promise<R[]> {
  return reading.parse(value) ?? ((await readHistory(target.client, target.tables)) as unknown as R[]);
}

/**
 * Where both tables exist (every run after the first), the version row and
 * the history are read in one round trip without asking first; undefined
 * when the read failed (a table is missing): then the tables are looked up.
 */
async function readExisting<R extends HistoryRecord>(target: StoreTarget, reading: HistoryReading<R>): Promise<StoredState<R> | undefined> {
  const { client, tables } = target;
  let results: pg.QueryResult[];
  try {
    results = resultList(await client.query({ text: `${versionRowSql(tables)};\n${reading.sql(tables)}`, rowMode: 'array' }));
  } catch (err) {
    if (isConnectionLost(err)) throw err;
    return undefined;
  }
  const present = { versionTableExists: true, historyTableExists: true };
  const state = versionStateFrom(present, results[0].rows[0]);
  return { state, history: await historyFrom(target, reading, results[1].rows[0][0]) };
}

/** The version row and the history travel in one round trip, once the tables are known to exist. */
async function readTables<R extends HistoryRecord>(target: StoreTarget, reading: HistoryReading<R>): Promise<StoredState<R>> {
  const existing = await readExisting(target, reading);
  if (existing) return existing;
  const { client, tables } = target;
  const present = await findStateTables(client, tables);
  const statements = [
    ...(present.versionTableExists ? [versionRowSql(tables)] : []),
    ...(present.historyTableExists ? [reading.sql(tables)] : []),
  ];
  if (!statements.length) return { state: versionStateFrom(present, undefined), history: [] };
  const results = resultList(await client.query({ text: statements.join(';\n'), rowMode: 'array' }));
  const state = versionStateFrom(present, present.versionTableExists ? results[0].rows[0] : undefined);
  if (!present.historyTableExists) return { state, history: [] };
  return { state, history: await historyFrom(target, reading, results[results.length - 1].rows[0][0]) };
}

async function readWith<R extends HistoryRecord>(target: StoreTarget, reading: HistoryReading<R>): Promise<StoredState<R>> {
  try {
    return await readTables(target, reading);
  } catch (err) {
    const { tables } = target;
    throw new TidemarkError('MIGRATION_VERSION_FAILED', 'cannot read the migration state', {
      operation: `read ${tables.schema}.${tables.table} and its history`,
      cause: describePgError(err),
      hint: `${tables.table} must be golang-migrate's table (version bigint, dirty boolean); `
        + 'point --table / MIGRATIONS_TABLE elsewhere if this one belongs to something else',
    }, { cause: err });
  }
}

/** The version row and what telling applied from pending needs of each history row. */
export function readState(target: StoreTarget): Promise<StoredState> {
  return readWith(target, RECORDS);
}

/** As readState, with every column of the history (`migrate:history`). */
export function readFullState(target: StoreTarget): Promise<StoredState<HistoryRow>> {
  return readWith(target, ROWS);
}

/** One transaction, one round trip. */
const inTransaction = (statements: string[]) => `BEGIN;\n${statements.join(';\n')};\nCOMMIT;`;

async function rollBack(target: StoreTarget): Promise<void> {
  await target.client.query('ROLLBACK').catch(() => undefined);
}

/** What the store records of a migration step (a runner's Step is one). */
export interface RecordedStep {
  direction: 'up' | 'down';
  version: bigint;
  name: string;
  fromVersion: bigint | null;
  toVersion: bigint | null;
  /** Applied below the current version: the version row stays where it is. */
  outOfOrder: boolean;
}

export interface StepOutcome {
  mode: ExecutionMode;
  checksum: string;
  /** Milliseconds, or 'transaction': measured by the server from the start of the enclosing transaction. */
  durationMs: number | 'transaction';
}

/**
 * The statements that record a step's version and history rows. Returned as
 * text, not run: the runner sends them in the same query as the migration,
 * so that a migration and its record commit together in one round trip.
 */
export function recordStepSql(tables: StateTables, step: RecordedStep, outcome: StepOutcome): string {
  const parts = step.outOfOrder ? [] : [setVersionSql(tables, step.toVersion, false)];
  parts.push(insertHistorySql(tables, {
    version: step.version, name: step.name, direction: step.direction, fromVersion: step.fromVersion, toVersion: step.toVersion, ...outcome,
  }));
  return parts.join(';\n');
}

/** golang-migrate's dirty flag, set before a migration that cannot run in a transaction. */
export async function markDirty(target: StoreTarget, version: bigint | null): Promise<void> {
  await target.client.query(inTransaction([setVersionSql(target.tables, version, true)]));
}

/**
 * Makes the store ready for a write: creates the tables that are missing and
 * records a version change made outside tidemark (golang-migrate, or a first
 * take-over) as an `adopt` row, so that later reports can tell it from a
 * migration merged out of order. Returns whether it wrote anything.
 */
export async function adopt(
  target: StoreTarget, present: TablesPresent, change?: { from: bigint | null; to: bigint | null },
): Promise<boolean> {
  const { tables } = target;
  const statements: string[] = [];
  if (!present.versionTableExists) statements.push(createVersionTableSql(tables));
  if (!present.historyTableExists) statements.push(createHistoryTableSql(tables));
  if (change) {
    statements.push(insertHistorySql(tables, { version: change.to ?? -1n, name: '', direction: 'adopt', fromVersion: change.from, toVersion: change.to }));
  }
  if (!statements.length) return false;
  try {
    await target.client.query(inTransaction(statements));
  } catch (err) {
    await rollBack(target);
    throw new TidemarkError('MIGRATION_INIT_FAILED', 'cannot create the migration tables', {
      operation: `create ${tables.schema}.${tables.table} and ${tables.historyTable}`,
      cause: describePgError(err),
      hint: 'the database user needs CREATE on the schema (or create the tables once as an owner)',
    }, { cause: err });
  }
  return true;
}

export interface ForcedVersion {
  /** null: no version (golang-migrate's -1, an empty table). */
  version: bigint | null;
  name: string;
  fromVersion: bigint | null;
}

/** Sets the version and clears dirty, recorded as a `force` row; creates the tables if need be. */
export async function force(target: StoreTarget, forced: ForcedVersion, operation: string): Promise<void> {
  const { tables } = target;
  const { version, name, fromVersion } = forced;
  try {
    await target.client.query(inTransaction([
      createVersionTableSql(tables),
      createHistoryTableSql(tables),
      setVersionSql(tables, version, false),
      // The history keeps the version as given: -1 for an emptied table.
      insertHistorySql(tables, { version: version ?? -1n, name, direction: 'force', fromVersion, toVersion: version, durationMs: 0 }),
    ]));
  } catch (err) {
    await rollBack(target);
    const cause = (err as Error).message;
    throw new TidemarkError('MIGRATION_FORCE_FAILED', 'cannot force the version', { operation, cause }, { cause: err });
  }
}

export interface MarkedMigration {
  version: bigint;
  name: string;
  checksum: string;
}

/**
 * Records migrations as applied without running them (`bootstrap` rows, each
 * from the one before), and the last one's version; creates the tables if
 * need be. One transaction: all are marked or none.
 */
export async function bootstrap(target: StoreTarget, marked: MarkedMigration[], fromVersion: bigint | null, operation = 'bootstrap the migration state'): Promise<void> {
  const { tables } = target;
  const rows = marked.map((m, i) => insertHistorySql(tables, {
    version: m.version, name: m.name, direction: 'bootstrap', fromVersion: i ? marked[i - 1].version : fromVersion, toVersion: m.version,
    checksum: m.checksum, durationMs: 0,
  }));
  const version = marked.at(-1)?.version ?? null;
  const tablesSql = [createVersionTableSql(tables), createHistoryTableSql(tables)];
  try {
    await target.client.query(inTransaction([...tablesSql, setVersionSql(tables, version, false), ...rows]));
  } catch (err) {
    await rollBack(target);
    throw new TidemarkError('MIGRATION_INIT_FAILED', 'cannot record the migrations as applied', {
      operation, cause: describePgError(err), hint: 'nothing was recorded; the database user needs CREATE on the schema and write access to the migration tables',
    }, { cause: err });
  }
}
