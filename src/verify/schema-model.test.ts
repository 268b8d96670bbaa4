import { describe, expect, it } from 'vitest';
import { SchemaModel, type CatalogRow } from './schema-model.js';

const table = (oid: number, name: string, attrs: Record<string, unknown> = {}): CatalogRow => ({ unit: `1259:${oid}`, object: `1259:${oid}`, kind: 'table', name, attrs });
const index = (table: number, oid: number, name: string): CatalogRow => ({ unit: `1259:${table}`, object: `1259:${oid}`, kind: 'index', name, attrs: { definition: `CREATE INDEX ${name}` } });

/** One line per difference: kind, name, change, and whether it existed at the reference step. */
const brief = (model: SchemaModel, base: number, reference?: number) =>
  model.differences(base, reference).map((d) => `${d.change.kind} ${d.change.name} ${d.change.change}${d.atReference === undefined ? '' : ` ${d.atReference}`}`);

describe('SchemaModel', () => {
  it('compares any earlier step with now from the journal, and says whether each object existed at a reference step', () => {
    const model = new SchemaModel();
    model.replaceAll([table(1, 'a')]);
    const before = model.step;
    model.replaceUnits(['1259:2'], [table(2, 'b'), index(2, 3, 'b_idx')]);
    const afterUp = model.step;
    model.replaceUnits(['1259:2'], [table(2, 'b')]);
    expect(brief(model, before, afterUp)).toEqual(['table b added true']);
    expect(brief(model, afterUp)).toEqual(['index b_idx removed']);
  });

  it('a unit read again with the same rows is no change, and does not move the step', () => {
    const model = new SchemaModel();
    model.replaceAll([table(1, 'a', { comment: 'x' })]);
    const step = model.step;
    expect(model.replaceUnits(['1259:1'], [table(1, 'a', { comment: 'x' })])).toBe(false);
    expect(model.step).toBe(step);
    expect(model.replaceUnits(['1259:1'], [table(1, 'a', { comment: 'y' })])).toBe(true);
    expect(brief(model, step)).toEqual(['table a changed']);
  });

  it('an object recreated with new oids under the same name, the same as before, is no difference', () => {
    const model = new SchemaModel();
    model.replaceAll([table(1, 'a'), index(1, 2, 'a_idx')]);
    const before = model.step;
    model.replaceUnits(model.unitsOf(['1259:1']), []);
    model.replaceUnits(['1259:7'], [table(7, 'a'), index(7, 8, 'a_idx')]);
    expect(brief(model, before)).toEqual([]);
    // A dropped object finds its unit by the oids it was read with last.
    expect(model.unitsOf(['1259:8', '1259:2'])).toEqual(['1259:7']);
  });

  it('forgets the journal before the oldest step still needed', () => {
    const model = new SchemaModel();
    model.replaceAll([table(1, 'a')]);
    model.replaceUnits(['1259:2'], [table(2, 'b')]);
    const kept = model.step;
    model.replaceUnits(['1259:3'], [table(3, 'c')]);
    model.forgetBefore(kept);
    expect(brief(model, kept)).toEqual(['table c added']);
  });
});
