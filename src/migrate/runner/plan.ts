import { TidemarkError } from '../../errors.js';
import type { Direction } from '../source/parse.js';
import type { MigrationScript } from '../source/types.js';
import type { Classification, ClassifiedMigration } from './classify.js';

/** One migration to run, with the version row before and after it. */
export interface Step {
  direction: Direction;
  version: bigint;
  name: string;
  script: MigrationScript;
  fromVersion: bigint | null;
  toVersion: bigint | null;
  /** Applied below the current version; the version row does not move. */
  outOfOrder: boolean;
}

export interface UpOptions {
  steps?: number;
  /** Apply nothing above this version. */
  target?: bigint;
  allowOutOfOrder?: boolean;
}

export function planUp(c: Classification, current: bigint | null, options: UpOptions = {}): Step[] {
  const pending = c.entries.filter((e) => e.state === 'pending' && e.migration && (options.target === undefined || e.version <= options.target));
  const late = options.allowOutOfOrder ? pending.filter((e) => e.outOfOrder) : [];
  const ordered = [...late, ...pending.filter((e) => !e.outOfOrder)].slice(0, options.steps ?? Infinity);
  let version = current;
  return ordered.map((entry) => {
    const script = entry.migration!.up;
    if (!script) {
      throw new TidemarkError('MIGRATION_SOURCE_FAILED', 'migration has no up file', {
        operation: `plan migration ${entry.version}`,
        cause: `version ${entry.version} has ${entry.migration!.down?.fileName ?? 'a down file'} but no .up.sql file`,
        hint: 'add the up file, or remove the stray down file',
      });
    }
    const step: Step = { direction: 'up', version: entry.version, name: entry.name, script, fromVersion: version, toVersion: entry.outOfOrder ? version : entry.version, outOfOrder: entry.outOfOrder };
    version = step.toVersion;
    return step;
  });
}

export type DownTarget = { count: number } | { to: bigint | null } | { all: true };

function downFileName(entry: ClassifiedMigration): string {
  const up = entry.migration?.up?.fileName;
  return up ? up.replace(/\.up\.sql$/, '.down.sql') : `${entry.version}_${entry.name}.down.sql`;
}

/** The applied migrations to roll back, newest first; checks every down file before anything runs. */
export function planDown(c: Classification, target: DownTarget): Step[] {
  const applied = c.entries.filter((e) => e.state === 'applied').reverse();
  let chosen: ClassifiedMigration[];
  if ('count' in target) chosen = applied.slice(0, target.count);
  else if ('all' in target) chosen = applied;
  else {
    const to = target.to;
    if (to !== null && !applied.some((e) => e.version === to)) {
      throw new TidemarkError('INVALID_VERSION', 'not an applied version', {
        operation: `roll back to version ${to}`,
        cause: `version ${to} is not among the applied migrations (${applied.length ? applied.map((e) => e.version).reverse().join(', ') : 'none'})`,
        hint: 'give an applied version, or 0 to roll back everything',
      });
    }
    chosen = applied.filter((e) => to === null || e.version > to);
  }
  return chosen.map((entry, i) => {
    const next = applied[applied.indexOf(entry) + 1];
    const script = entry.migration?.down;
    if (!entry.migration) {
      throw new TidemarkError('MIGRATION_FILE_MISSING', 'migration file missing', {
        operation: `roll back migration ${entry.version}`,
        cause: `version ${entry.version}${entry.name ? ` (${entry.name})` : ''} is applied, but there is no file for it in the migrations directory`,
        hint: 'restore the migration files of the version the database is at (check out the matching branch)',
      });
    }
    if (!script) {
      throw new TidemarkError('MIGRATION_DOWN_MISSING', 'no down migration', {
        operation: `roll back migration ${entry.version} (step ${i + 1} of ${chosen.length})`,
        cause: `${downFileName(entry)} does not exist; nothing was rolled back`,
        hint: 'write the down file, or roll back to a version above this one',
      });
    }
    return { direction: 'down', version: entry.version, name: entry.name, script, fromVersion: entry.version, toVersion: next ? next.version : null, outOfOrder: false } satisfies Step;
  });
}
