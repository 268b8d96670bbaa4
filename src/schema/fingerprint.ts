/**
 * A schema fingerprint: every object of a database's schema, read from the
 * catalog (never from pg_dump's text), as sorted (kind, name, attributes)
 * entries and a SHA-256 over them. The same schema gives the same bytes
 * across a dump and restore, across runs and across PostgreSQL 15 to 18.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { fingerprintQuery, type CatalogQueryOptions } from './catalog-sql.js';

export type { CatalogQueryOptions } from './catalog-sql.js';

export interface SchemaObject {
  kind: string;
  /** Schema-qualified: `public.t`, `public.t.c` for a column, `public.f(integer)` for a function. */
  name: string;
  attributes: Record<string, unknown>;
}

export interface SchemaFingerprint {
  objects: SchemaObject[];
  /** SHA-256 of the lines, hex. */
  sha256: string;
}

/**
 * Catalog functions print names unqualified when they are on search_path:
 * with only pg_catalog on it, every user object is schema-qualified, whatever
 * the connection's own search_path.
 */
export async function pinSearchPath(client: pg.ClientBase): Promise<void> {
  await client.query(`SELECT set_config('search_path', 'pg_catalog', false)`);
}

/** Byte order, not a locale's: the same on every machine. */
export const byName = (a: Pick<SchemaObject, 'kind' | 'name'>, b: Pick<SchemaObject, 'kind' | 'name'>): number =>
  a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** Keys sorted at every level: the text of equal attributes is equal. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export function objectLine(o: SchemaObject): string {
  return `${o.kind} ${o.name} ${canonicalJson(o.attributes)}`;
}

export function fingerprintOf(objects: SchemaObject[]): SchemaFingerprint {
  const sorted = [...objects].sort(byName);
  const hash = createHash('sha256');
  for (const o of sorted) hash.update(`${objectLine(o)}\n`);
  return { objects: sorted, sha256: hash.digest('hex') };
}

const VIEW_KINDS = new Set(['view', 'materialized view']);
const SINGLE_FROM = /\n\s*FROM ([\w$]+|"[^"]+")\.([\w$]+|"[^"]+")(?: ([\w$]+|"[^"]+"))?(?=\n|;|$)/;

/**
 * PostgreSQL 16 stopped qualifying column names in a view over a single
 * relation (`objects.id` became `id`): the older form is brought to the newer
 * one, so that the same view reads the same on 15 and 18.
 */
export function normaliseViewDefinition(definition: string): string {
  if (/\bJOIN\b|\(\s*SELECT\b/i.test(definition) || definition.split(/\n\s*FROM /).length !== 2) return definition;
  const match = definition.match(SINGLE_FROM);
  if (!match) return definition;
  const alias = match[3] ?? match[2];
  const escaped = alias.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return definition.replace(new RegExp(`(?<![.\\w$"])${escaped}\\.(?=[\\w$"])`, 'g'), '');
}

function normalised(o: SchemaObject): SchemaObject {
  const definition = o.attributes.definition;
  if (!VIEW_KINDS.has(o.kind) || typeof definition !== 'string') return o;
  return { ...o, attributes: { ...o.attributes, definition: normaliseViewDefinition(definition) } };
}

/** Reads the fingerprint of the database the client is connected to (its search_path is pinned first). */
export async function readFingerprint(client: pg.ClientBase, options: CatalogQueryOptions = {}): Promise<SchemaFingerprint> {
  await pinSearchPath(client);
  const { rows } = await client.query<{ kind: string; name: string; attrs: Record<string, unknown> }>(fingerprintQuery(options));
  return fingerprintOf(rows.map((r) => normalised({ kind: r.kind, name: r.name, attributes: r.attrs })));
}
