/**
 * The schema of a scratch database as rows kept in memory and brought up to
 * date unit by unit (see RowScope in src/schema/catalog-sql.ts), with a
 * journal of every change by step: a snapshot is a step number, and the
 * differences since one are read from the journal, so that their cost
 * follows what changed, not the size of the schema.
 */
import { byName, canonicalJson } from '../schema/fingerprint.js';
import { objectChange, type Attributes, type SchemaChange } from '../schema/diff.js';

export interface CatalogRow {
  /** Unit and object, as `classid:oid`. */
  unit: string;
  object: string;
  kind: string;
  name: string;
  attrs: Attributes;
}

interface Held extends CatalogRow {
  text: string;
}

interface JournalEntry {
  step: number;
  key: string;
  before?: Held;
}

const keyOf = (r: Pick<CatalogRow, 'kind' | 'name'>) => `${r.kind}\u0000${r.name}`;

export interface ModelDifference {
  change: SchemaChange;
  /** Whether the object existed at the reference step (when one was given). */
  atReference?: boolean;
}

export class SchemaModel {
  private readonly rows = new Map<string, Held>();
  private readonly byUnit = new Map<string, Set<string>>();
  private readonly unitOfObject = new Map<string, string>();
  private journal: JournalEntry[] = [];
  /** The step of the latest change. */
  step = 0;

  /** The units the given objects were read through (dropped objects are found by them). */
  unitsOf(objects: Iterable<string>): string[] {
    return [...objects].flatMap((o) => this.unitOfObject.get(o) ?? []);
  }

  /**
   * The rows of `units` are now `fresh` (every row of a unit read again; a
   * unit with no row in it is gone). Returns whether anything changed.
   */
  replaceUnits(units: Iterable<string>, fresh: CatalogRow[]): boolean {
    const step = this.step + 1;
    let changed = false;
    const incoming = new Map(fresh.map((r) => [keyOf(r), r]));
    for (const unit of units) {
      for (const key of this.byUnit.get(unit) ?? []) {
        if (!incoming.has(key)) changed = this.set(key, undefined, step) || changed;
      }
    }
    for (const [key, row] of incoming) changed = this.set(key, row, step) || changed;
    if (changed) this.step = step;
    return changed;
  }

  /** Replaces everything with a whole reading. */
  replaceAll(fresh: CatalogRow[]): boolean {
    return this.replaceUnits([...this.byUnit.keys()], fresh);
  }

  private set(key: string, row: CatalogRow | undefined, step: number): boolean {
    const old = this.rows.get(key);
    if (old) {
      this.byUnit.get(old.unit)?.delete(key);
      if (this.unitOfObject.get(old.object) === old.unit) this.unitOfObject.delete(old.object);
    }
    const held = row && { ...row, text: canonicalJson(row.attrs) };
    if (held) {
      this.rows.set(key, held);
      if (!this.byUnit.has(held.unit)) this.byUnit.set(held.unit, new Set());
      this.byUnit.get(held.unit)!.add(key);
      this.unitOfObject.set(held.object, held.unit);
    } else {
      this.rows.delete(key);
    }
    if (old?.text === held?.text) return false;
    this.journal.push({ step, key, before: old });
    return true;
  }

  /** For each key changed after `step`, the row it had at `step` (undefined: absent then). */
  private statesAt(step: number): Map<string, Held | undefined> {
    const states = new Map<string, Held | undefined>();
    for (const e of this.journal) if (e.step > step && !states.has(e.key)) states.set(e.key, e.before);
    return states;
  }

  /** Objects that differ between step `base` and now, in kind and name order. */
  differences(base: number, reference?: number): ModelDifference[] {
    const atBase = this.statesAt(base);
    const atReference = reference === undefined ? undefined : this.statesAt(reference);
    const found: ModelDifference[] = [];
    for (const [key, before] of atBase) {
      const now = this.rows.get(key);
      if (before?.text === now?.text) continue;
      const { kind, name } = (before ?? now)!;
      const then = atReference && (atReference.has(key) ? atReference.get(key) : now);
      found.push({ change: objectChange(kind, name, before?.attrs, now?.attrs), ...(atReference && { atReference: then !== undefined }) });
    }
    return found.sort((a, b) => byName(a.change, b.change));
  }

  /** Drops the journal no step at or after `oldest` needs. */
  forgetBefore(oldest: number): void {
    this.journal = this.journal.filter((e) => e.step > oldest);
  }
}
