import type { Settings } from '../../config.js';
import type { MigrationSet } from '../source/index.js';
import type { AppliedBy } from '../runner/classify.js';
import { withSession } from '../runner/session.js';
import { loadFullState } from '../runner/state.js';
import type { HistoryDirection, ExecutionMode } from '../state/history.js';

export interface HistoryEntryReport {
  version: bigint;
  name: string;
  fileName?: string;
  state: 'applied' | 'pending';
  current: boolean;
  appliedBy?: AppliedBy;
  appliedAt?: Date;
  durationMs?: number;
  user?: string;
  host?: string;
  application?: string;
  mode?: ExecutionMode;
  outOfOrder: boolean;
  missingFile: boolean;
}

export interface HistoryEvent {
  version: bigint;
  name: string;
  direction: HistoryDirection;
  fromVersion: bigint | null;
  toVersion: bigint | null;
  at: Date;
  durationMs: number | null;
  user: string;
  host: string | null;
  application: string | null;
}

export interface HistoryReport {
  version: bigint | null;
  dirty: boolean;
  migrations: HistoryEntryReport[];
  /** Every recorded event, oldest first: applies, rollbacks, forces, bootstraps, adoptions. */
  events: HistoryEvent[];
}

/** alembic's `history --indicate-current`: every migration, applied or pending, newest first (`task migrate:history`). */
export async function migrateHistory(settings: Settings, options: { source?: MigrationSet } = {}): Promise<HistoryReport> {
  return withSession(settings, { source: options.source, operation: 'read migration history' }, async (session) => {
    const { state, history, classification } = await loadFullState(session);
    const migrations = classification.entries.map((e): HistoryEntryReport => ({
      version: e.version, name: e.name, fileName: e.migration?.up?.fileName, state: e.state, current: e.current, appliedBy: e.appliedBy,
      appliedAt: e.record?.startedAt, durationMs: e.record?.durationMs ?? undefined, user: e.record?.appliedBy, host: e.record?.clientHost ?? undefined,
      application: e.record?.application ?? undefined, mode: e.record?.mode ?? undefined, outOfOrder: e.outOfOrder, missingFile: e.missingFile,
    })).reverse();
    const events = history.map((r): HistoryEvent => ({
      version: r.version, name: r.name, direction: r.direction, fromVersion: r.fromVersion, toVersion: r.toVersion, at: r.startedAt,
      durationMs: r.durationMs, user: r.appliedBy, host: r.clientHost, application: r.application,
    }));
    return { version: state.version, dirty: state.dirty, migrations, events };
  });
}
