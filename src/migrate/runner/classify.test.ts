import { describe, expect, it } from 'vitest';
import { classify, type Classification } from './classify.js';
import { appliedInOrder, event, migration, migrations, versionRow } from '../../../test/helpers/plain-state.js';

/** One line per entry: version, state, who applied it, and the flags that are set. */
function brief(c: Classification): string[] {
  return c.entries.map((e) => [
    e.version, e.state, e.appliedBy, e.current && 'current', e.outOfOrder && 'out-of-order', e.missingFile && 'missing-file',
  ].filter(Boolean).join(' '));
}

describe('classify: the version row and the history', () => {
  it('finds everything pending in a database without the tables', () => {
    const c = classify(migrations(1, 2, 3), versionRow(null, { tables: false }), []);
    expect(brief(c)).toEqual(['1 pending', '2 pending', '3 pending']);
    expect(c.externalChange).toBeUndefined();
  });

  it('takes a version row without history (golang-migrate) as applied outside tidemark, up to that version', () => {
    const c = classify(migrations(1, 2, 3), versionRow(2), []);
    expect(brief(c)).toEqual(['1 applied outside', '2 applied outside current', '3 pending']);
    expect(c.externalChange).toEqual({ from: null, to: 2n });
  });

  it('gives each migration tidemark applied its up record', () => {
    const history = appliedInOrder(1, 2);
    const c = classify(migrations(1, 2, 3), versionRow(2), history);
    expect(brief(c)).toEqual(['1 applied tidemark', '2 applied tidemark current', '3 pending']);
    expect(c.entries[1].record).toBe(history[1]);
    expect(c.externalChange).toBeUndefined();
  });

  it('takes a rolled-back migration as pending again', () => {
    const history = [...appliedInOrder(1, 2, 3), event('down', 3, 3, 2)];
    const c = classify(migrations(1, 2, 3), versionRow(2), history);
    expect(brief(c)).toEqual(['1 applied tidemark', '2 applied tidemark current', '3 pending']);
  });

  it('tells bootstrapped migrations from applied ones', () => {
    const history = [event('bootstrap', 1, null, 1), event('bootstrap', 2, 1, 2)];
    const c = classify(migrations(1, 2, 3), versionRow(2), history);
    expect(brief(c)).toEqual(['1 applied bootstrap', '2 applied bootstrap current', '3 pending']);
    expect(c.entries[0].record?.checksum).toBe('sum-1');
  });

  it('after a force down: above the forced version is pending, below it keeps its record', () => {
    const history = [...appliedInOrder(1, 2), event('force', 1, 2, 1)];
    const c = classify(migrations(1, 2, 3), versionRow(1), history);
    expect(brief(c)).toEqual(['1 applied tidemark current', '2 pending', '3 pending']);
    expect(c.entries[0].record).toBe(history[0]);
  });

  it('after a force up: the skipped migrations count as applied outside tidemark', () => {
    const history = [...appliedInOrder(1), event('force', 3, 1, 3)];
    const c = classify(migrations(1, 2, 3, 4), versionRow(3), history);
    expect(brief(c)).toEqual(['1 applied tidemark', '2 applied outside', '3 applied outside current', '4 pending']);
  });

  it('after an adopt row: the adopted range is applied outside, and no external change is left', () => {
    const history = [...appliedInOrder(1), event('adopt', 3, 1, 3, '')];
    const c = classify(migrations(1, 2, 3, 4), versionRow(3), history);
    expect(brief(c)).toEqual(['1 applied tidemark', '2 applied outside', '3 applied outside current', '4 pending']);
    expect(c.externalChange).toBeUndefined();
  });

  it('an adopt row going down makes the versions above it pending', () => {
    const history = [...appliedInOrder(1, 2, 3), event('adopt', 1, 3, 1, '')];
    const c = classify(migrations(1, 2, 3), versionRow(1), history);
    expect(brief(c)).toEqual(['1 applied tidemark current', '2 pending', '3 pending']);
  });

  it('sees a version raised outside tidemark since its last record', () => {
    const c = classify(migrations(1, 2, 3, 4, 5), versionRow(4), appliedInOrder(1, 2));
    expect(brief(c)).toEqual(['1 applied tidemark', '2 applied tidemark', '3 applied outside', '4 applied outside current', '5 pending']);
    expect(c.externalChange).toEqual({ from: 2n, to: 4n });
  });

  it('sees a version lowered outside tidemark since its last record', () => {
    const c = classify(migrations(1, 2, 3), versionRow(1), appliedInOrder(1, 2, 3));
    expect(brief(c)).toEqual(['1 applied tidemark current', '2 pending', '3 pending']);
    expect(c.externalChange).toEqual({ from: 3n, to: 1n });
  });

  it('keeps the dirty flag out of the classification: a dirty row still says what is applied', () => {
    const c = classify(migrations(1, 2), versionRow(2, { dirty: true }), appliedInOrder(1, 2));
    expect(brief(c)).toEqual(['1 applied tidemark', '2 applied tidemark current']);
  });
});

describe('classify: files and records that disagree', () => {
  it('lists a recorded migration without a file, with its recorded name', () => {
    const c = classify(migrations(1, 3), versionRow(2), appliedInOrder(1, 2));
    expect(brief(c)).toEqual(['1 applied tidemark', '2 applied tidemark current missing-file', '3 pending']);
    expect(c.entries[1].name).toBe('m2');
    expect(c.entries[1].migration).toBeUndefined();
  });

  it('lists a current version that has neither a file nor a record', () => {
    const c = classify(migrations(1), versionRow(5), []);
    expect(brief(c)).toEqual(['1 applied outside', '5 applied outside current missing-file']);
    expect(c.entries[1].name).toBe('');
  });

  it('leaves out a rolled-back version that has no file', () => {
    const history = [...appliedInOrder(1, 2), event('down', 2, 2, 1)];
    const c = classify(migrations(1), versionRow(1), history);
    expect(brief(c)).toEqual(['1 applied tidemark current']);
  });

  it('marks a pending file numbered below the current version as out of order', () => {
    const history = [event('up', 1, null, 1), event('up', 3, 1, 3)];
    const c = classify(migrations(1, 2, 3), versionRow(3), history);
    expect(brief(c)).toEqual(['1 applied tidemark', '2 pending out-of-order', '3 applied tidemark current']);
  });

  it('takes an out-of-order migration applied later as applied, no longer out of order', () => {
    const history = [event('up', 1, null, 1), event('up', 3, 1, 3), event('up', 2, 3, 3)];
    const c = classify(migrations(1, 2, 3), versionRow(3), history);
    expect(brief(c)).toEqual(['1 applied tidemark', '2 applied tidemark', '3 applied tidemark current']);
  });

  it('keeps a migration with only a down file in the list, pending', () => {
    const c = classify([migration(1), migration(2, 'm2', { up: false })], versionRow(1), appliedInOrder(1));
    expect(brief(c)).toEqual(['1 applied tidemark current', '2 pending']);
  });
});
