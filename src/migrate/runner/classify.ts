import type { Migration } from '../source/types.js';
import type { HistoryRecord } from '../state/history.js';
import type { VersionState } from '../state/version.js';

/**
 * Pure: from the files, the version row and the history, what is applied,
 * what is pending, and what is wrong. golang-migrate's rule stays the base
 * (everything up to the current version is applied); the history refines it.
 */
export type MigrationState = 'applied' | 'pending';

/** How tidemark knows that a migration is applied. */
export type AppliedBy = 'tidemark' | 'bootstrap' | 'outside';

export interface ClassifiedMigration<R extends HistoryRecord = HistoryRecord> {
  version: bigint;
  name: string;
  migration?: Migration;
  state: MigrationState;
  appliedBy?: AppliedBy;
  /** The history row that applied it, when tidemark did. */
  record?: R;
  current: boolean;
  outOfOrder: boolean;
  /** Recorded as applied, but no file for it. */
  missingFile: boolean;
}

export interface Classification<R extends HistoryRecord = HistoryRecord> {
  entries: ClassifiedMigration<R>[];
  /** The version the history says tidemark left, when it differs from the version row. */
  externalChange?: { from: bigint | null; to: bigint | null };
}

type PointEvent<R> = { idx: number; kind: 'point'; applied: boolean; row: R };
type RangeEvent = { idx: number; kind: 'range'; from: bigint | null; to: bigint | null; applied: boolean };
type Event<R> = PointEvent<R> | RangeEvent;

function inRange(v: bigint, from: bigint | null, to: bigint | null): boolean {
  return (from === null || v > from) && (to === null || v <= to);
}

/** Range events: force, adopt, and the external change not yet recorded. */
function rangeEvents(history: HistoryRecord[], state: VersionState): { ranges: RangeEvent[]; externalChange?: Classification['externalChange'] } {
  const ranges: RangeEvent[] = [];
  history.forEach((row, idx) => {
    if (row.direction === 'force') {
      ranges.push({ idx, kind: 'range', from: null, to: row.toVersion, applied: true });
      ranges.push({ idx, kind: 'range', from: row.toVersion, to: null, applied: false });
    } else if (row.direction === 'adopt') {
      const up = row.fromVersion === null || (row.toVersion !== null && row.toVersion > row.fromVersion);
      if (up) ranges.push({ idx, kind: 'range', from: row.fromVersion, to: row.toVersion, applied: true });
      else ranges.push({ idx, kind: 'range', from: row.toVersion, to: row.fromVersion, applied: false });
    }
  });
  const left = history.length ? history[history.length - 1].toVersion : null;
  const current = state.version;
  if ((history.length === 0 && current !== null) || (history.length > 0 && left !== current)) {
    const idx = history.length;
    const from = history.length ? left : null;
    const up = from === null || (current !== null && current > from);
    ranges.push(up ? { idx, kind: 'range', from, to: current, applied: true } : { idx, kind: 'range', from: current, to: from, applied: false });
    return { ranges, externalChange: { from, to: current } };
  }
  return { ranges };
}

/** Point events (up, down, bootstrap) per version, oldest first. */
function pointEvents<R extends HistoryRecord>(history: R[]): Map<bigint, PointEvent<R>[]> {
  const byVersion = new Map<bigint, PointEvent<R>[]>();
  history.forEach((row, idx) => {
    if (row.direction !== 'up' && row.direction !== 'down' && row.direction !== 'bootstrap') return;
    const event: PointEvent<R> = { idx, kind: 'point', applied: row.direction !== 'down', row };
    const list = byVersion.get(row.version);
    if (list) list.push(event);
    else byVersion.set(row.version, [event]);
  });
  return byVersion;
}

/** Replays the events that touch one version; the last word wins, but a range never erases a known record. */
function replay<R extends HistoryRecord>(events: Event<R>[]): { applied: boolean; record?: R; by?: AppliedBy } {
  let result: { applied: boolean; record?: R; by?: AppliedBy } = { applied: false };
  for (const event of events) {
    if (event.kind === 'point') {
      result = event.applied ? { applied: true, record: event.row, by: event.row.direction === 'bootstrap' ? 'bootstrap' : 'tidemark' } : { applied: false };
    } else if (!event.applied) {
      result = { applied: false };
    } else if (!result.applied) {
      result = { applied: true, by: 'outside' };
    }
  }
  return result;
}

/**
 * Every version that has a file or a record, in order. The files come
 * sorted; versions known only from the history or the version row are few,
 * and are merged in.
 */
function allVersions(migrations: Migration[], points: Map<bigint, unknown>, current: bigint | null): { version: bigint; migration?: Migration }[] {
  const withFile = new Set<bigint>();
  for (const m of migrations) withFile.add(m.version);
  const extra: bigint[] = [];
  for (const v of points.keys()) if (!withFile.has(v)) extra.push(v);
  if (current !== null && !withFile.has(current) && !points.has(current)) extra.push(current);
  if (!extra.length) return migrations.map((migration) => ({ version: migration.version, migration }));
  extra.sort((a, b) => (a < b ? -1 : 1));
  const merged: { version: bigint; migration?: Migration }[] = [];
  let i = 0;
  for (const migration of migrations) {
    while (i < extra.length && extra[i] < migration.version) merged.push({ version: extra[i++] });
    merged.push({ version: migration.version, migration });
  }
  while (i < extra.length) merged.push({ version: extra[i++] });
  return merged;
}

export function classify<R extends HistoryRecord>(migrations: Migration[], state: VersionState, history: R[]): Classification<R> {
  const { ranges, externalChange } = rangeEvents(history, state);
  const points = pointEvents(history);
  const current = state.version;
  const entries: ClassifiedMigration<R>[] = [];
  for (const { version, migration } of allVersions(migrations, points, current)) {
    const own = points.get(version);
    const touching = ranges.filter((r) => inRange(version, r.from, r.to));
    const events: Event<R>[] = !touching.length ? own ?? [] : [...(own ?? []), ...touching].sort((a, b) => a.idx - b.idx);
    const known = replay(events);
    const belowCurrent = current !== null && version <= current;
    const applied = belowCurrent && known.applied;
    if (!migration && !applied && version !== current) continue;
    const lastName = own?.at(-1)?.row.name ?? '';
    entries.push({
      version,
      name: migration?.name ?? lastName,
      migration,
      state: applied || (!migration && version === current) ? 'applied' : 'pending',
      appliedBy: applied ? known.by : undefined,
      record: applied ? known.record : undefined,
      current: version === current,
      outOfOrder: !!migration && belowCurrent && !known.applied,
      missingFile: !migration,
    });
  }
  return { entries, externalChange };
}
