/**
 * Recording a state without running any migration: force (recovery) and
 * bootstrap (adopting a database built before migrations). The checks are
 * here; the writes are the state store's.
 */
import { TidemarkError } from '../../errors.js';
import { bootstrap, force } from '../state/store.js';
import type { Session } from './session.js';
import { loadState } from './state.js';

export interface ForceOutcome {
  previousVersion: bigint | null;
  previousDirty: boolean;
  version: bigint | null;
}

/** Sets the version (null: none) and clears dirty. */
export async function forceVersion(session: Session, version: bigint | null, operation: string): Promise<ForceOutcome> {
  const { state } = await loadState(session);
  const name = session.source.migrations.find((m) => m.version === version)?.name ?? '';
  await force(session, { version, name, fromVersion: state.version }, operation);
  return { previousVersion: state.version, previousDirty: state.dirty, version };
}

export interface MarkOptions {
  /** Mark migrations up to this version only. */
  to?: bigint;
  /** Proceed even though a version is already recorded. */
  force?: boolean;
  dryRun?: boolean;
}

export interface MarkOutcome {
  dryRun: boolean;
  previousVersion: bigint | null;
  version: bigint | null;
  marked: Array<{ version: bigint; name: string; fileName: string }>;
}

function refuseRecordedVersion(version: bigint, dirty: boolean, operation: string): TidemarkError {
  return new TidemarkError('MIGRATION_BOOTSTRAP_REFUSED', 'a version is already recorded', {
    operation,
    cause: `the database is at version ${version}${dirty ? ' (dirty)' : ''}; bootstrap is for databases without migration state`,
    hint: 'use `task migrate` for a database under migrations, or pass --force to mark the migrations anyway',
  });
}

/** Records every migration (or those up to `to`) as applied, with its checksum, running none. */
export async function markApplied(session: Session, options: MarkOptions, operation: string): Promise<MarkOutcome> {
  const { state } = await loadState(session);
  if (state.version !== null && !options.force) throw refuseRecordedVersion(state.version, state.dirty, operation);
  const { to } = options;
  if (to !== undefined && !session.source.migrations.some((m) => m.version === to)) {
    const cause = `there is no migration with version ${to} in ${session.source.origin}`;
    throw new TidemarkError('INVALID_VERSION', 'no such migration', { operation, cause });
  }
  const chosen = session.source.migrations.filter((m) => m.up && (to === undefined || m.version <= to));
  const version = chosen.at(-1)?.version ?? null;
  const marked = chosen.map((m) => ({ version: m.version, name: m.name, fileName: m.up!.fileName }));
  if (options.dryRun || !chosen.length) {
    return { dryRun: !!options.dryRun, previousVersion: state.version, version: chosen.length ? version : state.version, marked };
  }
  const checksums = chosen.map((m) => m.up!.load().checksum);
  await bootstrap(session, chosen.map((m, i) => ({ version: m.version, name: m.name, checksum: checksums[i] })), state.version);
  return { dryRun: false, previousVersion: state.version, version, marked };
}
