import type { Migration } from '../source/types.js';
import type { HistoryRow } from '../state/history.js';
import type { VersionState } from '../state/version.js';

/**
 * Pure: from the files, the version row and the history, what is applied,
 * what is pending, and what is wrong. golang-migrate's rule stays the base
 * (everything up to the current version is applied); the history refines it.
 */
export type MigrationState = 'applied' | 'pending';

/** How tidemark knows that a migration is applied. */
export type AppliedBy = 'tidemark' | 'bootstrap' | 'outside';

export interface ClassifiedMigration {
  version: bigint;
  name: string;
  migration?: Migration;
  state: MigrationState;
  appliedBy?: AppliedBy;
  /** The history row that applied it, when tidemark did. */
  record?: HistoryRow;
  current: boolean;
  outOfOrder: boolean;
  /** Recorded as applied, but no file for it. */
  missingFile: boolean;
}

export interface Classification {
  entries: ClassifiedMigration[];
  /** The version the history says tidemark left, when it differs from the version row. */
  externalChange?: { from: bigint | null; to: bigint | null };
}

type PointEvent = { idx: number; kind: 'point'; applied: boolean; row: HistoryRow };
type RangeEvent = { idx: number; kind: 'range'; from: bigint | null; to: bigint | null; applied: boolean };
type Event = PointEvent | RangeEvent;

function inRange(v: bigint, from: bigint | null, to: bigint | null): boolean {
  return (from === null || v > from) && (to === null || v <= to);
}

/** Range events: force, adopt, and the external change not yet recorded. */
function rangeEvents(history: HistoryRow[], state: VersionState): { ranges: RangeEvent[]; externalChange?: Classification['externalChange'] } {
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

function pointEvents(history: HistoryRow[]): Map<bigint, PointEvent[]> {
  const byVersion = new Map<bigint, PointEvent[]>();
  history.forEach((row, idx) => {
    if (row.direction !== 'up' && row.direction !== 'down' && row.direction !== 'bootstrap') return;
    const list = byVersion.get(row.version) ?? [];
    list.push({ idx, kind: 'point', applied: row.direction !== 'down', row });
    byVersion.set(row.version, list);
  });
  return byVersion;
}

/** Replays the events that touch one version; the last word wins, but a range never erases a known record. */
function replay(events: Event[]): { applied: boolean; record?: HistoryRow; by?: AppliedBy } {
  let result: { applied: boolean; record?: HistoryRow; by?: AppliedBy } = { applied: false };
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

export function classify(migrations: Migration[], state: VersionState, history: HistoryRow[]): Classification {
  const { ranges, externalChange } = rangeEvents(history, state);
  const points = pointEvents(history);
  const current = state.version;
  const versions = new Map<bigint, Migration | undefined>(migrations.map((m) => [m.version, m]));
  for (const v of points.keys()) if (!versions.has(v)) versions.set(v, undefined);
  if (current !== null && !versions.has(current)) versions.set(current, undefined);

  const entries: ClassifiedMigration[] = [];
  for (const [version, migration] of [...versions].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const events = [...(points.get(version) ?? []), ...ranges.filter((r) => inRange(version, r.from, r.to))].sort((a, b) => a.idx - b.idx);
    const known = replay(events);
    const belowCurrent = current !== null && version <= current;
    const applied = belowCurrent && known.applied;
    if (!migration && !applied && version !== current) continue;
    const lastName = points.get(version)?.at(-1)?.row.name ?? '';
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
