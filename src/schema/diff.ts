/**
 * Differences between two schema fingerprints, object by object, and their
 * wording: `index objects_repo_idx exists after down, not before`,
 * `enum object_type has labels [a, b, c] after down, [a, b] before`.
 */
import { byName, canonicalJson, type SchemaObject } from './fingerprint.js';

export type Attributes = Record<string, unknown>;

export interface FieldChange {
  field: string;
  before?: unknown;
  after?: unknown;
}

export interface SchemaChange {
  kind: string;
  name: string;
  change: 'added' | 'removed' | 'changed';
  /** The attributes that differ (for a changed object). */
  fields: FieldChange[];
  before?: Attributes;
  after?: Attributes;
}

/** One object's difference, from its attributes on each side (undefined: absent there). */
export function objectChange(kind: string, name: string, before: Attributes | undefined, after: Attributes | undefined): SchemaChange {
  if (!before) return { kind, name, change: 'added', fields: [], after };
  if (!after) return { kind, name, change: 'removed', fields: [], before };
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const fields = keys.filter((k) => canonicalJson(before[k]) !== canonicalJson(after[k])).map((field) => ({ field, before: before[field], after: after[field] }));
  return { kind, name, change: 'changed', fields, before, after };
}

const key = (o: Pick<SchemaObject, 'kind' | 'name'>) => `${o.kind}\u0000${o.name}`;

/** Every object that is not the same on both sides, in kind and name order. */
export function compareSchemas(before: SchemaObject[], after: SchemaObject[]): SchemaChange[] {
  const left = new Map(before.map((o) => [key(o), o]));
  const right = new Map(after.map((o) => [key(o), o]));
  const all = [...new Map([...before, ...after].map((o) => [key(o), o])).values()].sort(byName);
  return all
    .map((o) => objectChange(o.kind, o.name, left.get(key(o))?.attributes, right.get(key(o))?.attributes))
    .filter((c) => c.change !== 'changed' || c.fields.length > 0);
}

/** `public.t` reads `t`: most schemas live in public. */
export function displayName(name: string): string {
  return name.startsWith('public.') ? name.slice('public.'.length) : name;
}

const MAX_VALUE = 160;

/** A value in a sentence: one line, long texts shortened. */
export function valueText(value: unknown): string {
  if (value === undefined || value === null) return 'none';
  if (Array.isArray(value)) return `[${value.map((v) => (typeof v === 'string' ? v : canonicalJson(v))).join(', ')}]`;
  const text = typeof value === 'string' ? value : canonicalJson(value);
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_VALUE ? `${line.slice(0, MAX_VALUE - 1)}…` : line;
}

/** How the two sides are named in a sentence: `after down` / `before`, `in B` / `in A`. */
export interface SideLabels {
  before: string;
  after: string;
}

function fieldSentence(c: SchemaChange, f: FieldChange, labels: SideLabels): string {
  const subject = `${c.kind} ${displayName(c.name)}`;
  if (f.field === 'labels') return `${subject} has labels ${valueText(f.after)} ${labels.after}, ${valueText(f.before)} ${labels.before}`;
  return `${subject} ${f.field} changed: ${valueText(f.after)} ${labels.after}, ${valueText(f.before)} ${labels.before}`;
}

/**
 * The change in words, one sentence per differing attribute; `why` adds a
 * parenthesis to an added or removed object (which migration left it).
 */
export function describeChange(c: SchemaChange, labels: SideLabels, why?: string): string[] {
  const subject = `${c.kind} ${displayName(c.name)}`;
  const reason = why ? ` (${why})` : '';
  if (c.change === 'added') return [`${subject} exists ${labels.after}, not ${labels.before}${reason}`];
  if (c.change === 'removed') return [`${subject} is missing ${labels.after}, present ${labels.before}${reason}`];
  return c.fields.map((f) => fieldSentence(c, f, labels));
}
