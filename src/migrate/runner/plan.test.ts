import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';
import { planDown, planUp, type Step } from './plan.js';
import type { Migration } from '../source/types.js';
import type { HistoryRecord } from '../state/history.js';
import { TidemarkError } from '../../errors.js';
import { appliedInOrder, event, migration, migrations, versionRow } from '../../../test/helpers/plain-state.js';

function classified(files: Migration[], version: number | null, history: HistoryRecord[]) {
  return classify(files, versionRow(version), history);
}

/** One line per step: direction, version, from → to, and the file that runs. */
function brief(steps: Step[]): string[] {
  const label = (v: bigint | null) => (v === null ? 'none' : String(v));
  return steps.map((s) => `${s.direction} ${s.version} ${label(s.fromVersion)}->${label(s.toVersion)} ${s.script.fileName}${s.outOfOrder ? ' out-of-order' : ''}`);
}

function thrown(fn: () => unknown): TidemarkError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TidemarkError) return err;
    throw err;
  }
  throw new Error('expected a TidemarkError, nothing was thrown');
}

describe('planUp', () => {
  const c = classified(migrations(1, 2, 3, 4), 1, appliedInOrder(1));

  it('plans every pending migration in version order, each from the version the one before leaves', () => {
    expect(brief(planUp(c, 1n))).toEqual([
      'up 2 1->2 000002_m2.up.sql', 'up 3 2->3 000003_m3.up.sql', 'up 4 3->4 000004_m4.up.sql',
    ]);
  });

  it('plans nothing when everything is applied', () => {
    const done = classified(migrations(1, 2), 2, appliedInOrder(1, 2));
    expect(planUp(done, 2n)).toEqual([]);
  });

  it('plans from no version in an empty database', () => {
    expect(brief(planUp(classified(migrations(1, 2), null, []), null))).toEqual(['up 1 none->1 000001_m1.up.sql', 'up 2 1->2 000002_m2.up.sql']);
  });

  it('takes at most `steps` migrations', () => {
    expect(planUp(c, 1n, { steps: 2 }).map((s) => s.version)).toEqual([2n, 3n]);
  });

  it('takes nothing above `target`, also with `steps`', () => {
    expect(planUp(c, 1n, { target: 3n }).map((s) => s.version)).toEqual([2n, 3n]);
    expect(planUp(c, 1n, { target: 4n, steps: 1 }).map((s) => s.version)).toEqual([2n]);
    expect(planUp(c, 1n, { target: 1n })).toEqual([]);
  });

  describe('a pending file below the current version', () => {
    const late = classified(migrations(1, 2, 3, 4), 3, [event('up', 1, null, 1), event('up', 3, 1, 3)]);

    it('is left out unless allowed', () => {
      expect(brief(planUp(late, 3n))).toEqual(['up 4 3->4 000004_m4.up.sql']);
    });

    it('runs first when allowed, leaving the version where it is', () => {
      expect(brief(planUp(late, 3n, { allowOutOfOrder: true }))).toEqual([
        'up 2 3->3 000002_m2.up.sql out-of-order', 'up 4 3->4 000004_m4.up.sql',
      ]);
    });
  });

  it('refuses a pending migration that has only a down file, naming it', () => {
    const broken = classified([migration(1), migration(2, 'm2', { up: false })], 1, appliedInOrder(1));
    const err = thrown(() => planUp(broken, 1n));
    expect(err.code).toBe('MIGRATION_SOURCE_FAILED');
    expect(err.reason).toContain('000002_m2.down.sql but no .up.sql file');
  });
});

describe('planDown', () => {
  const c = classified(migrations(1, 2, 3), 3, appliedInOrder(1, 2, 3));

  it('rolls back the newest migration, to the applied one below it', () => {
    expect(brief(planDown(c, { count: 1 }))).toEqual(['down 3 3->2 000003_m3.down.sql']);
  });

  it('rolls back `count` migrations, newest first; more than are applied is all of them', () => {
    expect(brief(planDown(c, { count: 2 }))).toEqual(['down 3 3->2 000003_m3.down.sql', 'down 2 2->1 000002_m2.down.sql']);
    expect(brief(planDown(c, { count: 9 })).at(-1)).toBe('down 1 1->none 000001_m1.down.sql');
  });

  it('rolls back to an applied version, or everything with `to: null` and with `all`', () => {
    expect(planDown(c, { to: 1n }).map((s) => s.version)).toEqual([3n, 2n]);
    expect(planDown(c, { to: 3n })).toEqual([]);
    expect(planDown(c, { to: null }).map((s) => s.version)).toEqual([3n, 2n, 1n]);
    expect(planDown(c, { all: true })).toEqual(planDown(c, { to: null }));
  });

  it('refuses `to` a version that is not applied, listing the applied ones', () => {
    const pending = classified(migrations(1, 2, 3, 4), 3, appliedInOrder(1, 2, 3));
    for (const to of [4n, 7n]) {
      const err = thrown(() => planDown(pending, { to }));
      expect(err.code).toBe('INVALID_VERSION');
      expect(err.reason).toContain('(1, 2, 3)');
    }
  });

  it('skips a pending out-of-order file: the step goes to the applied version below', () => {
    const late = classified(migrations(1, 2, 3), 3, [event('up', 1, null, 1), event('up', 3, 1, 3)]);
    expect(brief(planDown(late, { all: true }))).toEqual(['down 3 3->1 000003_m3.down.sql', 'down 1 1->none 000001_m1.down.sql']);
  });

  it('checks every down file before anything runs: a missing one stops the whole plan', () => {
    const noDown = classified([migration(1), migration(2, 'm2', { down: false }), migration(3)], 3, appliedInOrder(1, 2, 3));
    expect(planDown(noDown, { count: 1 }).map((s) => s.version)).toEqual([3n]);
    const err = thrown(() => planDown(noDown, { count: 2 }));
    expect(err.code).toBe('MIGRATION_DOWN_MISSING');
    expect(err.reason).toBe('000002_m2.down.sql does not exist; nothing was rolled back');
    expect(err.operation).toBe('roll back migration 2 (step 2 of 2)');
  });

  it('refuses to roll back an applied version whose files are gone', () => {
    const gone = classified(migrations(1, 3), 3, appliedInOrder(1, 2, 3));
    const err = thrown(() => planDown(gone, { count: 2 }));
    expect(err.code).toBe('MIGRATION_FILE_MISSING');
    expect(err.reason).toContain('version 2 (m2) is applied');
  });
});
