import { classify, type Classification } from './classify.js';
import type { HistoryRecord, HistoryRow } from '../state/history.js';
import { adopt, readFullState, readState, type StoredState } from '../state/store.js';
import type { VersionState } from '../state/version.js';
import type { Session } from './session.js';

export interface LoadedState<R extends HistoryRecord = HistoryRecord> {
  state: VersionState;
  history: R[];
  classification: Classification<R>;
}

function classified<R extends HistoryRecord>(session: Session, read: StoredState<R>): LoadedState<R> {
  return { ...read, classification: classify(session.source.migrations, read.state, read.history) };
}

/** Version, history (what classification needs of it) and the classification of every migration. */
export async function loadState(session: Session): Promise<LoadedState> {
  return classified(session, await readState(session));
}

/** As loadState, with every column of the history (`migrate:history`). */
export async function loadFullState(session: Session): Promise<LoadedState<HistoryRow>> {
  return classified(session, await readFullState(session));
}

/**
 * Before the first write of a run: the store creates missing tables and
 * records a version change made outside tidemark; after such a write the
 * state is read again, so that callers see the tables as they now stand.
 */
export async function prepareForWrite(session: Session, loaded: LoadedState): Promise<LoadedState> {
  const wrote = await adopt(session, loaded.state, loaded.classification.externalChange);
  return wrote ? loadState(session) : loaded;
}
