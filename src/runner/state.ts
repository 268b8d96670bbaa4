import { classify, type Classification } from './classify.js';
import { createHistoryTableSql, createVersionTableSql } from '../state/tables.js';
import { insertHistorySql, readHistory, type HistoryRow } from '../state/history.js';
import { readVersionState, type VersionState } from '../state/version.js';
import type { Session } from './session.js';

export interface LoadedState {
  state: VersionState;
  history: HistoryRow[];
  classification: Classification;
}

export async function loadState(session: Session): Promise<LoadedState> {
  const state = await readVersionState(session.client, session.tables);
  const history = state.historyTableExists ? await readHistory(session.client, session.tables) : [];
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
  await session.client.query(`BEGIN;\n${statements.join(';\n')};\nCOMMIT;`);
  return loadState(session);
}
